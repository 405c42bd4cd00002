import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { HttpServer } from '../core/http/server.ts';
import { armAndReadHeartbeat, upsertHeartbeat, type HeartbeatEvent, type HeartbeatRecord } from './store.ts';

// Tokens are stored hashed: a database dump does not let anyone push heartbeats.
const tokenKey = (token: string) => createHash('sha256').update(token).digest('hex');

export async function recordHeartbeat(db: Db, token: string, event: HeartbeatEvent, at: number, message?: string): Promise<void> {
  await upsertHeartbeat(db, tokenKey(token), event, at, event === 'fail' ? (message ?? '').slice(0, 500) : null);
}

/** The token's record, created (armed now) on first sight so silence is measured from when the probe began watching. */
export function readHeartbeat(db: Db, token: string, now: number): Promise<HeartbeatRecord> {
  return armAndReadHeartbeat(db, tokenKey(token), now);
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
  // GET too (and HEAD, which Fastify answers for every GET route), for jobs that can only fetch a URL.
  for (const method of ['post', 'get'] as const) {
    http[method]('/api/v1/heartbeats/:token', handle('ping'));
    http[method]('/api/v1/heartbeats/:token/start', handle('start'));
    http[method]('/api/v1/heartbeats/:token/fail', handle('fail'));
  }
}
