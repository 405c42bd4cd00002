import { z } from 'zod';
import type { CoreConfig } from '../core/config/index.ts';
import type { AnyProbeDefinition } from './define.ts';

// The probes section of vigil.config.ts: definitions made by the constructors (http({...}), ...). Entries are checked
// by the probes loader, not here, so one bad definition is reported and skipped while the others run.
// An entry may also be a function returning a definition, so one whose helper throws is reported and skipped.
export const probesConfigSchema = z.array(z.custom<AnyProbeDefinition | (() => AnyProbeDefinition)>(() => true)).default([]);

export type ProbesConfig = z.output<typeof probesConfigSchema>;

/** The configuration the probes module reads: core's sections and its own. */
export type ProbesHostConfig = CoreConfig & { probes: ProbesConfig };
