import { PgBoss, fromPglite, type Job } from 'pg-boss';
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

type WorkOptions = Omit<NonNullable<Parameters<Queue['work']>[1]>, 'localConcurrency' | 'batchSize'>;

/**
 * `concurrency` pg-boss workers on `name`, each fetching one job at a time; resolves with their ids (for offWork and
 * notifyWorker). A worker fetches again as soon as it has handled a job, as NOTIFY would have it: NOTIFYs that came
 * while it was busy wake it once, however many jobs they announced, and pg-boss's own way to keep fetching (a backlog
 * in its queue statistics, read every 10 s) misses a burst sent in between, which then waited for the poll.
 */
export async function workEach<T extends object>(queue: Queue, name: string, options: WorkOptions, concurrency: number, handler: (job: Job<T>) => Promise<unknown>): Promise<string[]> {
  const ids: string[] = [];
  for (let slot = 0; slot < concurrency; slot++) {
    // Known once work() returns, which is before its first fetch can have handed a job over.
    const worker: { id?: string } = {};
    worker.id = await queue.work<T>(name, { ...options, localConcurrency: 1, batchSize: 1 }, async ([job]) => {
      try {
        return await handler(job!);
      } finally {
        if (worker.id) queue.notifyWorker(worker.id);
      }
    });
    ids.push(worker.id);
  }
  return ids;
}

/** pg-boss statements that run inside one of our transactions, so a job is created if and only if the transaction commits. */
export function inTransaction(tx: Queryable) {
  return { db: { executeSql: async (text: string, values?: unknown[]) => ({ rows: await tx.query(text, values) }) } };
}
