import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { HttpServer } from '../core/http/server.ts';

export type HeartbeatEvent = 'ping' | 'start' | 'fail';

export interface HeartbeatRecord {
  armedAt: number;
  lastPing: number | null;
  lastStart: number | null;
  lastFail: number | null;
  failMessage: string | null;
}

// Tokens are stored hashed: a database dump does not let anyone push heartbeats.
const tokenKey = (token: string) => createHash('sha256').update(token).digest('hex');

const COLUMN: Record<HeartbeatEvent, string> = { ping: 'last_ping', start: 'last_start', fail: 'last_fail' };

export async function recordHeartbeat(db: Db, token: string, event: HeartbeatEvent, at: number, message?: string): Promise<void> {
  await db.query(
    `insert into probes_heartbeats (token, armed_at, ${COLUMN[event]}, fail_message) values ($1, $2, $2, $3)
     on conflict (token) do update set ${COLUMN[event]} = $2, fail_message = coalesce($3, probes_heartbeats.fail_message)`,
    [tokenKey(token), at, event === 'fail' ? (message ?? '').slice(0, 500) : null],
  );
}

/** The token's record, created (armed now) on first sight so silence is measured from when the probe began watching. */
export async function readHeartbeat(db: Db, token: string, now: number): Promise<HeartbeatRecord> {
  const key = tokenKey(token);
  await db.query('insert into probes_heartbeats (token, armed_at) values ($1, $2) on conflict (token) do nothing', [key, now]);
  const [row] = await db.query<{ armed_at: string; last_ping: string | null; last_start: string | null; last_fail: string | null; fail_message: string | null }>(
    'select armed_at, last_ping, last_start, last_fail, fail_message from probes_heartbeats where token = $1',
    [key],
  );
  const time = (value: string | null | undefined) => (value === null || value === undefined ? null : Number(value));
  return { armedAt: Number(row!.armed_at), lastPing: time(row?.last_ping), lastStart: time(row?.last_start), lastFail: time(row?.last_fail), failMessage: row?.fail_message ?? null };
}

/** POST /api/v1/heartbeats/:token, /:token/start and /:token/fail for the tokens of configured heartbeat probes. */
export function registerHeartbeatRoutes(http: HttpServer, options: { db: Db; clock: Clock; tokens: ReadonlySet<string> }): void {
  const handle = (event: HeartbeatEvent) => async (request: { params: unknown; body: unknown }, reply: { status(code: number): { send(body: unknown): unknown } }) => {
    const { token } = request.params as { token: string };
    if (!options.tokens.has(token)) {
      return reply.status(404).send({ error: { code: 'UNKNOWN_HEARTBEAT', message: 'No heartbeat probe has this token; check the URL against the heartbeat probe in vigil.config.ts.' } });
    }
    const message = typeof request.body === 'string' ? request.body : request.body ? JSON.stringify(request.body) : undefined;
    await recordHeartbeat(options.db, token, event, options.clock.now(), message);
    return reply.status(200).send({ status: 'ok', event });
  };
  http.post('/api/v1/heartbeats/:token', handle('ping'));
  http.post('/api/v1/heartbeats/:token/start', handle('start'));
  http.post('/api/v1/heartbeats/:token/fail', handle('fail'));
}
