import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import type { Logger } from './logger.ts';

export interface RepeatLimiter {
  /** Logs the first occurrence of `key` at once; further ones within the interval are counted and logged as one line when it ends. */
  log(level: 'warn' | 'error', key: string, fields: Record<string, unknown>, message: string): void;
  /** Logs the counts still pending (at shutdown). */
  flush(): void;
}

interface Window {
  level: 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
  repeated: number;
  startedAt: number;
  timer: TimerHandle;
}

/** Collapses a flood of identical errors (a dependency down, retried many times a second) into one line per cause
 * per interval: `queue error` once, then `queue error (repeated 871 times in 60 s)` while it lasts. */
export function createRepeatLimiter(logger: Logger, options: { intervalMs?: number; clock?: Clock } = {}): RepeatLimiter {
  const intervalMs = options.intervalMs ?? 60_000;
  const clock = options.clock ?? systemClock;
  const windows = new Map<string, Window>();

  const close = (key: string, window: Window) => {
    if (window.repeated === 0) {
      windows.delete(key);
      return;
    }
    const seconds = Math.round((clock.now() - window.startedAt) / 1000);
    logger[window.level]({ ...window.fields, repeated: window.repeated, seconds }, `${window.message} (repeated ${window.repeated} times in ${seconds} s)`);
    // The cause is still active: keep counting, so the next line comes one interval later.
    window.repeated = 0;
    window.startedAt = clock.now();
    window.timer = clock.setTimeout(() => close(key, window), intervalMs);
  };

  return {
    log(level, key, fields, message) {
      const window = windows.get(key);
      if (window) {
        window.repeated += 1;
        window.level = level;
        window.fields = fields;
        return;
      }
      logger[level](fields, message);
      const opened: Window = { level, fields, message, repeated: 0, startedAt: clock.now(), timer: { cancel() {} } };
      opened.timer = clock.setTimeout(() => close(key, opened), intervalMs);
      windows.set(key, opened);
    },
    flush() {
      for (const [key, window] of [...windows]) {
        window.timer.cancel();
        close(key, window);
        windows.get(key)?.timer.cancel();
        windows.delete(key);
      }
    },
  };
}
