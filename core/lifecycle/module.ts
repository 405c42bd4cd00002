import type { CliCommand } from '../cli/command.ts';
import type { Clock } from '../clock.ts';
import type { VigilConfig } from '../config/schema.ts';
import type { Db, Migration } from '../db/index.ts';
import type { HttpServer } from '../http/server.ts';
import type { Queue } from '../queue/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Registry } from '../telemetry/metrics.ts';

export const ROLES = ['api', 'worker', 'probes', 'alerts'] as const;
export type Role = (typeof ROLES)[number];

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

/** What every module receives at start. */
export interface ModuleContext {
  config: VigilConfig;
  db: Db;
  queue: Queue;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  roles: ReadonlySet<Role>;
  /** This process's probe location name (`--location`), "local" by default. */
  location: string;
  /** Base URL of this Vigil's HTTP API, as users and probes reach it. */
  publicUrl: string;
  /** Present in every process; modules add their routes only when `roles` has "api". */
  http: HttpServer;
}

/** A top-level folder of the product (processing, probes, alerts, status page) as the core sees it. */
export interface VigilModule {
  name: string;
  /** The module's tables, in order; ids are prefixed with the module name. */
  migrations: readonly Migration[];
  /** Registers routes and returns the components for the roles this process runs. */
  setup(ctx: ModuleContext): Component[] | Promise<Component[]>;
  /** Problems in the module's part of a parsed config that do not stop a start (e.g. a skipped probe); `vigil validate` fails on them. */
  validate?(config: VigilConfig): string[];
  /** CLI verbs the module adds (e.g. "probe test"). */
  commands?: readonly CliCommand[];
}
