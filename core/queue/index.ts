import { PgBoss, fromPglite } from 'pg-boss';
import type { Db, EmbeddedDb, PostgresDb, Queryable } from '../db/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import { createRepeatLimiter, type RepeatLimiter } from '../telemetry/repeats.ts';
import { failureKey } from '../unavailable.ts';

export type Queue = PgBoss;

/** How often pg-boss looks for jobs whose claim lapsed. */
export const SUPERVISE_SECONDS = 10;

/** pg-boss on Vigil's own database: through the PGlite adapter when embedded, its own small pool on PostgreSQL. */
export async function startQueue(db: Db, logger: Logger, repeats: RepeatLimiter = createRepeatLimiter(logger)): Promise<Queue> {
  // Lapsed claims (expiry, missed heartbeats) are found by the supervisor's monitor pass, and workers read the backlog
  // (to fetch without pausing while work is queued) from the stats cache: both every 10 s rather than the default
  // minute, so a dead worker's job is handed on well within a minute and a backlog is seen soon.
  const supervision = {
    superviseIntervalSeconds: SUPERVISE_SECONDS,
    monitorIntervalSeconds: SUPERVISE_SECONDS,
    queueCacheIntervalSeconds: SUPERVISE_SECONDS,
    useListenNotify: true,
  };
  const boss =
    db.kind === 'pglite'
      ? new PgBoss({ db: fromPglite((db as EmbeddedDb).bossAdapter), backend: 'pglite', ...supervision })
      : new PgBoss({ connectionString: (db as PostgresDb).connectionString, max: 4, application_name: 'vigil-queue', ...supervision });
  // pg-boss retries its maintenance and polling many times a second while the database is away: one line per cause per interval.
  boss.on('error', (error) => repeats.log('error', `queue error ${failureKey(error)}`, { err: error }, 'queue error'));
  boss.on('warning', (warning) => repeats.log('warn', `queue warning ${warning.message}`, { warning }, 'queue warning'));
  await boss.start();
  return boss;
}

/** pg-boss statements that run inside one of our transactions, so a job is created if and only if the transaction commits. */
export function inTransaction(tx: Queryable) {
  return { db: { executeSql: async (text: string, values?: unknown[]) => ({ rows: await tx.query(text, values) }) } };
}
