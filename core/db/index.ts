import type { CoreConfig } from '../config/schema.ts';
import { openEmbeddedDb } from './pglite.ts';
import { openPostgresDb } from './postgres.ts';
import type { Db } from './types.ts';

export type { Db, Listening, Migration, Queryable, Row } from './types.ts';
export { DataDirLockedError } from './lock.ts';
export { migrate } from './migrations.ts';
export { coreMigrations, recordReadinessWrite } from './store.ts';
export { openEmbeddedDb, type EmbeddedDb } from './pglite.ts';
export { openPostgresDb, type PostgresDb } from './postgres.ts';

/** PostgreSQL when database.url (DATABASE_URL) is set, else PGlite in database.dataDir. */
export function openDb(config: CoreConfig['database'], applicationName = 'vigil'): Promise<Db> {
  return config.url
    ? openPostgresDb(config.url.reveal(), { poolSize: config.poolSize, applicationName })
    : openEmbeddedDb(config.dataDir);
}
