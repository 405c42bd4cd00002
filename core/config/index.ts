export { ConfigError, defaultConfigPath, defineConfig, formatIssues, loadConfig, parseConfig } from './load.ts';
export type { VigilConfig, VigilConfigInput } from './schema.ts';
export { duration, formatDuration, parseDuration } from './duration.ts';
export { redactUrl, Secret, secret } from './secret.ts';
