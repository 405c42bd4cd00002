import { Histogram, type Registry } from 'prom-client';
import type { Db, Queryable, Row } from './types.ts';

/** The same store, with every statement (inside transactions too) timed into `vigil_db_query_duration_seconds`. */
export function instrumentDb<D extends Db>(db: D, registry: Registry): D {
  const duration = new Histogram({
    name: 'vigil_db_query_duration_seconds',
    help: 'Time of each database statement, by outcome (ok, error); the rate of its count is the query rate.',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const timed = (target: Queryable): Queryable['query'] =>
    async <R extends object = Row>(sql: string, params?: unknown[]) => {
      const end = duration.startTimer();
      try {
        const rows = await target.query<R>(sql, params);
        end({ outcome: 'ok' });
        return rows;
      } catch (error) {
        end({ outcome: 'error' });
        throw error;
      }
    };
  // Everything else (getters included, like the embedded store's current engine) is read through from `db`.
  const instrumented: Pick<Db, 'query' | 'transaction'> = {
    query: timed(db),
    transaction: (work) => db.transaction((tx) => work({ query: timed(tx) })),
  };
  return Object.assign(Object.create(db) as D, instrumented);
}
