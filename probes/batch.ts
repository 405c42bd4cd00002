/** Collects calls into flushes at least `windowMs` apart: a flush takes the calls made while the one before it ran and
 * during the window after it, rather than each flush taking only what arrived during the last, so a busy scheduler
 * writes in few statements. The window is waited on the real timer: it paces writes. */
export function batcher<T, R>(flush: (items: T[]) => Promise<R[]>, windowMs = 0): { add(item: T): Promise<R>; idle(): Promise<void> } {
  let pending: Array<{ item: T; resolve: (value: R) => void; reject: (error: unknown) => void }> = [];
  let draining: Promise<void> | undefined;

  const drain = async () => {
    while (pending.length > 0) {
      await (windowMs > 0 ? new Promise((resolve) => setTimeout(resolve, windowMs)) : Promise.resolve());
      const batch = pending;
      pending = [];
      try {
        const results = await flush(batch.map((entry) => entry.item));
        batch.forEach((entry, index) => entry.resolve(results[index] as R));
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    draining = undefined;
  };

  return {
    add(item) {
      const promise = new Promise<R>((resolve, reject) => pending.push({ item, resolve, reject }));
      draining ??= drain();
      return promise;
    },
    async idle() {
      while (draining) await draining;
    },
  };
}
