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
  /**
   * Calls `onNotify` with the payload of every NOTIFY on `channel` (sent with pg_notify in a transaction: on commit),
   * from any process on the database. Best effort: a connection lost is made again, and what was sent meanwhile is lost.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<Listening>;
  close(): Promise<void>;
}

export interface Listening {
  close(): Promise<void>;
}

export interface Migration {
  /** Unique and stable forever, e.g. "processing/001_videos". Applied in the order given. */
  id: string;
  sql: string;
}
