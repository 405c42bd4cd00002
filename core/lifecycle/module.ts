import type { z } from 'zod';
import type { CliCommand } from '../cli/command.ts';
import type { Clock, TimerHandle } from '../clock.ts';
import type { CoreConfig } from '../config/schema.ts';
import type { Secret } from '../config/secret.ts';
import { coreMigrations } from '../db/store.ts';
import type { Db, Migration } from '../db/index.ts';
import type { KeyVerifier } from '../http/auth.ts';
import type { HttpServer } from '../http/server.ts';
import type { Queue } from '../queue/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Registry } from '../telemetry/metrics.ts';

/** Core's own role: serve HTTP (health, metrics, and every module's routes). Modules add theirs (e.g. "worker"). */
export const API_ROLE = 'api';

/** A part of the product a process runs: "api", or a role a module declares ("worker", "probes", "alerts"). */
export type Role = string;

export type Health = { ok: true } | { ok: false; reason: string };

/** A running part of a role (a worker pool, a scheduler, an evaluator). */
export interface Component {
  name: string;
  start?(): Promise<void>;
  /** Stop taking new work; finish or hand back what is in flight before `deadline` (epoch ms). */
  stop?(deadline: number): Promise<void>;
  /** Polled by /readyz. */
  health?(): Health | Promise<Health>;
}

/**
 * A component that runs `pass` every `intervalMs` on `clock`, one pass at a time (a tick while one runs is skipped);
 * a failed pass is handed to `onError` and the next tick tries again. Stopping waits for the pass under way.
 */
export function periodicComponent(name: string, options: { clock: Clock; intervalMs: number; pass: () => Promise<unknown>; onError: (error: unknown) => void; stop?: () => void }): Component {
  let timer: TimerHandle | undefined;
  let running: Promise<unknown> | undefined;
  return {
    name,
    async start() {
      timer = options.clock.setInterval(() => {
        running ??= options
          .pass()
          .catch(options.onError)
          .finally(() => (running = undefined));
      }, options.intervalMs);
    },
    async stop() {
      timer?.cancel();
      await running;
      options.stop?.();
    },
  };
}

/** What every module receives at start; `config` is typed by the sections the module reads. */
export interface ModuleContext<Config extends CoreConfig = CoreConfig> {
  config: Config;
  db: Db;
  queue: Queue;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  roles: ReadonlySet<Role>;
  /** This process's probe location name (`--location`), "local" by default. */
  location: string;
  /** Base URL of the public listener, as users reach it (server.publicUrl when set). */
  publicUrl: string;
  /** Base URL of the internal listener: the processing API, the admin API, /metrics. The same as publicUrl with one listener. */
  apiUrl: string;
  /** The internal listener. Present in every process; modules add their routes only when `roles` has "api". */
  http: HttpServer;
  /** The internet-facing listener (direct upload URLs, status by token, public pages); `http` itself unless server.public is set. */
  publicHttp: HttpServer;
  /** The tokens the admin API accepts (the configured one and this process's local one), for a module's own login. */
  adminTokens: readonly Secret[];
  /** Gives core's access check the verifier of API keys, for routes that declare a scope (the module issuing keys calls it). */
  verifyKeysWith(verifier: KeyVerifier): void;
}

/** A module's section of vigil.config.ts: its key, its schema, and the environment variables that override its fields. */
export interface ModuleConfigSection<Key extends string = string, Schema extends z.ZodType = z.ZodType> {
  key: Key;
  schema: Schema;
  /** Environment variable → field of this section, e.g. `{ VIGIL_STORAGE_DIR: 'storageDir' }`. */
  env?: Readonly<Record<string, string>>;
}

/**
 * A top-level folder of the product (processing, probes, alerts, ...) as the core sees it. Core assembles the
 * configuration schema, the role list, the migrations and the CLI from the modules the composition root gives it.
 */
export interface VigilModule<Config extends CoreConfig = CoreConfig> {
  name: string;
  config?: ModuleConfigSection;
  /** Roles this module runs components for; "api" is core's and needs no declaring. */
  roles?: readonly Role[];
  /** The module's tables, in order; ids are prefixed with the module name. */
  migrations: readonly Migration[];
  /** Registers routes and returns the components for the roles this process runs. */
  setup(ctx: ModuleContext<Config>): Component[] | Promise<Component[]>;
  /** Problems in the module's part of a parsed config that do not stop a start (e.g. a skipped probe); `vigil validate` fails on them. */
  validate?(config: Config): string[];
  /** A short summary of the module's part of a valid config for `vigil validate`, e.g. "5 probe definition(s)". */
  describe?(config: Config): string;
  /** CLI verbs the module adds (e.g. "probe test"). */
  commands?: readonly CliCommand<Config>[];
}

/** The configuration a module with section `Key` sees: core's sections and its own. */
export type ConfigWith<Key extends string, Schema extends z.ZodType> = CoreConfig & { [K in Key]: z.output<Schema> };

/**
 * Declares a module. The section's key and schema type the `config` that `setup`, `validate` and the commands
 * receive; a module that also reads another module's section widens `Extra` with that module's exported type.
 */
export function defineModule<const Key extends string, Schema extends z.ZodType, Extra = unknown>(
  module: VigilModule<ConfigWith<Key, Schema> & Extra> & { config: ModuleConfigSection<Key, Schema> },
): VigilModule<ConfigWith<Key, Schema> & Extra> & { config: ModuleConfigSection<Key, Schema> } {
  return module;
}

/** Every role the given modules can run, "api" first. */
export function rolesOf(modules: readonly VigilModule[]): Role[] {
  return [...new Set([API_ROLE, ...modules.flatMap((module) => module.roles ?? [])])];
}

/** Core's migrations, then each module's in start order. */
export function migrationsOf(modules: readonly VigilModule[]): Migration[] {
  return [...coreMigrations, ...modules.flatMap((module) => module.migrations)];
}
