export type Row = Record<string, unknown>;

export interface Queryable {
  query<R extends object = Row>(sql: string, params?: unknown[]): Promise<R[]>;
}

/** The one database Vigil runs on: embedded PGlite or a PostgreSQL pool, same SQL dialect. */
export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Where the data lives, safe to log (no password). */
  readonly description: string;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Resolves when the database answers a query within the timeout; throws a readable reason otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface Migration {
  /** Unique and stable forever, e.g. "processing/001_videos". Applied in the order given. */
  id: string;
  sql: string;
}
