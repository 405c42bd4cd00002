import { createHmac, timingSafeEqual } from 'node:crypto';
import { fetch } from 'undici';

/**
 * The signature Vigil puts on every HTTP POST it pushes (alert webhooks, processing events):
 * `X-Vigil-Signature: t=<ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The timestamp inside the signed text lets a
 * receiver refuse replays of an old body.
 */
export const SIGNATURE_HEADER = 'x-vigil-signature';

export function signBody(secret: string, timestampMs: number, body: string): string {
  const signature = createHmac('sha256', secret).update(`${timestampMs}.${body}`).digest('hex');
  return `t=${timestampMs},v1=${signature}`;
}

/** Whether `header` signs `body` with `secret` at a time within `toleranceMs` of `now`: what a receiver checks. */
export function verifySignedBody(secret: string, header: string, body: string, now: number, toleranceMs = 5 * 60_000): boolean {
  const fields = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const timestamp = Number(fields.get('t'));
  const given = Buffer.from(fields.get('v1') ?? '', 'hex');
  if (!Number.isFinite(timestamp) || Math.abs(now - timestamp) > toleranceMs) return false;
  const expected = Buffer.from(signBody(secret, timestamp, body).split('v1=')[1]!, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * One signed JSON POST with an `Idempotency-Key` (the receiver drops a copy by it), answered within `timeout`. Rejects
 * when no answer came (refused, reset, timed out: the request may have arrived); the caller decides what an answer means.
 */
export async function postSigned(
  target: { url: string; secret: string; timeout: number },
  request: { body: string; idempotencyKey: string; now: number },
): Promise<{ ok: boolean; status: number; retryAfter: string | null }> {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': request.idempotencyKey, [SIGNATURE_HEADER]: signBody(target.secret, request.now, request.body) },
    body: request.body,
    signal: AbortSignal.timeout(target.timeout),
  });
  await response.body?.cancel();
  return { ok: response.ok, status: response.status, retryAfter: response.headers.get('retry-after') };
}
