import { PgBoss, fromPglite } from 'pg-boss';
import type { Db, EmbeddedDb, PostgresDb } from '../db/index.ts';
import type { Logger } from '../telemetry/logger.ts';

export type Queue = PgBoss;

/** pg-boss on Vigil's own database: through the PGlite adapter when embedded, its own small pool on PostgreSQL. */
export async function startQueue(db: Db, logger: Logger): Promise<Queue> {
  const boss =
    db.kind === 'pglite'
      ? new PgBoss({ db: fromPglite((db as EmbeddedDb).bossAdapter), backend: 'pglite', useListenNotify: true })
      : new PgBoss({ connectionString: (db as PostgresDb).connectionString, max: 4, application_name: 'vigil-queue', useListenNotify: true });
  boss.on('error', (error) => logger.error({ err: error }, 'queue error'));
  boss.on('warning', (warning) => logger.warn({ warning }, 'queue warning'));
  await boss.start();
  return boss;
}
