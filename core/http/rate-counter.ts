import type { FastifyRateLimitStore } from '@fastify/rate-limit';

/**
 * Fixed-window request counts per client, shared by `@fastify/rate-limit` (as its store) and a route's fast answer
 * (server.ts `answerFast`), so a client is counted once whichever path serves it. Keeps at most `maxClients`,
 * forgetting the ones whose window started longest ago.
 */
export class RateCounter implements FastifyRateLimitStore {
  private readonly windows = new Map<string, { count: number; startedAt: number }>();
  private readonly maxClients: number;

  constructor(maxClients = 10_000) {
    this.maxClients = maxClients;
  }

  /** Counts one request of `key`; its count in the window that holds `now`, and the milliseconds that window has left. */
  count(key: string, timeWindow: number, now = Date.now()): { current: number; ttl: number } {
    let window = this.windows.get(key);
    if (!window || window.startedAt + timeWindow <= now) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxClients) this.windows.delete(this.windows.keys().next().value!);
      window = { count: 0, startedAt: now };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { current: window.count, ttl: window.startedAt + timeWindow - now };
  }

  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
    callback(null, this.count(key, timeWindow));
  }

  child(): FastifyRateLimitStore {
    return this;
  }

  /** The constructor `@fastify/rate-limit`'s `store` option takes, handing it this very counter. */
  asStore(): new () => FastifyRateLimitStore {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- a constructor that returns the shared instance
    const shared = this;
    return function SharedCounter() {
      return shared;
    } as unknown as new () => FastifyRateLimitStore;
  }
}
