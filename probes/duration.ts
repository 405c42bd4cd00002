import { z } from 'zod';
import { formatDuration, parseDuration } from '../core/config/duration.ts';

/** A duration in a probe definition: always written with its unit ("5s", "250ms"), since a plain 5 reads as seconds to
 * some and milliseconds to others; yields milliseconds, at least `minimum` when given. */
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
