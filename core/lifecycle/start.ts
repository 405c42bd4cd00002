import { hostname } from 'node:os';
import path from 'node:path';
import { systemClock, type Clock } from '../clock.ts';
import type { Secret } from '../config/secret.ts';
import type { CoreConfig } from '../config/schema.ts';
import { migrate, openDb, recordReadinessWrite, type Db } from '../db/index.ts';
import { instrumentDb } from '../db/metrics.ts';
import { withTimeout } from '../db/timeout.ts';
import { checkDirectory } from '../disk.ts';
import { accessControl } from '../http/auth.ts';
import { createHttpServer, type HttpServer, type Readiness } from '../http/server.ts';
import { startQueue, type Queue } from '../queue/index.ts';
import { createLogger, type Logger } from '../telemetry/logger.ts';
import { createRegistry, type Registry } from '../telemetry/metrics.ts';
import { createRepeatLimiter } from '../telemetry/repeats.ts';
import { advertiseInstance, createLocalToken } from './instance.ts';
import { holdTickShape } from './tick-shape.ts';
import { migrationsOf, rolesOf, type Component, type ModuleContext, type Role, type VigilModule } from './module.ts';

export interface StartOptions {
  config: CoreConfig;
  /** The product's modules in start order (stop runs in reverse); tests start the core alone or with one module. */
  modules: readonly VigilModule[];
  roles?: readonly Role[];
  location?: string;
  clock?: Clock;
  logger?: Logger;
  /** The product's version, stated by the OpenAPI document. */
  version?: string;
  /**
   * false: no listening and nothing advertised; requests are served through `http.inject` (the CLI's offline mode).
   * Otherwise an instance with the api role writes its address and local token next to the data directory's lock.
   */
  listen?: boolean;
}

