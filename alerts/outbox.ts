import { backoffDelay } from '../core/backoff.ts';
import type { Db, Queryable } from '../core/db/index.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import { withSpan } from '../core/telemetry/tracing.ts';
import type { AlertsConfig } from './config.ts';
import { followUp } from './decide.ts';
import type { AlertsMetrics } from './metrics.ts';
import { deliverWithin, DeliveryError, type Receiver } from './receivers/receiver.ts';
import {
  deliveredKeys,
  dueNotifications,
  incidentsByIds,
  insertNotification,
  markDelivered,
  markFailed,
  markRetry,
  markSending,
  markSkipped,
  notificationHistory,
  recordReceiverHealth,
  threadOf,
  type OutboxRow,
} from './store.ts';

export interface OutboxOptions {
  db: Db;
  config: AlertsConfig;
  receivers: ReadonlyMap<string, Receiver>;
  logger: Logger;
  metrics: AlertsMetrics;
  now: () => number;
  /** Throws unless this process still holds the lease; run inside each write transaction. */
  fence: (q: Queryable) => Promise<void>;
  /** True while the lease is safely ours; nothing is sent without it. */
  holds: () => boolean;
  random?: () => number;
}

/**
 * Delivers due notifications and records what happened; it decides nothing about incidents. Each receiver has its
 * own pass, so a slow or hanging receiver never holds another back; within a receiver, first in first out (a
 * notification waiting for a retry holds back the later ones), each key at most once. A delivery that fails for
 * good hands the notification to the route's fallback and marks the receiver failing (the built-in delivery-failure
 * rule turns that into an incident).
 */
