import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { withSpan } from '../core/telemetry/index.ts';
import type { RawProbe } from './diagnostics.ts';
import { classifyExit, ProcessingError } from './failures.ts';

export interface FfmpegInfo {
  ffmpegPath: string;
  ffprobePath: string;
  source: 'FFMPEG_PATH' | 'system' | 'ffmpeg-static' | 'installer';
  version: string;
  /** The year in the build's copyright line. */
  builtYear: number | null;
  /** Said at start when the binary is the old bundled build. */
  warning: string | null;
}

/** One block of ffmpeg's `-progress` output: media seconds written so far and the speed (media seconds per wall second). */
export interface FfmpegProgress {
  mediaSeconds: number;
  speed: number | null;
  /** The last block (`progress=end`): everything is written. */
  finished?: boolean;
}

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called with each block of ffmpeg's -progress output. */
  onProgress?(progress: FfmpegProgress): void;
}

export interface ProbeStream {
  type: 'video' | 'audio';
  codec: string;
  width?: number;
  height?: number;
  /** Declared frame count, or duration × frame rate when the container does not say. */
  frames?: number;
}

export interface ProbeInfo {
  durationSeconds: number;
  formatName: string;
  streams: ProbeStream[];
}

/** What ffprobe said about a file: the parsed summary, its own JSON (which the input diagnostics read) and, when read,
 * the keyframe times of its first minute. */
export type ProbedFile = ProbeInfo & { raw: RawProbe; keyframeTimes?: number[] };

const KILL_GRACE_MS = 2000;
const STDERR_KEEP = 64 * 1024;
const resolved = new Map<string, Promise<FfmpegInfo>>();

/**
 * Finds ffmpeg and ffprobe, most maintained first: FFMPEG_PATH/FFPROBE_PATH, then a system ffmpeg on PATH (Debian's
 * package), then ffmpeg-static when its install-time download worked, and only then the bundled installer build.
 */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env): Promise<FfmpegInfo> {
  const key = `${env.FFMPEG_PATH ?? ''}\0${env.FFPROBE_PATH ?? ''}\0${env.PATH ?? ''}`;
  let info = resolved.get(key);
  if (!info) {
    info = locate(env);
    info.catch(() => resolved.delete(key));
    resolved.set(key, info);
  }
  return info;
}

async function locate(env: NodeJS.ProcessEnv): Promise<FfmpegInfo> {
  const system = { ffmpeg: await onPath('ffmpeg', env), ffprobe: await onPath('ffprobe', env) };
  let ffmpegPath: string;
  let source: FfmpegInfo['source'];
  if (env.FFMPEG_PATH) [ffmpegPath, source] = [env.FFMPEG_PATH, 'FFMPEG_PATH'];
  else if (system.ffmpeg) [ffmpegPath, source] = [system.ffmpeg, 'system'];
  else {
    const staticPath = await ffmpegStaticPath();
    [ffmpegPath, source] = staticPath ? [staticPath, 'ffmpeg-static'] : [await installerPath('@ffmpeg-installer/ffmpeg'), 'installer'];
  }
  const ffprobePath = env.FFPROBE_PATH ?? system.ffprobe ?? (await installerPath('@ffprobe-installer/ffprobe'));
  await assertExecutable(ffmpegPath, source === 'FFMPEG_PATH' ? 'FFMPEG_PATH' : source);
  await assertExecutable(ffprobePath, env.FFPROBE_PATH ? 'FFPROBE_PATH' : system.ffprobe ? 'system ffprobe' : '@ffprobe-installer/ffprobe');
  const { stdout } = await run(ffmpegPath, ['-version'], { timeoutMs: 10_000 });
  const version = /ffmpeg version (\S+)/.exec(stdout)?.[1] ?? 'unknown';
  const builtYear = Number(/Copyright \(c\) \d{4}-(\d{4})/.exec(stdout)?.[1]) || null;
  const age = builtYear ? ` (built ${builtYear}, ${new Date().getFullYear() - builtYear} years ago)` : '';
  const warning =
    source === 'installer'
      ? `ffmpeg is the bundled @ffmpeg-installer build ${version}${age}, which decodes untrusted uploads without current fixes: install a maintained ffmpeg (Debian: apt-get install ffmpeg) or set FFMPEG_PATH`
      : null;
  return { ffmpegPath, ffprobePath, source, version, builtYear, warning };
}

