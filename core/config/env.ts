export class MissingEnvironmentVariableError extends Error {
  readonly variable: string;

  constructor(variable: string) {
    super(`environment variable ${variable} is not set (the config reads it with env('${variable}')); set it, or remove the field to use its default`);
    this.name = 'MissingEnvironmentVariableError';
    this.variable = variable;
  }
}

/** The file running this code (this one, or the bundle holding it), so error locations point at the config line that
 * called env(), not here. */
export const ENV_HELPER_FILE = import.meta.filename;

/**
 * An environment variable's value for vigil.config.ts; unset or empty is an error naming the variable, so a
 * deployment whose secret did not arrive refuses to start instead of silently running on defaults.
 * `fallback` makes the variable optional.
 */
export function env(name: string, fallback?: string): string {
  const value = process.env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new MissingEnvironmentVariableError(name);
}
