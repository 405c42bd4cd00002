import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { configSchema, type VigilConfig, type VigilConfigInput } from './schema.ts';

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

/** Marks the exported configuration; typed so an editor completes and checks every field. */
export function defineConfig(config: VigilConfigInput): VigilConfigInput {
  return config;
}

// Environment variables from DESIGN.md win over the file, so one config serves every deployment.
const ENV_OVERRIDES: Array<[variable: string, section: keyof VigilConfigInput, field: string]> = [
  ['VIGIL_HOST', 'server', 'host'],
  ['VIGIL_PORT', 'server', 'port'],
  ['VIGIL_PUBLIC_URL', 'server', 'publicUrl'],
  ['VIGIL_ADMIN_TOKEN', 'server', 'adminToken'],
  ['DATABASE_URL', 'database', 'url'],
  ['VIGIL_DATA_DIR', 'database', 'dataDir'],
  ['VIGIL_STORAGE_DIR', 'processing', 'storageDir'],
  ['SMTP_URL', 'smtp', 'url'],
  ['SMTP_FROM', 'smtp', 'from'],
  ['SLACK_BOT_TOKEN', 'slack', 'token'],
  ['SLACK_API_URL', 'slack', 'apiUrl'],
  ['VIGIL_LOG_LEVEL', 'logging', 'level'],
];

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return path.resolve(cwd, env.VIGIL_CONFIG ?? 'vigil.config.ts');
}

/** Loads, overrides from the environment and validates a config file. Throws ConfigError naming the file and field. */
export async function loadConfig(file = defaultConfigPath(), env: NodeJS.ProcessEnv = process.env): Promise<VigilConfig> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) throw new ConfigError(absolute, [`file not found (set VIGIL_CONFIG or create ${path.basename(absolute)})`]);
  let exported: unknown;
  try {
    const module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
    exported = module.default;
  } catch (error) {
    throw new ConfigError(absolute, [`could not be loaded: ${(error as Error).message}`]);
  }
  if (exported === undefined) throw new ConfigError(absolute, ['has no default export: write `export default defineConfig({ ... })`']);
  return parseConfig(exported, absolute, env);
}

/** Validates an already-built config object (tests and embedders use this directly). */
export function parseConfig(raw: unknown, source = '<inline config>', env: NodeJS.ProcessEnv = {}): VigilConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, ['the default export must be an object made by defineConfig({ ... })']);
  }
  const withEnv: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const [variable, section, field] of ENV_OVERRIDES) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    const current = withEnv[section];
    withEnv[section] = { ...(typeof current === 'object' && current !== null ? current : {}), [field]: value };
  }
  const parsed = configSchema.safeParse(withEnv);
  if (!parsed.success) throw new ConfigError(source, formatIssues(parsed.error));
  return parsed.data;
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
