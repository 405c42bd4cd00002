import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { withSpan } from '../core/telemetry/index.ts';
import { ProcessingError, type FailureClass } from './failures.ts';

export interface FfmpegInfo {
  ffmpegPath: string;
  ffprobePath: string;
  source: 'FFMPEG_PATH' | 'ffmpeg-static' | 'installer';
  version: string;
}

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface ProbeStream {
  type: 'video' | 'audio';
  codec: string;
  width?: number;
  height?: number;
}

export interface ProbeInfo {
  durationSeconds: number;
  formatName: string;
  streams: ProbeStream[];
}

const KILL_GRACE_MS = 2000;
const STDERR_KEEP = 64 * 1024;
const resolved = new Map<string, Promise<FfmpegInfo>>();

/** Finds ffmpeg and ffprobe: FFMPEG_PATH/FFPROBE_PATH, then ffmpeg-static when its download worked, then the installer packages. */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env): Promise<FfmpegInfo> {
  const key = `${env.FFMPEG_PATH ?? ''}\0${env.FFPROBE_PATH ?? ''}`;
  let info = resolved.get(key);
  if (!info) {
    info = locate(env);
    info.catch(() => resolved.delete(key));
    resolved.set(key, info);
  }
  return info;
}

async function locate(env: NodeJS.ProcessEnv): Promise<FfmpegInfo> {
  const ffprobePath = env.FFPROBE_PATH ?? (await installerPath('@ffprobe-installer/ffprobe'));
  let ffmpegPath: string;
  let source: FfmpegInfo['source'];
  if (env.FFMPEG_PATH) {
    [ffmpegPath, source] = [env.FFMPEG_PATH, 'FFMPEG_PATH'];
  } else {
    const staticPath = await ffmpegStaticPath();
    [ffmpegPath, source] = staticPath ? [staticPath, 'ffmpeg-static'] : [await installerPath('@ffmpeg-installer/ffmpeg'), 'installer'];
  }
  await assertExecutable(ffmpegPath, source === 'FFMPEG_PATH' ? 'FFMPEG_PATH' : source);
  await assertExecutable(ffprobePath, env.FFPROBE_PATH ? 'FFPROBE_PATH' : '@ffprobe-installer/ffprobe');
  const { stdout } = await run(ffmpegPath, ['-version'], { timeoutMs: 10_000 });
  const version = /ffmpeg version (\S+)/.exec(stdout)?.[1] ?? 'unknown';
  return { ffmpegPath, ffprobePath, source, version };
}

async function ffmpegStaticPath(): Promise<string | null> {
  try {
    const specifier = 'ffmpeg-static';
    const path = ((await import(specifier)) as { default: string | null }).default;
    if (!path) return null;
    await access(path, constants.X_OK);
    return path;
  } catch {
    return null;
  }
}

async function installerPath(specifier: '@ffmpeg-installer/ffmpeg' | '@ffprobe-installer/ffprobe'): Promise<string> {
  try {
    return ((await import(specifier)) as { default: { path: string } }).default.path;
  } catch (error) {
    throw new Error(`${specifier} has no binary for this platform (${(error as Error).message}); set FFMPEG_PATH and FFPROBE_PATH`, { cause: error });
  }
}

async function assertExecutable(path: string, from: string): Promise<void> {
  try {
    await access(path, constants.X_OK);
  } catch {
    throw new Error(`${from} points at ${path}, which is not an executable file`);
  }
}

/** Runs ffmpeg with `args` (no shell) inside an `ffmpeg` span; kills it on timeout or abort and throws a classified ProcessingError on failure. */
export async function runFfmpeg(args: string[], options: RunOptions): Promise<{ stderr: string; durationMs: number }> {
  const { ffmpegPath } = await resolveFfmpeg();
  const fullArgs = ['-hide_banner', '-nostdin', '-y', ...args];
  return withSpan('ffmpeg', { 'process.command_args': fullArgs.join(' '), 'ffmpeg.timeout_ms': options.timeoutMs }, async (span) => {
    const outcome = await run(ffmpegPath, fullArgs, options);
    span.setAttribute('process.exit_code', outcome.exitCode ?? -1);
    if (outcome.failure) throw outcome.failure;
    return { stderr: outcome.stderr, durationMs: outcome.durationMs };
  });
}

/** Reads a media file's container and streams; a file ffprobe cannot read is INPUT_INVALID. */
export async function ffprobe(file: string, options: RunOptions = { timeoutMs: 30_000 }): Promise<ProbeInfo> {
  const { ffprobePath } = await resolveFfmpeg();
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file];
  return withSpan('ffprobe', { 'process.command_args': args.join(' ') }, async (span) => {
    const outcome = await run(ffprobePath, args, options);
    span.setAttribute('process.exit_code', outcome.exitCode ?? -1);
    // ffprobe only reads: when it fails for a reason other than storage or time, the file itself is unreadable.
    if (outcome.failure?.failureClass === 'UNDEFINED' && outcome.exitCode !== null) {
      throw new ProcessingError('INPUT_INVALID', outcome.failure.message);
    }
    if (outcome.failure) throw outcome.failure;
    return parseProbe(outcome.stdout, file);
  });
}

