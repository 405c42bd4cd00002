import type { CoreConfig } from '../config/schema.ts';
import type { EmbeddedDb } from './pglite.ts';
import { openPostgresDb } from './postgres.ts';
import type { Db } from './types.ts';

export type { Db, Listening, Migration, Queryable, Row } from './types.ts';
export { DataDirLockedError } from './lock.ts';
export { migrate } from './migrations.ts';
export { coreMigrations, recordReadinessWrite } from './store.ts';
export type { EmbeddedDb } from './pglite.ts';
export { openPostgresDb, type PostgresDb } from './postgres.ts';

/** Opens (creating if needed) the embedded database in `dataDir`. PGlite is loaded here, on first use: a process on
 * PostgreSQL does not load it. */
export async function openEmbeddedDb(dataDir: string): Promise<EmbeddedDb> {
  const { openEmbeddedDb: open } = await import('./pglite.ts');
  return open(dataDir);
}

/** PostgreSQL when database.url (DATABASE_URL) is set, else PGlite in database.dataDir. */
export function openDb(config: CoreConfig['database'], applicationName = 'vigil'): Promise<Db> {
  return config.url
    ? openPostgresDb(config.url.reveal(), { poolSize: config.poolSize, applicationName })
    : openEmbeddedDb(config.dataDir);
}
