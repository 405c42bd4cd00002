import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses "250ms", "30s", "5m", "2h", "90d" (or a number of milliseconds) into milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`duration must be a non-negative number of ms, got ${value}`);
    return value;
  }
  const match = PATTERN.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a duration: use a number and a unit, like 250ms, 30s, 5m, 2h or 1d`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`;
}

/**
 * A duration in the configuration, always written with its unit ("5s", "250ms"): a plain 5 reads as seconds to some
 * and milliseconds to others. Yields milliseconds, at least `minimum` when given.
 */
export const duration = (minimum = 0) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    if (typeof value === 'number') {
      ctx.addIssue({ code: 'custom', message: `${value} has no unit; write ${value}s or ${value}ms` });
      return z.NEVER;
    }
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
    if (ms < minimum) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${formatDuration(minimum)}, got ${value}` });
      return z.NEVER;
    }
    return ms;
  });