async function onPath(binary: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(':').filter(Boolean)) {
    const candidate = `${dir}/${binary}`;
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return null;
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
export async function runFfmpeg(args: string[], options: RunOptions): Promise<{ stderr: string; durationMs: number; cpuSeconds: number | null }> {
  const { ffmpegPath } = await resolveFfmpeg();
  // -benchmark makes ffmpeg print its own user and system CPU time at exit: the cost figure of `vigil processing report`.
  const fullArgs = ['-hide_banner', '-nostdin', '-y', '-benchmark', ...(options.onProgress ? ['-progress', 'pipe:1', '-nostats'] : []), ...args];
  return withSpan('ffmpeg', { 'process.command_args': fullArgs.join(' '), 'ffmpeg.timeout_ms': options.timeoutMs }, async (span) => {
    const outcome = await run(ffmpegPath, fullArgs, options);
    span.setAttribute('process.exit_code', outcome.exitCode ?? -1);
    if (outcome.failure) {
      span.setAttribute('processing.error_detail', outcome.failure.message);
      throw outcome.failure;
    }
    const cpuSeconds = cpuSecondsOf(outcome.stderr);
    if (cpuSeconds !== null) span.setAttribute('process.cpu.time', cpuSeconds);
    return { stderr: outcome.stderr, durationMs: outcome.durationMs, cpuSeconds };
  });
}

/** User plus system CPU seconds from ffmpeg's `-benchmark` line (`bench: utime=0.585s stime=0.051s rtime=0.281s`). */
export function cpuSecondsOf(stderr: string): number | null {
  const match = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(stderr);
  return match ? Number(match[1]) + Number(match[2]) : null;
}

/** Seconds of the file whose video packets are read for keyframe times: enough for an interval, bounded for long files. */
const KEYFRAME_SCAN_SECONDS = 60;

/**
 * Reads a media file's container and streams (headers only); a file ffprobe cannot read is not_a_video. With
 * `keyframes`, the same run also reads the packets of the file's first minute for the first video stream's keyframe
 * times, in order (no decoding).
 */
export async function ffprobe(file: string, options: RunOptions & { keyframes?: boolean } = { timeoutMs: 30_000 }): Promise<ProbedFile> {
  const { ffprobePath } = await resolveFfmpeg();
  const packets = options.keyframes ? ['-read_intervals', `%+${KEYFRAME_SCAN_SECONDS}`, '-show_entries', 'packet=stream_index,pts_time,flags'] : [];
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...packets, file];
  return withSpan('ffprobe', { 'process.command_args': args.join(' ') }, async (span) => {
    const outcome = await run(ffprobePath, args, options);
    span.setAttribute('process.exit_code', outcome.exitCode ?? -1);
    // ffprobe only reads: when it fails for a reason other than storage or time, the file itself is unreadable.
    if (outcome.failure?.code === 'internal' && outcome.exitCode !== null) throw new ProcessingError('not_a_video', outcome.failure.message);
    if (outcome.failure) throw outcome.failure;
    return parseProbe(outcome.stdout);
  });
}

function parseProbe(stdout: string): ProbedFile {
  const parsed = JSON.parse(stdout) as RawProbe;
  const durationSeconds = Number(parsed.format?.duration ?? NaN);
  const streams: ProbeStream[] = (parsed.streams ?? [])
    .filter((stream) => stream.codec_type === 'video' || stream.codec_type === 'audio')
    .map((stream) => ({
      type: stream.codec_type as ProbeStream['type'],
      codec: stream.codec_name ?? 'unknown',
      ...(stream.codec_type === 'video' ? { width: stream.width ?? 0, height: stream.height ?? 0, frames: frameCount(stream, durationSeconds) } : {}),
    }));
  if (!parsed.format?.format_name) throw new ProcessingError('not_a_video', 'ffprobe found no recognisable container');
  const { packets, ...raw } = parsed;
  const picture = raw.streams?.find((stream) => stream.codec_type === 'video')?.index;
  const keyframeTimes = packets
    ?.filter((packet) => packet.stream_index === picture && packet.flags?.includes('K'))
    .map((packet) => Number(packet.pts_time))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return { durationSeconds: Number.isFinite(durationSeconds) ? durationSeconds : 0, formatName: parsed.format.format_name, streams, raw, ...(keyframeTimes ? { keyframeTimes } : {}) };
}

function frameCount(stream: { nb_frames?: string; avg_frame_rate?: string; duration?: string }, formatDuration: number): number {
  const declared = Number(stream.nb_frames);
  if (Number.isFinite(declared) && declared > 0) return declared;
  const [numerator, denominator] = (stream.avg_frame_rate ?? '0/1').split('/').map(Number);
  const rate = denominator ? numerator! / denominator : 0;
  const seconds = Number(stream.duration ?? formatDuration);
  return Number.isFinite(rate * seconds) ? Math.round(rate * seconds) : 0;
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
      resolve({ stdout: '', stderr: '', exitCode: null, durationMs: 0, failure: aborted(binary, options.signal) });
      return;
    }
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stoppedFor: 'timeout' | 'abort' | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const progress = options.onProgress;
    const block: FfmpegProgress = { mediaSeconds: 0, speed: null };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (!progress) {
        stdout += chunk;
        return;
      }
      // -progress writes blocks of key=value lines, each ended by a `progress=` line.
      const lines = (stdout + chunk).split('\n');
      stdout = lines.pop() ?? '';
      for (const line of lines) {
        const [key, value = ''] = line.split('=', 2);
        if (key === 'out_time_us') block.mediaSeconds = Number(value) / 1e6 || 0;
        else if (key === 'speed') block.speed = Number.parseFloat(value) || null;
        else if (key === 'progress') progress({ ...block, finished: value === 'end' });
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP);
    });
    const stop = (reason: 'timeout' | 'abort') => {
      if (stoppedFor || child.exitCode !== null) return;
      stoppedFor = reason;
      child.kill(reason === 'abort' ? 'SIGKILL' : 'SIGTERM');
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
        ? new ProcessingError('internal', `could not start ${binary}: ${spawnError.message}`, { cause: spawnError })
        : stoppedFor === 'timeout'
          ? new ProcessingError('timed_out', `${name(binary)} exceeded its ${options.timeoutMs} ms budget and was killed`)
          : stoppedFor === 'abort'
            ? aborted(binary, options.signal)
            : exitCode !== 0
              ? classifyExit(name(binary), exitCode, stderr)
              : undefined;
      resolve({ stdout, stderr, exitCode, durationMs, ...(failure ? { failure } : {}) });
    };
    child.once('error', (error) => finish(null, error));
    child.once('close', (code) => finish(code));
  });
}

/** The worker gave the job up (stop, lost claim, deletion): the abort reason, when it is a ProcessingError, says which. */
function aborted(binary: string, signal: AbortSignal | undefined): ProcessingError {
  const reason: unknown = signal?.reason;
  if (reason instanceof ProcessingError) return reason;
  return new ProcessingError('worker_lost', `${name(binary)} was stopped: the worker gave up the job`);
}

function name(binary: string): string {
  return binary.split('/').pop() ?? binary;
}
