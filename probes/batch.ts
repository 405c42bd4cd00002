/** Collects calls made while a flush is running (and, with `windowMs`, for that long before the first) into the next
 * flush, so a busy scheduler writes in few statements. The window is waited on the real timer: it paces writes. */
export function batcher<T, R>(flush: (items: T[]) => Promise<R[]>, windowMs = 0): { add(item: T): Promise<R>; idle(): Promise<void> } {
  let pending: Array<{ item: T; resolve: (value: R) => void; reject: (error: unknown) => void }> = [];
  let draining: Promise<void> | undefined;

  const drain = async () => {
    await (windowMs > 0 ? new Promise((resolve) => setTimeout(resolve, windowMs)) : Promise.resolve());
    while (pending.length > 0) {
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