export interface Vigil {
  /** The internal listener (the only one unless server.public is set). */
  readonly url: string;
  /** The public listener; the same as `url` with one listener. */
  readonly publicUrl: string;
  readonly roles: ReadonlySet<Role>;
  readonly db: Db;
  readonly queue: Queue;
  readonly http: HttpServer;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Accepted by this process's admin API besides the configured token; written to a 0600 file for the local CLI. */
  readonly localToken: Secret;
  readiness(): Promise<Readiness>;
  /** Graceful stop: not ready at once, components stop taking work, in-flight work finishes or is handed back, database closed. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts the given roles (all by default) in this process. */
export async function startVigil(options: StartOptions): Promise<Vigil> {
  const { config } = options;
  const { modules } = options;
  holdTickShape();
  const roles = new Set<Role>(options.roles?.length ? options.roles : rolesOf(modules));
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logging.level, roles: [...roles] });
  const registry = createRegistry();
  const repeats = createRepeatLimiter(logger, { clock });
  const processName = `vigil-${[...roles].join('-')}`;

  const db = instrumentDb(await openDb(config.database, processName), registry);
  const cleanups: Array<() => Promise<void>> = [() => db.close()];
  const unwind = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => logger.warn({ err: error }, 'cleanup failed'));
  };
  try {
    const report = await migrate(db, migrationsOf(modules));
    logger.info({ database: db.description, applied: report.applied }, 'database ready');
    const queue = await startQueue(db, logger, repeats);
    cleanups.push(() => queue.stop({ graceful: false, close: true, timeout: 1000 }));

    let stopping = false;
    const components: Component[] = [];
    const readiness = async (): Promise<Readiness> => {
      const checks: Readiness['checks'] = [];
      try {
        // A write, not only `select 1`: a store on a full volume still answers reads.
        await withTimeout(recordReadinessWrite(db, `${processName}@${hostname()}`), 2000, `${db.description} did not take a write`);
        checks.push({ name: 'database', ok: true });
      } catch (error) {
        checks.push({ name: 'database', ok: false, reason: (error as Error).message });
      }
      if (db.kind === 'pglite') {
        const directory = await checkDirectory({
          label: 'data directory',
          directory: path.resolve(config.database.dataDir),
          minFreeBytes: config.database.minFreeSpace,
          floorSetting: 'database.minFreeSpace',
        }).catch((error: Error) => ({ ok: false as const, reason: error.message }));
        checks.push(directory.ok ? { name: 'data directory', ok: true } : { name: 'data directory', ok: false, reason: directory.reason });
      }
      for (const component of components) {
        const health = component.health ? await Promise.resolve(component.health()).catch((error: Error) => ({ ok: false as const, reason: error.message })) : { ok: true as const };
        checks.push(health.ok ? { name: component.name, ok: true } : { name: component.name, ok: false, reason: health.reason });
      }
      if (stopping) return { ready: false, reason: 'shutting down', checks };
      const failed = checks.find((check) => !check.ok);
      return failed ? { ready: false, reason: `${failed.name}: ${failed.reason}`, checks } : { ready: true, checks };
    };

    const localToken = createLocalToken();
    const adminTokens = config.server.adminToken ? [config.server.adminToken, localToken] : [localToken];
    const version = options.version ? { version: options.version } : {};
    const access = accessControl(adminTokens);
    const http = createHttpServer({ logger, registry, readiness, limits: config.server, repeats, access, ...version });
    const publicHttp = config.server.public ? createHttpServer({ logger, registry, readiness, limits: config.server, repeats, access, ...version, metrics: false }) : http;
    const publicUrl = config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`;
    const context: ModuleContext = { config, db, queue, clock, logger, registry, roles, location: options.location ?? 'local', publicUrl, apiUrl: publicUrl, http, publicHttp, adminTokens, verifyKeysWith: access.verifyKeysWith };
    for (const module of modules) components.push(...(await module.setup(context)));
    for (const component of components) {
      await component.start?.();
      cleanups.push(async () => component.stop?.(clock.now() + 1000));
    }

    let url = context.publicUrl;
    let publicListenerUrl = url;
    let withdraw = () => {};
    if (options.listen === false) {
      await http.ready();
      if (publicHttp !== http) await publicHttp.ready();
    } else {
      url = await listen(http, { host: config.server.internal?.host ?? config.server.host, port: config.server.internal?.port ?? config.server.port });
      cleanups.push(() => http.close());
      publicListenerUrl =
        publicHttp === http ? url : await listen(publicHttp, { host: config.server.public?.host ?? config.server.host, port: config.server.public?.port ?? config.server.port });
      if (publicHttp !== http) cleanups.push(() => publicHttp.close());
      context.publicUrl = config.server.publicUrl ?? publicListenerUrl;
      context.apiUrl = publicHttp === http ? context.publicUrl : url;
      if (roles.has('api')) withdraw = advertiseInstance(config.database, url, localToken);
      logger.info({ url, ...(publicHttp === http ? {} : { publicUrl: publicListenerUrl }), location: context.location }, 'vigil started');
    }

    let stopped: Promise<void> | undefined;
    return {
      url,
      publicUrl: publicListenerUrl,
      roles,
      db,
      queue,
      http,
      registry,
      logger,
      localToken,
      readiness,
      stop(timeoutMs = config.server.shutdownTimeout) {
        stopped ??= (async () => {
          stopping = true;
          const deadline = Date.now() + timeoutMs;
          logger.info({ timeoutMs }, 'stopping');
          // The HTTP servers close first so in-flight requests finish while components hand back their work.
          const httpClosed = Promise.all([http.close(), publicHttp === http ? undefined : publicHttp.close()]);
          for (const component of [...components].reverse()) {
            await component.stop?.(deadline).catch((error) => logger.warn({ err: error, component: component.name }, 'component stop failed'));
          }
          await Promise.race([httpClosed, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
          await queue.stop({ graceful: true, close: true, timeout: Math.max(1000, deadline - Date.now()) }).catch(() => {});
          await db.close();
          repeats.flush();
          withdraw();
          logger.info('stopped');
        })();
        return stopped;
      },
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}

/** Binds a listener; resolves with its base URL (the real port when 0 was asked). */
async function listen(server: HttpServer, at: { host: string; port: number }): Promise<string> {
  await server.listen(at);
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : at.port;
  return `http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${port}`;
}
