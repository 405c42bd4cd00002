import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { duration } from '../core/config/duration.ts';
import { secret } from '../core/config/secret.ts';
import type { Db, Queryable } from '../core/db/index.ts';
import { postSigned } from '../core/http/signature.ts';
import type { Component } from '../core/lifecycle/module.ts';
import { createOutbox, DeliveryError, httpDeliveryError, type OutboxAdapter, type OutboxRow } from '../core/outbox.ts';
import type { Logger } from '../core/telemetry/index.ts';
import type { ProcessingMetrics } from './metrics.ts';
import * as store from './store.ts';

/** What the platform's application hears about a video, pushed as signed POSTs in the order they happened. */
export const EVENT_TYPES = ['video.created', 'video.processing', 'video.warning', 'video.ready', 'video.failed', 'video.deleted'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const endpoint = z
  .strictObject({
    /** Names the endpoint in metrics and the admin API; default the URL's host. */
    name: z.string().regex(/^[a-zA-Z0-9_.:-]{1,64}$/).optional(),
    url: z.url(),
    secret: secret(),
    /** Only these types (default all). */
    types: z.array(z.enum(EVENT_TYPES)).min(1).optional(),
    timeout: duration().default(10_000),
  })
  .transform((given) => ({ ...given, name: given.name ?? new URL(given.url).host }));

/** The endpoint name under which per-upload callbacks are delivered, counted and listed. */
export const CALLBACK_ENDPOINT = 'callback';

const hostname = z
  .string()
  .regex(/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/, 'a host name, lower case, without scheme, port or path (e.g. "hooks.example.com")');

export const eventsConfigShape = {
  /** Endpoints of the platform's application that get every state change of every video as a signed event. */
  events: z
    .array(endpoint)
    .default([])
    .refine((endpoints) => new Set(endpoints.map((candidate) => candidate.name)).size === endpoints.length, 'two event endpoints have the same name: give them names')
    .refine((endpoints) => endpoints.every((candidate) => candidate.name !== CALLBACK_ENDPOINT), `"${CALLBACK_ENDPOINT}" names the per-upload callbacks: give the endpoint another name`),
  /** An upload's `callbackUrl` field: where that video's events go too, signed with `secret`, only to these hosts. */
  eventCallbacks: z
    .strictObject({
      allowedHosts: z.array(hostname).default([]),
      secret: secret().optional(),
      timeout: duration().default(10_000),
    })
    .prefault({})
    .refine((callbacks) => callbacks.allowedHosts.length === 0 || callbacks.secret !== undefined, { message: 'callbacks need a secret to sign with', path: ['secret'] }),
  eventDelivery: z
    .strictObject({
      /** First retry delay after a failed POST; doubled (with jitter) up to retryMax. */
      retryInitial: duration().default(10_000),
      retryMax: duration().default(3_600_000),
      /** An event still undelivered this long after it happened is given up (counted as failed). */
      maxAge: duration().refine((ms) => ms >= 24 * 3_600_000, 'events are retried for at least 24h').default(25 * 3_600_000),
    })
    .prefault({}),
};

export type EventEndpoint = z.output<typeof endpoint>;
export type EventDelivery = z.output<(typeof eventsConfigShape)['eventDelivery']>;
export type EventCallbacks = z.output<(typeof eventsConfigShape)['eventCallbacks']>;

/** Where an upload's `callbackUrl` may point: http(s) on an allowed host. Returns what is wrong with it, or null. */
export function callbackUrlProblem(given: string, callbacks: EventCallbacks): string | null {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  if (!callbacks.allowedHosts.includes(url.hostname)) {
    return callbacks.allowedHosts.length === 0 ? 'is not accepted: no callback hosts are allowed' : `names a host that is not allowed (allowed: ${callbacks.allowedHosts.join(', ')})`;
  }
  return null;
}

/** One event as the endpoint receives it (the POST body). `id` is stable across retries: receivers drop a copy by it. */
export interface VideoEvent {
  id: string;
  type: EventType;
  videoId: string;
  /** 1, 2, 3… per video, in the order the events happened. */
  sequence: number;
  createdAt: string;
  data: Record<string, unknown>;
}

/**
 * Records an event inside the transaction that makes the change it reports (so it exists if and only if the change
 * committed, and a crash loses none), with one pending delivery per endpoint that takes its type.
 */
export async function emitEvent(
  tx: Queryable,
  config: { events: readonly EventEndpoint[]; eventCallbacks: EventCallbacks },
  event: { videoId: string; type: EventType; data: Record<string, unknown>; now: Date },
): Promise<void> {
  const takers = config.events.filter((candidate) => !candidate.types || candidate.types.includes(event.type)).map((candidate) => candidate.name);
  const callback = config.eventCallbacks.secret ? CALLBACK_ENDPOINT : null;
  if (takers.length === 0 && callback === null) return;
  await store.insertEvent(tx, { id: randomUUID(), ...event, endpoints: takers, callback });
}

export interface EventDeliveryDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: ProcessingMetrics;
  endpoints: readonly EventEndpoint[];
  callbacks: EventCallbacks;
  policy: EventDelivery;
  /** How often due deliveries are looked for besides the wake-up an event written sends. */
  interval: number;
}

