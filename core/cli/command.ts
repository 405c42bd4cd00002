import type { ParseArgsConfig } from 'node:util';
import type { CoreConfig } from '../config/schema.ts';

export interface CliIo<Config extends CoreConfig = CoreConfig> {
  out: (line: string) => void;
  err: (line: string) => void;
  /** The config file the command should load (--config, VIGIL_CONFIG or ./vigil.config.ts). */
  configPath: string;
  env: NodeJS.ProcessEnv;
  /** Loads and validates `configPath` with the whole product's schema. */
  loadConfig(): Promise<Config>;
}

export interface CliArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** One verb of the `vigil` CLI. Modules contribute theirs (e.g. "probe test", "silence add"). */
export interface CliCommand<Config extends CoreConfig = CoreConfig> {
  /** One or two words: "start", "probe test". */
  name: string;
  summary: string;
  /** Shown by --help after "vigil <name>", e.g. "<probe-name> [--location NAME]". */
  usage?: string;
  options?: ParseArgsConfig['options'];
  /** How many positionals it takes at most (default 0). */
  positionals?: number;
  run(args: CliArgs, io: CliIo<Config>): Promise<number>;
}

/** A mistake in how a command was called; the CLI prints it with the command's name and exits 2. */
export class UsageError extends Error {}
