import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { HttpServer } from '../core/http/server.ts';
import type { ProcessingConfig } from './config.ts';
import { usedBytesToday } from './keys.ts';

type Limits = ProcessingConfig['apiLimits'];

/**
 * Requests per minute for every route of `http`: per key for requests that presented one (the scope check runs
 * first), per client address for the rest. Counted in this process; with several API processes each counts its own.
 */
export async function registerRateLimit(http: HttpServer, limits: Limits): Promise<void> {
  await http.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: 60_000,
    keyGenerator: (request) => (request.principal ? `key:${request.principal.keyId ?? 'admin token'}` : `address:${request.ip}`),
    max: (request) => (request.principal ? limits.perKey : limits.perAddress),
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`Too many requests: the limit is ${context.max} a minute; try again in ${context.after}.`), { statusCode: 429, code: 'RATE_LIMITED' }),
  });
}

export interface QuotaRefusal {
  retryAfterSeconds: number;
  message: string;
}

/** Whether a key may start an upload of `declaredBytes` now, given what it sent today and has in flight. */
export function quotaDecision(usage: { bytesToday: number; declaredBytes: number; inFlight: number }, limits: Limits, now: number): QuotaRefusal | null {
  if (usage.inFlight >= limits.concurrentUploads) {
    return { retryAfterSeconds: 5, message: `This key already has ${usage.inFlight} upload(s) in progress, its limit (processing.apiLimits.concurrentUploads).` };
  }
  if (usage.bytesToday + usage.declaredBytes > limits.bytesPerDay) {
    const nextUtcDay = Math.floor(now / 86_400_000 + 1) * 86_400_000;
    return {
      retryAfterSeconds: Math.max(1, Math.ceil((nextUtcDay - now) / 1000)),
      message: `This upload would take the key past its quota of ${limits.bytesPerDay} bytes a day (${usage.bytesToday} used today; processing.apiLimits.bytesPerDay).`,
    };
  }
  return null;
}

const HELD = Symbol('vigil.uploadSlot');
type HoldingRequest = FastifyRequest & { [HELD]?: string };

export type UploadQuota = ReturnType<typeof uploadQuota>;

/** Route hooks for uploads: `admit` (onRequest, before the body) refuses over quota with 429 and Retry-After; `release` frees the slot. */
export function uploadQuota(deps: { db: Db; clock: Clock; limits: Limits }) {
  const inFlight = new Map<string, number>();
  const release = async (request: FastifyRequest) => {
    const keyId = (request as HoldingRequest)[HELD];
    if (keyId === undefined) return;
    delete (request as HoldingRequest)[HELD];
    const left = (inFlight.get(keyId) ?? 1) - 1;
    if (left > 0) inFlight.set(keyId, left);
    else inFlight.delete(keyId);
  };
  return {
    async admit(request: FastifyRequest, reply: FastifyReply) {
      const keyId = request.principal?.keyId;
      if (!keyId) return;
      const usage = {
        bytesToday: await usedBytesToday(deps.db, keyId, deps.clock.date()),
        declaredBytes: Number(request.headers['content-length'] ?? 0) || 0,
        inFlight: inFlight.get(keyId) ?? 0,
      };
      const refusal = quotaDecision(usage, deps.limits, deps.clock.now());
      if (refusal) {
        return reply.status(429).header('retry-after', refusal.retryAfterSeconds).send({ error: { code: 'QUOTA_EXCEEDED', message: refusal.message } });
      }
      inFlight.set(keyId, usage.inFlight + 1);
      (request as HoldingRequest)[HELD] = keyId;
    },
    release,
  };
}
