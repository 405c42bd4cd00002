import { z } from 'zod';
import type { ModuleConfigSection, VigilModule } from '../lifecycle/module.ts';
import { coreConfigShape, coreEnvOverrides, type EnvOverride } from './schema.ts';

type SectionOf<M> = M extends { config: ModuleConfigSection<infer Key, infer Schema> } ? { [K in Key]: Schema } : never;
type Intersect<U> = (U extends unknown ? (union: U) => void : never) extends (intersection: infer I) => void ? I : never;

/** The shape of the whole product's config: core's sections plus one per module. */
export type ProductShape<Modules extends readonly VigilModule[]> = typeof coreConfigShape & Intersect<SectionOf<Modules[number]>>;

export interface ProductConfigSchema<Modules extends readonly VigilModule[]> {
  schema: z.ZodObject<ProductShape<Modules>, z.core.$strict>;
  envOverrides: readonly EnvOverride[];
}

/** Builds the configuration schema and the environment overrides from core's sections and the modules' own. */
export function assembleConfigSchema<const Modules extends readonly VigilModule[]>(modules: Modules): ProductConfigSchema<Modules> {
  const shape: Record<string, z.ZodType> = { ...coreConfigShape };
  const envOverrides: EnvOverride[] = [...coreEnvOverrides];
  for (const module of modules) {
    if (!module.config) continue;
    const { key, schema, env = {} } = module.config;
    if (key in shape) throw new Error(`module "${module.name}" declares config section "${key}", which is already taken`);
    shape[key] = schema;
    for (const [variable, field] of Object.entries(env)) envOverrides.push({ variable, section: key, field });
  }
  // The shape is built at run time from the modules' declarations; its static type is the same assembly done by ProductShape.
  return { schema: z.strictObject(shape) as z.ZodObject<ProductShape<Modules>, z.core.$strict>, envOverrides };
}
