import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { ENV_HELPER_FILE } from './env.ts';
import type { EnvOverride } from './schema.ts';
import { formatAtLocation, locateLoadError } from './source-location.ts';

export class ConfigError extends Error {
  readonly file: string;
  readonly issues: string[];

  constructor(file: string, issues: string[]) {
    super(`Invalid configuration in ${file}:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

export interface ConfigLoader<Config> {
  /** Loads, overrides from the environment and validates a config file. Throws ConfigError naming the file and field. */
  load(file?: string, env?: NodeJS.ProcessEnv): Promise<Config>;
  /** Validates an already-built config object (tests and embedders use this directly). */
  parse(raw: unknown, source?: string, env?: NodeJS.ProcessEnv): Config;
}

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return path.resolve(cwd, env.VIGIL_CONFIG ?? 'vigil.config.ts');
}

/** A loader for the configuration described by `schema`, with environment variables winning over the file. */
export function configLoader<Schema extends z.ZodType>(schema: Schema, envOverrides: readonly EnvOverride[]): ConfigLoader<z.output<Schema>> {
  const parse = (raw: unknown, source = '<inline config>', env: NodeJS.ProcessEnv = {}): z.output<Schema> => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ConfigError(source, ['the default export must be an object made by defineConfig({ ... })']);
    }
    const withEnv: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
    for (const { variable, section, field } of envOverrides) {
      const value = env[variable];
      if (value === undefined || value === '') continue;
      const current = withEnv[section];
      withEnv[section] = { ...(typeof current === 'object' && current !== null ? current : {}), [field]: value };
    }
    const parsed = schema.safeParse(withEnv);
    if (!parsed.success) throw new ConfigError(source, formatIssues(parsed.error));
    return parsed.data;
  };
  return {
    parse,
    async load(file = defaultConfigPath(), env = process.env) {
      const absolute = path.resolve(file);
      if (!existsSync(absolute)) throw new ConfigError(absolute, [`file not found (set VIGIL_CONFIG or create ${path.basename(absolute)})`]);
      let exported: unknown;
      try {
        const module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
        exported = module.default;
      } catch (error) {
        const message = (error as Error).message;
        const location = locateLoadError(error, [ENV_HELPER_FILE]);
        throw new ConfigError(absolute, [`could not be loaded: ${location ? formatAtLocation(location, message) : message}`]);
      }
      if (exported === undefined) throw new ConfigError(absolute, ['has no default export: write `export default defineConfig({ ... })`']);
      return parse(exported, absolute, env);
    },
  };
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    if (issue.code === 'unrecognized_keys') {
      const base = issue.path.length > 0 ? `${where}.` : '';
      return issue.keys.map((key) => `${base}${key}: unknown key (check the spelling)`).join('; ');
    }
    return `${where}: ${issue.message}`;
  });
}