/** Where one endpoint's deliveries go: a configured endpoint, or the per-upload callbacks (each row names its URL). */
interface Target {
  url: string | null;
  secret: string;
  timeout: number;
}

/** A pending event as the outbox sees it: ordered per video. */
interface EventRow extends OutboxRow {
  event: store.PendingEvent;
}

/**
 * Delivers pending events through core's outbox (core/outbox.ts): one target per endpoint, each video's events strictly
 * in sequence (a later one waits while an earlier one is retried), different videos side by side. Every process running
 * this may deliver; a claim on a video's next event (kept for twice the endpoint's timeout, so it lapses soon when its
 * process dies) lets one at a time send it. At least once: a POST whose answer is lost, or whose process died, is sent
 * again with the same event id.
 */
export function createEventDelivery(deps: EventDeliveryDeps): Component & { deliverDue(): Promise<void> } {
  const { db, clock } = deps;
  const targets = new Map<string, Target>(deps.endpoints.map((candidate) => [candidate.name, { url: candidate.url, secret: candidate.secret.reveal(), timeout: candidate.timeout }]));
  if (deps.callbacks.secret) targets.set(CALLBACK_ENDPOINT, { url: null, secret: deps.callbacks.secret.reveal(), timeout: deps.callbacks.timeout });
  const names = [...targets.keys()];

  const adapter: OutboxAdapter<EventRow, undefined> = {
    targets: async () => names,
    async due(name, now) {
      const heads = await store.claimEventHeads(db, name, new Date(now), new Date(now + 2 * targets.get(name)!.timeout));
      return heads.map((event) => ({ target: name, orderingKey: event.videoId, attempts: event.attempts, createdAt: event.createdAt.getTime(), event }));
    },
    async send(name, [row]) {
      const { event: pending } = row!;
      const target = targets.get(name)!;
      const event: VideoEvent = { id: pending.id, type: pending.type as EventType, videoId: pending.videoId, sequence: pending.sequence, createdAt: pending.createdAt.toISOString(), data: pending.data };
      let answer: Awaited<ReturnType<typeof postSigned>>;
      try {
        answer = await postSigned({ url: pending.url ?? target.url!, secret: target.secret, timeout: target.timeout }, { body: JSON.stringify(event), idempotencyKey: event.id, now: clock.now() });
      } catch (error) {
        throw new DeliveryError((error as Error).message, { temporary: true, inDoubt: true });
      }
      if (!answer.ok) throw httpDeliveryError(`endpoint ${name}`, answer.status, answer.retryAfter);
      return { result: undefined };
    },
    async settle(name, [row], settlement) {
      const id = row!.event.id;
      if (settlement.kind === 'delivered') await store.markEventDelivered(db, id, name, new Date(settlement.at));
      else if (settlement.kind === 'retry') await store.markEventRetry(db, id, name, new Date(settlement.at), settlement.error.message);
      else if (settlement.kind === 'failed') await store.markEventFailed(db, id, name, settlement.error.message);
    },
    describe: (name, [row]) => ({ 'video.id': row!.event.videoId, 'processing.event': row!.event.type, 'processing.event_id': row!.event.id, 'processing.endpoint': name }),
  };

  const outbox = createOutbox({
    adapter,
    span: 'processing.event',
    clock,
    logger: deps.logger,
    metrics: deps.metrics.eventDeliveries,
    policy: deps.policy,
    pollInterval: deps.interval,
    wakeOn: { db, channel: store.EVENTS_CHANNEL },
  });

  return {
    name: 'processing-events',
    async start() {
      if (names.length > 0) await outbox.start();
    },
    stop: () => outbox.stop(),
    /** Delivers what is due now and what that lets come due, then resolves. */
    async deliverDue() {
      await outbox.deliverDue();
      await outbox.idle();
    },
  };
}
