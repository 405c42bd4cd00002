import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import type { CoreConfig } from '../../core/config/index.ts';
import type { Db, Queryable } from '../../core/db/index.ts';
import { DeliveryError } from '../../core/outbox.ts';
import type { Logger } from '../../core/telemetry/logger.ts';
import type { AlertsMetrics } from '../metrics.ts';
import type { IncidentLinks } from '../messages.ts';
import type { Incident, NotificationEvent } from '../types.ts';

/**
 * A kind of receiver: its config (`type` plus its own fields), how it is built, and what makes it unable to work.
 * Every file under receivers/ exports one, listed once in receivers/index.ts; the config union and the constructors
 * exported from 'vigil' are derived from that list. A receiver in another module is one such file plus one line there.
 */
export interface ReceiverType<Type extends string = string, Shape extends z.ZodRawShape = z.ZodRawShape, Name extends string = string> {
  type: Type;
  /** The name vigil.config.ts calls, e.g. `emailReceiver`. */
  constructorName: Name;
  /** The receiver's fields, besides `type`. */
  options: Shape;
  create(name: string, settings: z.output<z.ZodObject<Shape>>, context: ReceiverContext): Receiver;
  /** Reaches people directly: while the store is unreachable it gets the out-of-band alerts when no receiver is marked `outOfBand`. */
  outOfBandByDefault?: boolean;
  /** Why this receiver cannot deliver with this configuration (missing SMTP, no Slack token): a start-up warning and a `vigil validate` error. */
  problems?(settings: z.output<z.ZodObject<Shape>>, config: SharedConfig): string[];
}

export function defineReceiver<const Type extends string, Shape extends z.ZodRawShape, const Name extends string>(receiver: ReceiverType<Type, Shape, Name>){
  return {
    ...receiver,
    // outOfBand: this receiver gets the alerts raised from memory while the store is unreachable.
    schema: z.strictObject({ type: z.literal(receiver.type), outOfBand: z.boolean().optional(), ...receiver.options }),
    /** `create` for settings the registry has matched to this type by their `type` field. */
    createMatched: (name: string, settings: object, context: ReceiverContext) => receiver.create(name, settings as z.output<z.ZodObject<Shape>>, context),
    problemsMatched: (settings: object, config: SharedConfig) => receiver.problems?.(settings as z.output<z.ZodObject<Shape>>, config) ?? [],
  };
}

/** A receiver's `create` that hands each incident of a notification to `record` (the status page takes its own notices):
 * it acts on what changes the public side, never on reminders. */
export function recordingEachIncident(record: (db: Db, notice: { event: NotificationEvent; incident: Incident }, now: number) => Promise<void>) {
  return (name: string, _settings: unknown, context: ReceiverContext): Receiver => ({
    name,
    events: ['warning', 'emergency', 'flapping', 'up'],
    async deliver({ event, incidents }) {
      for (const incident of incidents) await record(context.db, { event, incident }, context.clock.now());
      return undefined;
    },
  });
}

/** One message to one receiver: one event for the incidents of one group. */
export interface Delivery {
  /** The outbox's idempotency key (incident, receiver, event); receivers pass it on where the far side can dedupe. */
  key: string;
  event: NotificationEvent;
  incidents: Incident[];
  /** Per incident, what this receiver recorded for it on an earlier delivery (Slack: the message's channel and ts). */
  threads: Array<Record<string, unknown> | undefined>;
  /** Keys of the messages this receiver got earlier about the (first) incident, oldest first: email threads with them. */
  earlier: string[];
  /** What a failed earlier attempt of this same delivery had already done (from DeliveryError.progress). */
  progress: Record<string, unknown>;
  /** An earlier attempt may have arrived (the process died while sending, or the answer never came). Receivers that can
   * look (Slack) check before sending again; the others send again with the same idempotency key or Message-ID. */
  inDoubt: boolean;
}

/** What every receiver is: email, Slack, webhook, restart hook, scale hook. */
export interface Receiver {
  readonly name: string;
  /** The events this receiver acts on; the router gives it no others. */
  readonly events: readonly NotificationEvent[];
  /** How long one delivery may take before it counts as failed and in doubt (default: alerts.outbox.timeout). */
  readonly timeout?: number;
  /** Resolves with what to remember for later deliveries about these incidents; throws DeliveryError on failure. */
  deliver(delivery: Delivery): Promise<Record<string, unknown> | undefined>;
  /** Receivers whose deliveries queue work of their own (hooks): starts what is due and not running (called on every
   * delivery poll while this process holds the lease). */
  runDue?(): void;
  /** Cuts waits short and resolves when the running jobs have ended. */
  stopJobs?(): Promise<void>;
  close?(): void;
}

/** What a receiver reads besides its own section: core's settings (SMTP and Slack transports, public URL) and the alerts pacing. */
export type SharedConfig = CoreConfig & { alerts: { slackMinInterval: number } };

/** What a receiver may use besides its own config section. */
export interface ReceiverContext {
  config: SharedConfig;
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: AlertsMetrics;
  /** Runs the named probe now; true when it succeeds (restart hooks judge their fix by it). */
  verifyProbe(probe: string): Promise<{ success: boolean; reason?: string }>;
  /** True while this process holds the alerts lease: work off the delivery path (hook jobs) stops without it. */
  holdsLease(): boolean;
  /** Throws NotLeaderError unless this process holds the lease now; run inside each write transaction of work off the
   * delivery path, so a deposed leader's writes are refused (the outbox's fence). */
  fence(q: Queryable): Promise<void>;
  /** The maintenance window covering these labels now, if any. */
  maintenanceFor(labels: Record<string, string>): Promise<{ id: number; title: string; endsAt: number } | undefined>;
  /** Where the engineer goes next about an incident (console, acknowledge and silence links) for message bodies. */
  links(incident: Incident): IncidentLinks;
  /** This installation's id (made once per data directory or database): makes Message-IDs globally unique. */
  installationId: string;
}

/**
 * One delivery within the receiver's timeout (`fallback` when it sets none). Past it the delivery fails as temporary
 * and in doubt: the request may have arrived. Every path that calls receivers goes through it, so none can stall a pass.
 */
export function deliverWithin(receiver: Receiver, delivery: Delivery, fallback: number): Promise<Record<string, unknown> | undefined> {
  const ms = receiver.timeout ?? fallback;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeliveryError(`receiver ${receiver.name} did not answer within ${Math.round(ms / 1000)} s`, { temporary: true, inDoubt: true })), ms);
  });
  return Promise.race([receiver.deliver(delivery), timeout]).finally(() => clearTimeout(timer));
}

export const FIRING_EVENTS: readonly NotificationEvent[] = ['warning', 'repeat', 'retry'];
export const ALL_EVENTS: readonly NotificationEvent[] = ['warning', 'emergency', 'up', 'flapping', 'repeat'];
