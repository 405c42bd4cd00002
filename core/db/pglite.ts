import { existsSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { PGliteLike } from 'pg-boss';
import { acquireDataDirLock } from './lock.ts';
import type { Db, Queryable, Row } from './types.ts';
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
  const release = acquireDataDirLock(root);
  let engine: PGlite;
  try {
    engine = await PGlite.create(pgDir);
  } catch (error) {
    release();
    throw new Error(`Could not open the embedded database in ${pgDir}: ${(error as Error).message}`, { cause: error });
  }
  let reopening: Promise<PGlite> | undefined;
  let closing = false;

  // If the engine was closed underneath us (crash, or the volume went away and came back), open it again
  // on the same directory, but never create a fresh, empty database in place of a missing one.
  const current = async (): Promise<PGlite> => {
    if (!engine.closed) return engine;
    if (closing) throw new Error('the embedded database is closed');
    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) throw new Error(`the embedded database directory ${pgDir} is missing`);
    reopening ??= PGlite.create(pgDir).finally(() => (reopening = undefined));
    engine = await reopening;
    return engine;
  };

  const query = async <R extends object = Row>(sql: string, params?: unknown[]): Promise<R[]> =>
    (await (await current()).query<R>(sql, params)).rows;

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
        fn({ query: async <R extends object = Row>(sql: string, params?: unknown[]) => (await tx.query<R>(sql, params)).rows }),
      );
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(query('select 1'), timeoutMs, 'the embedded database did not answer');
    },
    async close() {
      closing = true;
      try {
        if (!engine.closed) await engine.close();
      } finally {
        release();
      }
    },
    bossAdapter: {
      query: async (sql, params) => (await current()).query(sql, params),
      exec: async (sql) => (await current()).exec(sql),
      listen: async (channel, callback) => (await current()).listen(channel, callback),
    },
  };
}

