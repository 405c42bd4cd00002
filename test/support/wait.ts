import type { FakeClock } from '../../core/clock.ts';

/** Polls a real condition until it holds or the deadline passes (for real processes and servers, not for timing). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Moves a fake clock a second at a time, letting real I/O run between steps, until `check` holds. */
export async function untilOnClock<T>(clock: FakeClock, what: string, check: () => T | undefined | false | Promise<T | undefined | false>, maxFakeMs = 300_000): Promise<T> {
  for (let elapsed = 0; elapsed <= maxFakeMs; elapsed += 1000) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await clock.advance(1000);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`still waiting for ${what} after ${maxFakeMs / 1000} s of fake time`);
}
