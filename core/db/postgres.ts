import pg from 'pg';
import { redactUrl } from '../config/secret.ts';
import { rethrowAsUnavailable } from '../unavailable.ts';
import { withTimeout } from './timeout.ts';
import type { Db, Queryable, Row } from './types.ts';

/** Wait before a lost LISTEN connection is made again. */
const RELISTEN_MS = 2000;

export interface PostgresDb extends Db {
  readonly kind: 'postgres';
  readonly connectionString: string;
}

export async function openPostgresDb(connectionString: string, options: { poolSize?: number; applicationName?: string } = {}): Promise<PostgresDb> {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    application_name: options.applicationName ?? 'vigil',
  });
  // An idle client that loses its server emits here; without a listener the process would crash.
  pool.on('error', () => {});
  const description = `PostgreSQL at ${redactUrl(connectionString)}`;
  const unavailable = rethrowAsUnavailable('database');
  const query = async <R extends object = Row>(sql: string, params?: unknown[]): Promise<R[]> =>
    (await pool.query<R>(sql, params as unknown[]).catch(unavailable)).rows;
  try {
    await query('select 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw new Error(`Could not connect to ${description}: ${(error as Error).message}`, { cause: error });
  }
  return {
    kind: 'postgres',
    description,
    connectionString,
    query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect().catch(unavailable);
      try {
        await client.query('begin').catch(unavailable);
        const result = await fn({
          query: async <R extends object = Row>(sql: string, params?: unknown[]) => (await client.query<R>(sql, params as unknown[]).catch(unavailable)).rows,
        });
        await client.query('commit').catch(unavailable);
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(query('select 1'), timeoutMs, `${description} did not answer`);
    },
    async listen(channel, onNotify) {
      // A connection of its own (a pooled one would be handed to others, and its LISTEN with it), made again when lost.
      let closed = false;
      let client: pg.Client | undefined;
      let retry: NodeJS.Timeout | undefined;
      const connect = () => {
        if (closed) return;
        const next = new pg.Client({ connectionString, connectionTimeoutMillis: 5000, application_name: `${options.applicationName ?? 'vigil'}-listen` });
        let gone = false;
        const lost = () => {
          if (gone) return;
          gone = true;
          void next.end().catch(() => {});
          if (!closed) retry = setTimeout(connect, RELISTEN_MS);
        };
        next.on('error', lost);
        next.on('end', lost);
        next.on('notification', (message) => {
          if (message.channel === channel) onNotify(message.payload ?? '');
        });
        client = next;
        next.connect().then(() => next.query(`listen ${pg.escapeIdentifier(channel)}`)).catch(lost);
      };
      connect();
      return {
        async close() {
          closed = true;
          clearTimeout(retry);
          await client?.end().catch(() => {});
        },
      };
    },
    async close() {
      await pool.end();
    },
  };
}
