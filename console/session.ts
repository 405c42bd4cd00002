import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../core/config/secret.ts';

// A console session is "<expiry>.<signature>", signed with the admin token that logged in. Nothing is stored: any
// process that accepts the token accepts the session, and changing the token ends every session.

export const SESSION_COOKIE = 'vigil_console';

const sign = (token: Secret, expiresAt: number) => createHmac('sha256', token.reveal()).update(`vigil-console-session:${expiresAt}`).digest('base64url');

export function createSession(token: Secret, now: number, ttlMs: number): string {
  const expiresAt = now + ttlMs;
  return `${expiresAt}.${sign(token, expiresAt)}`;
}

/** Whether a cookie value is a session signed by one of `tokens` that has not expired. */
export function validSession(value: string | undefined, tokens: readonly Secret[], now: number): boolean {
  const [expiry, signature] = (value ?? '').split('.');
  const expiresAt = Number(expiry);
  if (!signature || !Number.isSafeInteger(expiresAt) || expiresAt <= now) return false;
  const given = Buffer.from(signature);
  return tokens.some((token) => {
    const expected = Buffer.from(sign(token, expiresAt));
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