function parseProbe(stdout: string, file: string): ProbeInfo {
  const parsed = JSON.parse(stdout) as {
    format?: { duration?: string; format_name?: string };
    streams?: Array<{ codec_type?: string; codec_name?: string; width?: number; height?: number; duration?: string }>;
  };
  const streams: ProbeStream[] = (parsed.streams ?? [])
    .filter((stream) => stream.codec_type === 'video' || stream.codec_type === 'audio')
    .map((stream) => ({
      type: stream.codec_type as ProbeStream['type'],
      codec: stream.codec_name ?? 'unknown',
      ...(stream.codec_type === 'video' ? { width: stream.width ?? 0, height: stream.height ?? 0 } : {}),
    }));
  const durationSeconds = Number(parsed.format?.duration ?? NaN);
  if (!parsed.format?.format_name) throw new ProcessingError('INPUT_INVALID', `${file} has no recognisable container`);
  return { durationSeconds: Number.isFinite(durationSeconds) ? durationSeconds : 0, formatName: parsed.format.format_name, streams };
}

/** Writes an H.264/AAC MP4 of lavfi testsrc (+ a sine tone) for tests and the end-to-end probe. */
export async function generateTestClip(file: string, clip: { seconds: number; width: number; height: number; audio?: boolean }): Promise<void> {
  const size = `${clip.width}x${clip.height}`;
  const audio = clip.audio ?? true;
  await runFfmpeg(
    [
      '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25:duration=${clip.seconds}`,
      ...(audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${clip.seconds}`] : []),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
      ...(audio ? ['-c:a', 'aac', '-b:a', '96k'] : []),
      '-movflags', '+faststart', '-t', String(clip.seconds), file,
    ],
    { timeoutMs: Math.max(30_000, clip.seconds * 5000) },
  );
}

interface RunOutcome {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  durationMs: number;
  failure?: ProcessingError;
}

function run(binary: string, args: string[], options: RunOptions): Promise<RunOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    if (options.signal?.aborted) {
      resolve({ stdout: '', stderr: '', exitCode: null, durationMs: 0, failure: aborted(binary) });
      return;
    }
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stoppedFor: 'timeout' | 'abort' | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP);
    });
    const stop = (reason: 'timeout' | 'abort') => {
      if (stoppedFor || child.exitCode !== null) return;
      stoppedFor = reason;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const budget = setTimeout(() => stop('timeout'), options.timeoutMs);
    const onAbort = () => stop('abort');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (exitCode: number | null, spawnError?: Error) => {
      clearTimeout(budget);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      const durationMs = performance.now() - started;
      const failure = spawnError
        ? new ProcessingError('UNDEFINED', `could not start ${binary}: ${spawnError.message}`, { cause: spawnError })
        : stoppedFor === 'timeout'
          ? new ProcessingError('TIMEOUT', `${name(binary)} exceeded its ${options.timeoutMs} ms budget and was killed`)
          : stoppedFor === 'abort'
            ? aborted(binary)
            : exitCode !== 0
              ? classifyExit(binary, exitCode, stderr)
              : undefined;
      resolve({ stdout, stderr, exitCode, durationMs, ...(failure ? { failure } : {}) });
    };
    child.once('error', (error) => finish(null, error));
    child.once('close', (code) => finish(code));
  });
}

function aborted(binary: string): ProcessingError {
  return new ProcessingError('WORKER_LOST', `${name(binary)} was stopped: the worker gave up the job`);
}

const INPUT_PATTERNS = [
  /Invalid data found when processing input/i,
  /moov atom not found/i,
  /could not find codec parameters/i,
  /does not contain any stream/i,
  /matches no streams/i,
  /Invalid NAL unit size/i,
  /Unknown (?:format|decoder)/i,
  /Decoder \(codec .*\) not found/i,
  /End of file/i,
  /partial file/i,
  /corrupt input packet|corrupt decoded frame/i,
  /no (?:video|audio) stream/i,
];
const RESOURCE_PATTERNS = [/No space left on device/i, /Permission denied/i, /Read-only file system/i, /Not a directory/i, /Is a directory/i, /Disk quota exceeded/i, /No such file or directory/i];

/** Reads ffmpeg's exit status and the last lines of stderr: bad input is permanent, storage trouble is RESOURCE, the rest UNDEFINED. */
export function classifyExit(binary: string, exitCode: number | null, stderr: string): ProcessingError {
  const lastLines = stderr.trim().split('\n').slice(-3).join(' | ') || 'no output';
  const failureClass: FailureClass = RESOURCE_PATTERNS.some((pattern) => pattern.test(stderr))
    ? 'RESOURCE'
    : INPUT_PATTERNS.some((pattern) => pattern.test(stderr))
      ? 'INPUT_INVALID'
      : 'UNDEFINED';
  return new ProcessingError(failureClass, `${name(binary)} exited with ${exitCode ?? 'a signal'}: ${lastLines}`);
}

function name(binary: string): string {
  return binary.split('/').pop() ?? binary;
}
