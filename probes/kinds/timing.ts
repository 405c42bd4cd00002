import { performance } from 'node:perf_hooks';

/** Milliseconds since `start` (performance.now()), to a microsecond. */
export function since(start: number, now: number): number {
  return Math.round((now - start) * 1000) / 1000;
}

/** Times a run's phases one after another: each lap is the milliseconds (to a microsecond) since the previous lap, the first since the stopwatch was made. */
export function stopwatch() {
  const laps: Record<string, number> = {};
  let last = performance.now();
  return {
    lap(phase: string): void {
      const now = performance.now();
      laps[phase] = since(last, now);
      last = now;
    },
    /** The phases timed so far, in the order they ran. */
    laps: (): Record<string, number> => ({ ...laps }),
  };
}
