import type { z } from 'zod';
import { assembleConfigSchema, configLoader } from '../core/config/index.ts';
import { MODULES } from './modules.ts';

const product = assembleConfigSchema(MODULES);

/** The schema of vigil.config.ts: core's sections and one per module. */
export const configSchema = product.schema;
/** What vigil.config.ts writes (durations as "30s", secrets as strings, most fields optional). */
export type VigilConfigInput = z.input<typeof configSchema>;
/** The validated configuration every component receives. */
export type VigilConfig = z.output<typeof configSchema>;

export const { load: loadConfig, parse: parseConfig } = configLoader(configSchema, product.envOverrides);

/** Marks the exported configuration; typed so an editor completes and checks every field. */
export function defineConfig(config: VigilConfigInput): VigilConfigInput {
  return config;
}
