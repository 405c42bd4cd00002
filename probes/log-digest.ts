import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/telemetry/logger.ts';

const WINDOW_MS = 60_000;

export type Describe = (count: number) => { message: string; fields: Record<string, unknown> };

/** Log lines that can repeat every second (a skipped slot, a failing probe): the first of a key is logged at once,
 * the repeats are summed into one line per key at the end of the minute. */
export function createLogDigest(clock: Clock, logger: Logger, windowMs = WINDOW_MS) {
  const repeats = new Map<string, { count: number; describe: Describe }>();
  let timer: TimerHandle | undefined;

  const flush = () => {
    for (const { count, describe } of repeats.values()) {
      if (count === 0) continue;
      const { message, fields } = describe(count);
      logger.warn(fields, message);
    }
    repeats.clear();
    timer?.cancel();
    timer = undefined;
  };

  return {
    note(key: string, describe: Describe): void {
      const seen = repeats.get(key);
      if (seen) {
        seen.count += 1;
        seen.describe = describe;
        return;
      }
      const { message, fields } = describe(1);
      logger.warn(fields, message);
      repeats.set(key, { count: 0, describe });
      timer ??= clock.setTimeout(flush, windowMs);
    },
    /** Logs what is pending now (at stop). */
    flush,
  };
}
