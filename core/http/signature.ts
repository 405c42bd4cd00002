import { createHmac, timingSafeEqual } from 'node:crypto';

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
