// Subscriptions: requests confirmed by email (double opt-in), one-click unsubscribe, and the rate limits on requests.
// Links carry signed tokens: a confirmation token expires and is stored only as a SHA-256; an unsubscribe token and a
// webhook's secret are derived from the subscriber's id, so nothing secret is stored at all.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db, Queryable } from '../core/db/index.ts';
import {
  confirmSubscription,
  dropPendingDeliveries,
  endSubscriber,
  ensureSubscriber,
  insertSubscriptionRequest,
  loadSigningSecret,
  requestTimes,
  type DeliveryMessage,
  type Subscriber,
} from './store.ts';

export interface SubscriptionSigner {
  /** Unique per installation (Message-IDs); not secret. */
  readonly installation: string;
  confirmationToken(expiresAt: number): { token: string; hash: string };
  /** The stored hash of a confirmation token this Vigil signed that has not expired; undefined for any other. */
  confirmationHash(token: string, now: number): string | undefined;
  unsubscribeToken(subscriberId: number): string;
  subscriberOfUnsubscribeToken(token: string): number | undefined;
  webhookSecret(subscriberId: number): string;
  /** Client addresses are counted for the rate limits, not kept. */
  clientHash(address: string): string;
}

export async function loadSubscriptionSigner(db: Queryable): Promise<SubscriptionSigner> {
  const secret = await loadSigningSecret(db, randomBytes(32).toString('base64url'));
  const mac = (purpose: string, ...parts: string[]) => createHmac('sha256', secret).update([purpose, ...parts].join('\n')).digest('base64url');
  const matches = (given: string, expected: string) => given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  return {
    installation: sha256(`installation\n${secret}`).slice(0, 16),
    confirmationToken(expiresAt) {
      const nonce = randomBytes(18).toString('base64url');
      const expires = String(Math.ceil(expiresAt / 1000));
      const token = `${nonce}.${expires}.${mac('confirm', nonce, expires)}`;
      return { token, hash: sha256(token) };
    },
    confirmationHash(token, now) {
      const [nonce = '', expires = '', signature = ''] = token.split('.');
      if (!/^\d{1,12}$/.test(expires) || !matches(signature, mac('confirm', nonce, expires)) || Number(expires) * 1000 <= now) return undefined;
      return sha256(token);
    },
    unsubscribeToken: (subscriberId) => `${subscriberId}.${mac('unsubscribe', String(subscriberId))}`,
    subscriberOfUnsubscribeToken(token) {
      const [id = '', signature = ''] = token.split('.');
      return /^\d{1,10}$/.test(id) && matches(signature, mac('unsubscribe', id)) ? Number(id) : undefined;
    },
    webhookSecret: (subscriberId) => `whsec_${mac('webhook', String(subscriberId))}`,
    clientHash: (address) => mac('client', address),
  };
}

/** Seconds until one more request fits when at most `limit` may be made within `window` (`times`: those made in it, oldest first); 0: now. */
export function retryAfterSeconds(times: readonly number[], limit: number, window: number, now: number): number {
  if (times.length < limit) return 0;
  return Math.max(1, Math.ceil((times[times.length - limit]! + window - now) / 1000));
}

const LIMIT_WINDOW = 3_600_000;

export interface SubscriptionRequest {
  email: string;
  /** Component ids; null: every component. */
  components: string[] | null;
  /** An https URL: the subscription is this webhook's, confirmed by `email`. */
  webhookUrl?: string;
  /** A one-shot subscription to this open incident's resolution. */
  incident?: { id: number; name: string };
}

export interface SubscriptionDeps {
  db: Db;
  signer: SubscriptionSigner;
  limits: { perClient: number; perAddress: number; confirmWithin: number };
  /** Records a message inside the request's transaction; it is sent once the transaction commits. */
  enqueue(q: Queryable, delivery: { key: string; subscriberId: number; message: DeliveryMessage }): Promise<void>;
}

/**
 * Records a request and queues its confirmation email; over a rate limit, the seconds to wait instead. Whether the
 * address was subscribed already changes nothing in the answer: either way one confirmation email goes out.
 */
export async function requestSubscription(
  deps: SubscriptionDeps,
  request: SubscriptionRequest,
  client: string,
  now: number,
  /** The confirmation email, whose links carry the token and the subscriber's id. */
  confirmation: (link: { subscriberId: number; token: string; key: string }) => DeliveryMessage,
): Promise<{ retryAfter: number }> {
  const address = request.email.trim().toLowerCase();
  const clientHash = deps.signer.clientHash(client);
  return deps.db.transaction(async (q) => {
    const since = new Date(now - LIMIT_WINDOW);
    const times = async (by: { address: string } | { clientHash: string }) => (await requestTimes(q, by, since)).map((time) => time.getTime());
    const retryAfter = Math.max(
      retryAfterSeconds(await times({ clientHash }), deps.limits.perClient, LIMIT_WINDOW, now),
      retryAfterSeconds(await times({ address }), deps.limits.perAddress, LIMIT_WINDOW, now),
    );
    if (retryAfter > 0) return { retryAfter };
    const subscriberId = await ensureSubscriber(q, {
      channel: request.webhookUrl ? 'webhook' : 'email',
      address: request.webhookUrl ?? address,
      contact: request.webhookUrl ? address : null,
      incidentId: request.incident?.id ?? null,
      now: new Date(now),
    });
    const { token, hash } = deps.signer.confirmationToken(now + deps.limits.confirmWithin);
    await insertSubscriptionRequest(q, { tokenHash: hash, subscriberId, components: request.components, address, clientHash, now: new Date(now), expiresAt: new Date(now + deps.limits.confirmWithin) });
    const key = `confirm:${hash.slice(0, 32)}`;
    await deps.enqueue(q, { key, subscriberId, message: confirmation({ subscriberId, token, key }) });
    return { retryAfter: 0 };
  });
}

/** Applies a confirmation link's request once; the subscriber, or undefined for a link that is unknown, used or expired. */
export async function confirmRequest(db: Db, signer: SubscriptionSigner, token: string, now: number): Promise<Subscriber | undefined> {
  const hash = signer.confirmationHash(token, now);
  if (hash === undefined) return undefined;
  return db.transaction((q) => confirmSubscription(q, hash, new Date(now)));
}

/** Ends the subscription a link names, and whatever was still to be sent to it; false for a link this Vigil did not sign. */
export async function unsubscribe(db: Db, signer: SubscriptionSigner, token: string, now: number): Promise<boolean> {
  const id = signer.subscriberOfUnsubscribeToken(token);
  if (id === undefined) return false;
  await db.transaction(async (q) => {
    await endSubscriber(q, id, 'unsubscribed', new Date(now));
    await dropPendingDeliveries(q, id, new Date(now));
  });
  return true;
}
