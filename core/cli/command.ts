import type { ParseArgsConfig } from 'node:util';
import type { CoreConfig } from '../config/schema.ts';
import type { AdminClient } from './client.ts';

export interface CliIo<Config extends CoreConfig = CoreConfig> {
  out: (line: string) => void;
  err: (line: string) => void;
  /** The config file the command should load (--config, VIGIL_CONFIG or ./vigil.config.ts). */
  configPath: string;
  env: NodeJS.ProcessEnv;
  /** Loads and validates `configPath` with the whole product's schema. */
  loadConfig(): Promise<Config>;
  /**
   * The admin API of the running Vigil (--url/VIGIL_URL with VIGIL_ADMIN_TOKEN, else the instance running from the
   * configuration's data directory), or, when none runs, the same API served in this process from the store.
   */
  connect(): Promise<AdminClient>;
  /** --json: print the API's answer as JSON instead of text for people. */
  json: boolean;
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
