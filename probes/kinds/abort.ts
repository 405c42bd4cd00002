/** Settles with `work`, or rejects with the abort reason as soon as `signal` aborts (after `onAbort` released the resource).
 * `disposeLate` releases what `work` still produces after the abort (a connection that opens once nobody waits for it). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => void, disposeLate?: (value: T) => void): Promise<T> {
  const late = (value: T) => disposeLate?.(value);
  if (signal.aborted) {
    onAbort();
    work.then(late, () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    work
      .then((value) => (signal.aborted ? late(value) : resolve(value)), reject)
      .finally(() => signal.removeEventListener('abort', abort));
  });
}

/** `untilAborted` bound to a run's signal and to the release of its connection, for kinds that wait on it step after step. */
export function abortable(signal: AbortSignal, release: () => void) {
  return <T>(work: Promise<T>, disposeLate?: (value: T) => void): Promise<T> => untilAborted(work, signal, release, disposeLate);
}
