import { z } from 'zod';
import type { CoreConfig } from '../core/config/index.ts';
import type { AnyProbeDefinition } from './define.ts';

// The probes section of vigil.config.ts: definitions made by the constructors (http({...}), ...). Entries are checked
// by the probes loader, not here, so one bad definition is reported and skipped while the others run.
// An entry may also be a function returning a definition, so one whose helper throws is reported and skipped.
export const probesConfigSchema = z.array(z.custom<AnyProbeDefinition | (() => AnyProbeDefinition)>(() => true)).default([]);

export type ProbesConfig = z.output<typeof probesConfigSchema>;

const limit = (field: string, max: number) =>
  // Coerced, so the environment variable that overrides the field (text) reads like the number in the file.
  z.coerce.number({ error: `${field} is a whole number from 1 to ${max}` }).int(`${field} is a whole number from 1 to ${max}`).min(1, `${field} is a whole number from 1 to ${max}`).max(max, `${field} is a whole number from 1 to ${max}`);

/** The scheduler's limits (`probeScheduler` in vigil.config.ts; each field also set by its environment variable, which wins). */
export const probeSchedulerConfigSchema = z
  .strictObject({
    /** Runs in flight at once over every target (default 64). */
    concurrency: limit('concurrency', 10_000).optional(),
    /** Runs in flight at once against one target (default a quarter of `concurrency`). */
    targetConcurrency: limit('targetConcurrency', 10_000).optional(),
    /** Results held in memory while the store is unreachable (default 10 000). */
    buffer: limit('buffer', 1_000_000).optional(),
  })
  .default({});

export const PROBE_SCHEDULER_ENV = { VIGIL_PROBE_CONCURRENCY: 'concurrency', VIGIL_PROBE_TARGET_CONCURRENCY: 'targetConcurrency', VIGIL_PROBE_BUFFER: 'buffer' } as const;

export type ProbeSchedulerConfig = z.output<typeof probeSchedulerConfigSchema>;

/** The configuration the probes module reads: core's sections and its own. */
export type ProbesHostConfig = CoreConfig & { probes: ProbesConfig; probeScheduler: ProbeSchedulerConfig };
