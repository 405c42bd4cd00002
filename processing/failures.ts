/** Why a stage attempt failed, in the terms the retry policy needs. */
export const FAILURE_CLASSES = ['INPUT_INVALID', 'TIMEOUT', 'RESOURCE', 'WORKER_LOST', 'UNDEFINED'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** INPUT_INVALID never gets better by trying again; every other class is retried up to the stage's limit. */
export function isRetryable(failureClass: FailureClass): boolean {
  return failureClass !== 'INPUT_INVALID';
}

export class ProcessingError extends Error {
  readonly failureClass: FailureClass;

  constructor(failureClass: FailureClass, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProcessingError';
    this.failureClass = failureClass;
  }
}

const RESOURCE_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EMFILE', 'ENFILE', 'EEXIST']);

/** Classifies anything a stage threw: ProcessingErrors keep their class, filesystem errors are RESOURCE, the rest UNDEFINED. */
export function classify(error: unknown): ProcessingError {
  if (error instanceof ProcessingError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code && RESOURCE_ERRNO.has(code)) return new ProcessingError('RESOURCE', `storage: ${message}`, { cause: error });
  return new ProcessingError('UNDEFINED', message, { cause: error });
}
