import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../core/config/secret.ts';

// Acknowledge and silence links in messages: the action, the incident and an expiry, signed with a key derived from
// the admin token, so a link works without logging in, only for what it says, and not for ever.

export type LinkAction = 'ack' | 'silence';

export interface ActionLink {
  action: LinkAction;
  incidentId: number;
  expiresAt: number;
}

const keyOf = (secret: string) => createHmac('sha256', 'vigil alert action links').update(secret).digest();
const sign = (secret: string, payload: string) => createHmac('sha256', keyOf(secret)).update(payload).digest('base64url');

export function signActionLink(secret: string, link: ActionLink): string {
  const payload = Buffer.from(JSON.stringify([link.action, link.incidentId, link.expiresAt])).toString('base64url');
  return `${payload}.${sign(secret, payload)}`;
}

/** The link's action, or why it cannot be used (a sentence for the page). */
export function verifyActionLink(secret: string, token: string, now: number): ActionLink | { problem: string; expired?: true } {
  const [payload, signature, ...rest] = token.split('.');
  const expected = payload ? sign(secret, payload) : '';
  if (!payload || !signature || rest.length > 0 || signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
    return { problem: 'This link is not valid. Open the incident from the alerts console instead.' };
  }
  const [action, incidentId, expiresAt] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [LinkAction, number, number];
  if (now >= expiresAt) return { problem: 'This link has expired. Open the incident from the alerts console instead.', expired: true };
  return { action, incidentId, expiresAt };
}

const LINK_TTL = 24 * 3_600_000;

/** The acknowledge and silence links for an incident's messages (none without an admin token to sign them with). */
export function actionLinks(publicUrl: string, adminToken: Secret | undefined, incidentId: number, now: number): { acknowledge?: string; silence?: string } {
  if (!adminToken) return {};
  const url = (action: LinkAction) => `${publicUrl.replace(/\/$/, '')}/alerts/actions/${signActionLink(adminToken.reveal(), { action, incidentId, expiresAt: now + LINK_TTL })}`;
  return { acknowledge: url('ack'), silence: url('silence') };
}