export function createOutbox(options: OutboxOptions) {
  const { db, config, receivers, logger, metrics, now, fence } = options;
  const random = options.random ?? Math.random;
  const passes = new Map<string, Promise<void>>();
  /** Receivers with due notifications found while their pass ran: the pass looks again before it ends. */
  const again = new Set<string>();


  const write = (fn: (q: Queryable) => Promise<void>) =>
    db.transaction(async (q) => {
      await fence(q);
      await fn(q);
    });

  async function giveUp(row: OutboxRow, reason: string): Promise<void> {
    await write(async (q) => {
      await markFailed(q, row.id, reason);
      if (row.fallback && row.fallback !== row.receiver) {
        await insertNotification(q, {
          key: `${row.key}:fallback`,
          incidentId: row.incidentId,
          receiver: row.fallback,
          onBehalfOf: row.receiver,
          event: row.event,
          groupKey: `fallback:${row.groupKey}`,
          route: row.route ?? undefined,
          createdAt: now(),
          dueAt: now(),
        });
      }
      await recordReceiverHealth(q, row.receiver, reason, now());
    });
    metrics.notifications.inc({ receiver: row.receiver, outcome: 'failed' });
    logger.warn({ receiver: row.receiver, key: row.key, err: reason }, 'notification failed for good; handed to the fallback');
  }

  async function retryLater(row: OutboxRow, error: DeliveryError): Promise<void> {
    const wait = error.retryAfterMs ?? backoffDelay(row.attempts + 1, { initial: config.outbox.retryInitial, max: config.outbox.retryMax }, random());
    const progress = error.progress ? { progress: error.progress } : row.result;
    await write(async (q) => {
      await markRetry(q, row.id, now() + wait, error.message, progress, error.inDoubt);
    });
    metrics.notifications.inc({ receiver: row.receiver, outcome: 'retry' });
  }

  /** One message; false when the receiver's pass must stop here (a later message may not overtake this one). */
  async function deliverBatch(receiver: Receiver, batch: OutboxRow[]): Promise<boolean> {
    const first = batch[0]!;
    const ids = batch.map((row) => row.incidentId);
    if (first.event === 'up' && followUp(await notificationHistory(db, first.incidentId), first.receiver) !== 'send') {
      await write((q) => markSkipped(q, batch.map((row) => row.id), 'the opening message was not delivered'));
      return true;
    }
    const incidents = await incidentsByIds(db, ids);
    const threads = await Promise.all(ids.map((id) => threadOf(db, id, receiver.name)));
    const earlier = await deliveredKeys(db, first.incidentId, receiver.name);
    const progress = (first.result?.progress as Record<string, unknown> | undefined) ?? {};
    const inDoubt = batch.some((row) => row.sendingSince !== null);
    const started = now();
    await write((q) => markSending(q, batch.map((row) => row.id), started));
    return withSpan('alerts.deliver', { 'vigil.receiver': receiver.name, 'vigil.event': first.event, 'vigil.notification_key': first.key, 'vigil.incidents': ids.join(',') }, async (span) => {
      try {
        const key = batch.map((row) => row.key).join(',');
        const result = await deliverWithin(receiver, { key, event: first.event, incidents, threads, earlier, progress, inDoubt }, config.outbox.timeout);
        await write(async (q) => {
          await markDelivered(q, batch.map((row) => row.id), now(), result);
          await recordReceiverHealth(q, receiver.name, null, now());
        });
        metrics.notifications.inc({ receiver: receiver.name, outcome: 'delivered' }, batch.length);
        for (const row of batch) metrics.latency.observe({ receiver: receiver.name }, Math.max(0, now() - row.createdAt) / 1000);
        return true;
      } catch (caught) {
        // A receiver that throws anything else is treated as a temporary failure: one bug must not stop delivery.
        const error = caught instanceof DeliveryError ? caught : new DeliveryError(`receiver ${receiver.name} failed: ${(caught as Error).message}`, { temporary: true });
        if (!(caught instanceof DeliveryError)) logger.error({ err: caught, receiver: receiver.name }, 'receiver threw an unexpected error');
        span.setAttribute('vigil.delivery_error', error.message);
        const expired = started - Math.min(...batch.map((row) => row.createdAt)) >= config.outbox.maxAge;
        for (const row of batch) {
          if (!error.temporary || expired) await giveUp(row, error.message);
          else await retryLater(row, error);
        }
        return !error.temporary || expired;
      }
    });
  }

  async function pass(receiver: Receiver, rows: OutboxRow[]): Promise<void> {
    const batches = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const batchKey = `${row.groupKey}|${row.event}`;
      batches.set(batchKey, [...(batches.get(batchKey) ?? []), row]);
    }
    for (const batch of batches.values()) {
      if (!options.holds()) return;
      if (!(await deliverBatch(receiver, batch))) return;
    }
  }

  /** One receiver's passes, until no notification for it came due while the last one ran. */
  async function drain(name: string, rows: OutboxRow[]): Promise<void> {
    for (;;) {
      const receiver = receivers.get(name);
      if (receiver) await pass(receiver, rows);
      else await Promise.all(rows.map((row) => giveUp(row, `receiver "${name}" is no longer configured`)));
      if (!again.delete(name) || !options.holds()) return;
      rows = (await dueNotifications(db, now())).filter((row) => row.receiver === name);
    }
  }

  return {
    /** Starts a pass for every receiver with due notifications that has none running; does not wait for them. */
    async deliverDue(): Promise<void> {
      const rows = await dueNotifications(db, now());
      const byReceiver = new Map<string, OutboxRow[]>();
      for (const row of rows) byReceiver.set(row.receiver, [...(byReceiver.get(row.receiver) ?? []), row]);
      for (const [name, receiverRows] of byReceiver) {
        if (passes.has(name)) {
          again.add(name);
          continue;
        }
        const running = drain(name, receiverRows)
          .catch((error: unknown) => logger.error({ err: error, receiver: name }, 'delivery pass aborted'))
          .finally(() => passes.delete(name));
        passes.set(name, running);
      }
    },
    /** Resolves when the passes running now have finished. */
    async idle(): Promise<void> {
      while (passes.size > 0) await Promise.all(passes.values());
    },
  };
}
