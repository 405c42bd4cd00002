import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PGliteLike } from 'pg-boss';
import { acquireDataDirLock } from './lock.ts';
import type { Db, Queryable, Row } from './types.ts';
import { DependencyUnavailableError, rethrowAsUnavailable } from '../unavailable.ts';
import { withTimeout } from './timeout.ts';

export interface EmbeddedDb extends Db {
  readonly kind: 'pglite';
  /** The handle pg-boss runs on; it follows the engine across reopenings. */
  readonly bossAdapter: PGliteLike;
  /** The PGlite instance in use now (replaced when the engine is reopened). */
  readonly engine: PGlite;
  readonly directory: string;
}

/** Opens (creating if needed) the embedded database in `dataDir`, holding the directory's lock until close. */
export async function openEmbeddedDb(dataDir: string): Promise<EmbeddedDb> {
  const root = path.resolve(dataDir);
  const pgDir = path.join(root, 'pg');
  const release = await acquireDataDirLock(root);
  let engine: PGlite;
  try {
    engine = await openOrCreate(root, pgDir);
  } catch (error) {
    await release();
    throw new Error(`Could not open the embedded database in ${pgDir}: ${(error as Error).message}`, { cause: error });
  }
  let reopening: Promise<PGlite> | undefined;
  let closing = false;

  // If the engine was closed underneath us (crash, or the volume went away and came back), open it again
  // on the same directory, but never create a fresh, empty database in place of a missing one.
  const current = async (): Promise<PGlite> => {
    if (!engine.closed) return engine;
    if (closing) throw new Error('the embedded database is closed');
    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
      throw new DependencyUnavailableError({ dependency: 'database', reason: 'unreachable', cause: 'data directory missing', detail: `the embedded database directory ${pgDir} is missing` });
    }
    reopening ??= PGlite.create(pgDir, ENGINE_OPTIONS).finally(() => (reopening = undefined));
    engine = await reopening;
    return engine;
  };

  const unavailable = rethrowAsUnavailable('database');
  const query = async <R extends object = Row>(sql: string, params?: unknown[]): Promise<R[]> =>
    (await (await current()).query<R>(sql, params).catch(unavailable)).rows;

  return {
    kind: 'pglite',
    description: `embedded PGlite in ${pgDir}`,
    directory: pgDir,
    get engine() {
      return engine;
    },
    query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return (await current()).transaction((tx) =>
        fn({ query: async <R extends object = Row>(sql: string, params?: unknown[]) => (await tx.query<R>(sql, params).catch(unavailable)).rows }),
      );
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(query('select 1'), timeoutMs, 'the embedded database did not answer');
    },
    async listen(channel, onNotify) {
      const unlisten = await (await current()).listen(channel, onNotify);
      return { close: () => unlisten() };
    },
    async close() {
      closing = true;
      try {
        if (!engine.closed) await engine.close();
      } finally {
        await release();
      }
    },
    bossAdapter: {
      query: async (sql, params) => (await current()).query(sql, params),
      exec: async (sql) => (await current()).exec(sql),
      listen: async (channel, callback) => (await current()).listen(channel, callback),
    },
  };
}

// PostgreSQL sizes its buffer cache for a server (shared_buffers 128 MB), and PGlite touches all of it at start, so
// the cache alone was a third of the process's resident memory. An embedded store serves one process with a small
// working set, and pages it misses come from the operating system's file cache: 16 MB kept the start-up RSS about
// 130 MB lower, and 8 MB keeps the engine's resident memory 8 MB lower again (34 → 26 MB idle with the example
// configuration; bench/startup.ts prints the breakdown).
const ENGINE_OPTIONS = { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=8MB'] };

const TEMPLATE = path.join(os.tmpdir(), 'vigil', `pglite-${pgliteVersion()}-initdb.tar.gz`);

function pgliteVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite'))); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version: string };
    if (name === '@electric-sql/pglite') return version;
  }
  throw new Error('cannot find the installed @electric-sql/pglite version');
}

/**
 * A new store is made in a temporary directory beside `pg` and renamed into place only once complete, so a start killed
 * part-way leaves either no store or a whole one. A `pg` without PG_VERSION can only be such a leftover of an older
 * version (initdb never finished, so it holds no data): it is rebuilt.
 */
async function openOrCreate(root: string, pgDir: string): Promise<PGlite> {
  for (const entry of readdirSync(root)) {
    if (entry.startsWith(PARTIAL_PREFIX)) rmSync(path.join(root, entry), { recursive: true, force: true, maxRetries: 5 });
  }
  if (existsSync(path.join(pgDir, 'PG_VERSION'))) return PGlite.create(pgDir, ENGINE_OPTIONS);
  rmSync(pgDir, { recursive: true, force: true });
  const partial = path.join(root, `${PARTIAL_PREFIX}${process.pid}-${Date.now()}`);
  await createInto(partial);
  renameSync(partial, pgDir);
  return PGlite.create(pgDir, ENGINE_OPTIONS);
}

const PARTIAL_PREFIX = 'pg.partial-';

// initdb is most of a new embedded database's start-up (about 3 s here) and, as a second WebAssembly instance, most of
// its memory peak: a pristine copy of its output, kept per PGlite version and unpacked with tar, makes every later new
// directory start in about 1 s with one engine in memory.
async function createInto(dir: string): Promise<void> {
  if (existsSync(TEMPLATE)) {
    mkdirSync(dir, { recursive: true });
    const unpacked = await new Promise<boolean>((resolve) => {
      // Fed through a pipe, so a tar left behind by a killed start reads end-of-file and stops at once.
      const tar = spawn('tar', ['-xzf', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'ignore'] });
      tar.once('error', () => resolve(false));
      tar.once('exit', (code) => resolve(code === 0));
      tar.stdin.on('error', () => {});
      createReadStream(TEMPLATE).on('error', () => tar.kill()).pipe(tar.stdin);
    });
    if (unpacked && existsSync(path.join(dir, 'PG_VERSION'))) return;
    // An unreadable template (or no tar) is no reason not to start: fall through to a plain initdb.
    rmSync(dir, { recursive: true, force: true });
  }
  const engine = await PGlite.create(dir, ENGINE_OPTIONS);
  try {
    const dump = Buffer.from(await (await engine.dumpDataDir('gzip')).arrayBuffer());
    mkdirSync(path.dirname(TEMPLATE), { recursive: true });
    const partial = `${TEMPLATE}.${process.pid}.partial`;
    writeFileSync(partial, dump);
    renameSync(partial, TEMPLATE);
  } catch {
    // The template is only a speed-up.
  } finally {
    await engine.close();
  }
}
