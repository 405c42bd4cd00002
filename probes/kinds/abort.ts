/** Settles with `work`, or rejects with the abort reason as soon as `signal` aborts (after `onAbort` released the resource). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => void): Promise<T> {
  if (signal.aborted) {
    onAbort();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/** Milliseconds since `start` (performance.now()), to a microsecond. */
export function since(start: number, now: number): number {
  return Math.round((now - start) * 1000) / 1000;
}
