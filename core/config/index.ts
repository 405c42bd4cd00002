export { ConfigError, configLoader, defaultConfigPath, formatIssues, type ConfigLoader } from './load.ts';
export { assembleConfigSchema, type ProductConfigSchema, type ProductShape } from './assemble.ts';
export { coreConfigShape, type CoreConfig, type EnvOverride } from './schema.ts';
export { bytes } from './bytes.ts';
export { env, MissingEnvironmentVariableError } from './env.ts';
export { formatAtLocation, locateLoadError, type SourceLocation } from './source-location.ts';
export { duration, formatDuration, parseDuration } from './duration.ts';
export { redactUrl, Secret, secret } from './secret.ts';
