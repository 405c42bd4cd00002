import { fillIn } from '../core/text.ts';
import { classifyDependencyFailure } from '../core/unavailable.ts';

/** Why a stage attempt failed, in the terms the retry policy needs. */
export const FAILURE_CLASSES = ['INPUT_INVALID', 'TIMEOUT', 'RESOURCE', 'WORKER_LOST', 'UNDEFINED'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** Figures a user sentence may quote (limits and what was found); never paths or tool output. */
export type FailureFacts = Record<string, string | number>;

interface FailureCodeEntry {
  class: FailureClass;
  /** What happened, for the README's reference and for admins. */
  cause: string;
  /** What the uploader can do about it. */
  remedy: string;
  /** The sentence users read in emails and the public API; `{name}` stands for the fact of that name. */
  user: string;
}

/**
 * Every terminal failure carries one of these codes. The code decides the class (and so the retry policy) and the
 * sentence users read; the technical detail of an attempt (ffmpeg lines, paths) stays on its checkpoint for admins.
 */
export const FAILURE_CODES = {
  empty_file: {
    class: 'INPUT_INVALID',
    cause: 'the upload has no bytes',
    remedy: 'upload the file again',
    user: 'The file is empty (0 bytes).',
  },
  not_a_video: {
    class: 'INPUT_INVALID',
    cause: 'ffprobe recognises no media container in the file',
    remedy: 'upload a video file (for example MP4, MOV, MKV or WebM)',
    user: 'The file is not a video we can read.',
  },
  no_video_stream: {
    class: 'INPUT_INVALID',
    cause: 'the container holds no video stream (audio only, subtitles, an image sequence without timing)',
    remedy: 'upload a file with a picture track',
    user: 'The file has no video picture in it.',
  },
  unsupported_codec: {
    class: 'INPUT_INVALID',
    cause: 'the video stream uses a codec this ffmpeg cannot decode',
    remedy: 'export the video as H.264 or another common codec and upload it again',
    user: 'The video uses a format we cannot decode.',
  },
  corrupt_stream: {
    class: 'INPUT_INVALID',
    cause: 'the file is truncated or its stream is damaged, so decoding stops',
    remedy: 'upload the original file again; a partial copy often causes this',
    user: 'The video file is damaged or incomplete.',
  },
  too_small: {
    class: 'INPUT_INVALID',
    cause: 'the picture is narrower or lower than `processing.limits.minWidth`/`minHeight`',
    remedy: 'upload a larger video',
    user: 'The picture is {width}×{height} pixels; the smallest we can process is {minWidth}×{minHeight}.',
  },
  too_many_pixels: {
    class: 'INPUT_INVALID',
    cause: 'width × height is above `processing.limits.maxPixels` (read by ffprobe from the headers, before any decoding)',
    remedy: 'scale the video down before uploading',
    user: 'The picture is {width}×{height} pixels; the largest we accept is {maxPixels} pixels in total.',
  },
  too_many_frames: {
    class: 'INPUT_INVALID',
    cause: 'the stream declares more frames than `processing.limits.maxFrames`',
    remedy: 'upload a shorter video or one with a lower frame rate',
    user: 'The video has {frames} frames; the most we accept is {maxFrames}.',
  },
  too_long: {
    class: 'INPUT_INVALID',
    cause: 'the duration is above `processing.limits.maxDuration`',
    remedy: 'cut the video into shorter parts',
    user: 'The video lasts {duration}; the longest we accept is {maxDuration}.',
  },
  timed_out: {
    class: 'TIMEOUT',
    cause: 'a stage ran over its timeout (`processing.stages.*.timeout`) on every attempt',
    remedy: 'try a shorter or smaller video; the operator can raise the timeout and retry it',
    user: 'Processing took longer than allowed, every time we tried.',
  },
  storage_unavailable: {
    class: 'RESOURCE',
    cause: 'the storage directory could not be read or written (full, read-only, permissions)',
    remedy: 'nothing: the operator fixes storage and retries the video',
    user: 'We had a storage problem on our side, every time we tried; the file you sent is not the cause.',
  },
  worker_lost: {
    class: 'WORKER_LOST',
    cause: 'the processes running the stage kept stopping or crashing (more than `processing.maxInterruptions` times)',
    remedy: 'nothing: the operator retries the video once the workers are stable',
    user: 'The machines processing it kept stopping, every time we tried.',
  },
  output_invalid: {
    class: 'UNDEFINED',
    cause: 'verify found a rendition without its streams or with the wrong duration',
    remedy: 'nothing: the operator looks at the checkpoints and retries the video',
    user: 'Processing produced a damaged result, every time we tried.',
  },
  internal: {
    class: 'UNDEFINED',
    cause: 'an error nothing above describes (see the checkpoint detail)',
    remedy: 'nothing: the operator looks at the checkpoints and retries the video',
    user: 'An unexpected error stopped processing, every time we tried.',
  },
} as const satisfies Record<string, FailureCodeEntry>;

export type FailureCode = keyof typeof FAILURE_CODES;
export const FAILURE_CODE_NAMES = Object.keys(FAILURE_CODES) as FailureCode[];

export const classOf = (code: FailureCode): FailureClass => FAILURE_CODES[code].class;

/** INPUT_INVALID never gets better by trying again; every other class is retried up to the stage's limit. */
export function isRetryable(failureClass: FailureClass): boolean {
  return failureClass !== 'INPUT_INVALID';
}

/** A stage failure: a stable code (which fixes the class and the user sentence) and a detail for admins only. */
export class ProcessingError extends Error {
  readonly code: FailureCode;
  readonly facts: FailureFacts;

  constructor(code: FailureCode, detail: string, options: { cause?: unknown; facts?: FailureFacts } = {}) {
    super(detail, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'ProcessingError';
    this.code = code;
    this.facts = options.facts ?? {};
  }

  get failureClass(): FailureClass {
    return classOf(this.code);
  }

  /** The sentence for emails and the public API. */
  get userMessage(): string {
    return fillIn(FAILURE_CODES[this.code].user, this.facts);
  }
}

const RESOURCE_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EMFILE', 'ENFILE', 'EEXIST']);

/** The cause of a failure that is the environment's and passes by itself (a full disk, an unreachable store): the
 * stage waits and tries again without spending the video's retries. Undefined for every other failure. */
export const unavailableOf = (failure: ProcessingError): string | undefined => failure.facts.unavailable as string | undefined;

/** Classifies anything a stage threw: ProcessingErrors keep their code, a dependency that is full or unreachable and
 * filesystem errors are storage_unavailable (the first kind waits), the rest internal. */
export function classify(error: unknown): ProcessingError {
  if (error instanceof ProcessingError) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const dependency = classifyDependencyFailure(error);
  if (dependency) {
    const where = dependency.reason === 'full' ? 'the storage directory' : 'the database';
    return new ProcessingError('storage_unavailable', `${dependency.cause} on ${where}: ${message}`, { cause: error, facts: { unavailable: dependency.cause } });
  }
  if (errno && RESOURCE_ERRNO.has(errno)) return new ProcessingError('storage_unavailable', `storage: ${message}`, { cause: error });
  return new ProcessingError('internal', message, { cause: error });
}

const EXIT_PATTERNS: ReadonlyArray<readonly [FailureCode, RegExp]> = [
  ['storage_unavailable', /No space left on device|Permission denied|Read-only file system|Not a directory|Is a directory|Disk quota exceeded|No such file or directory/i],
  ['unsupported_codec', /Unknown decoder|Decoder \(codec .*\) not found|Decoding requested, but no decoder found|unsupported codec/i],
  ['no_video_stream', /matches no streams|no video stream|does not contain any stream/i],
  ['too_many_pixels', /Picture size \d+x\d+ is invalid|max_pixels|exceeds max/i],
  ['not_a_video', /Invalid data found when processing input|moov atom not found|could not find codec parameters|Unknown format/i],
  ['corrupt_stream', /End of file|partial file|corrupt input packet|corrupt decoded frame|Invalid NAL unit size|error while decoding/i],
];

/** Reads ffmpeg's exit status and stderr: the first matching pattern gives the code, otherwise internal. */
export function classifyExit(tool: string, exitCode: number | null, stderr: string): ProcessingError {
  const lastLines = stderr.trim().split('\n').slice(-3).join(' | ') || 'no output';
  const full = /No space left on device|Disk quota exceeded/i.exec(stderr);
  if (full) {
    const cause = /quota/i.test(full[0]) ? 'EDQUOT' : 'ENOSPC';
    return new ProcessingError('storage_unavailable', `${cause} on the storage directory: ${tool} exited with ${exitCode ?? 'a signal'}: ${lastLines}`, { facts: { unavailable: cause } });
  }
  const code = EXIT_PATTERNS.find(([, pattern]) => pattern.test(stderr))?.[0] ?? 'internal';
  return new ProcessingError(code, `${tool} exited with ${exitCode ?? 'a signal'}: ${lastLines}`);
}

/** The README's failure-code reference, generated from the table above (a test keeps the README in step). */
export function failureCodeReference(): string {
  const rows = FAILURE_CODE_NAMES.map((code) => {
    const entry: FailureCodeEntry = FAILURE_CODES[code];
    return `| \`${code}\` | ${entry.class} | ${entry.cause} | ${entry.remedy} |`;
  });
  return ['| code | class | cause | what the uploader can do |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
