import { PgBoss, fromPglite } from 'pg-boss';
import type { Db, EmbeddedDb, PostgresDb } from '../db/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import { createRepeatLimiter, type RepeatLimiter } from '../telemetry/repeats.ts';
import { failureKey } from '../unavailable.ts';

export type Queue = PgBoss;

/** pg-boss on Vigil's own database: through the PGlite adapter when embedded, its own small pool on PostgreSQL. */
export async function startQueue(db: Db, logger: Logger, repeats: RepeatLimiter = createRepeatLimiter(logger)): Promise<Queue> {
  const boss =
    db.kind === 'pglite'
      ? new PgBoss({ db: fromPglite((db as EmbeddedDb).bossAdapter), backend: 'pglite', useListenNotify: true })
      : new PgBoss({ connectionString: (db as PostgresDb).connectionString, max: 4, application_name: 'vigil-queue', useListenNotify: true });
  // pg-boss retries its maintenance and polling many times a second while the database is away: one line per cause per interval.
  boss.on('error', (error) => repeats.log('error', `queue error ${failureKey(error)}`, { err: error }, 'queue error'));
  boss.on('warning', (warning) => repeats.log('warn', `queue warning ${warning.message}`, { warning }, 'queue warning'));
  await boss.start();
  return boss;
}
