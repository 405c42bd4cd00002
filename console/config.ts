import { z } from 'zod';
import { duration } from '../core/config/duration.ts';

export const consoleConfigSchema = z
  .strictObject({
    /** How long a login lasts. */
    sessionTtl: duration().default(12 * 3_600_000),
  })
  .default({ sessionTtl: 12 * 3_600_000 });

export type ConsoleConfig = z.output<typeof consoleConfigSchema>;
