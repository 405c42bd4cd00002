// Every component that waits or stamps time takes a Clock, so lifecycle tests run on FakeClock
// instead of sleeping.

/** Milliseconds, the product's one unit of time in code. */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): number;
  date(): Date;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  date: () => new Date(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  },
  setInterval(fn, ms) {
    const handle = setInterval(fn, ms);
    handle.unref?.();
    return { cancel: () => clearInterval(handle) };
  },
  sleep: (ms, signal) => sleepOn(systemClock, ms, signal),
};

/** One-off wake-ups at given times (a retry's, a postponed job's), all cancelled together when their owner stops. */
export function createWakeups(clock: Clock) {
  const pending = new Set<TimerHandle>();
  return {
    /** Runs `fn` at epoch ms `at` on `clock` (at once if that has passed). */
    at(at: number, fn: () => void): void {
      const timer = clock.setTimeout(() => {
        pending.delete(timer);
        fn();
      }, Math.max(0, at - clock.now()));
      pending.add(timer);
    },
    cancelAll(): void {
      for (const timer of pending) timer.cancel();
      pending.clear();
    },
  };
}

function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface PendingTimer {
  id: number;
  at: number;
  every?: number;
  fn: () => void;
}

/** A clock that moves only when told to. `advance` runs due timers in time order, letting
 * promise callbacks settle between them so async chains behave as they would in real time. */
export class FakeClock implements Clock {
  #now: number;
  #timers: PendingTimer[] = [];
  #nextId = 1;

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  date(): Date {
    return new Date(this.#now);
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, Math.max(0, ms));
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, Math.max(1, ms), Math.max(1, ms));
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      const next = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.#now = Math.max(this.#now, next.at);
      // An interval left behind by `set` fires once and goes on from now, as a real one does after the machine
      // slept: no burst of every firing it missed.
      if (next.every) next.at = Math.max(next.at, this.#now) + next.every;
      else this.#timers = this.#timers.filter((t) => t !== next);
      next.fn();
    }
    this.#now = target;
    await settle();
  }

  /** Sets the time without firing timers (for tests that restart a component at a later time). */
  set(time: number | Date): void {
    this.#now = typeof time === 'number' ? time : time.getTime();
  }

  #add(fn: () => void, ms: number, every?: number): TimerHandle {
    const timer: PendingTimer = { id: this.#nextId++, at: this.#now + ms, fn, ...(every ? { every } : {}) };
    this.#timers.push(timer);
    return { cancel: () => (this.#timers = this.#timers.filter((t) => t !== timer)) };
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
