import type { Clock } from '../core/clock.ts';
import type { Db, Queryable } from '../core/db/index.ts';
import { createOutbox, DeliveryError, type OutboxAdapter } from '../core/outbox.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import type { AlertsConfig } from './config.ts';
import { followUp } from './decide.ts';
import type { AlertsMetrics } from './metrics.ts';
import { deliverWithin, type Receiver } from './receivers/receiver.ts';
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
  OUTBOX_CHANNEL,
  receiversWithDueNotifications,
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
  clock: Clock;
  /** Throws unless this process still holds the lease; run inside each write transaction. */
  fence: (q: Queryable) => Promise<void>;
  /** True while delivering is ours to do (the lease is safely held, the store reachable); nothing is sent otherwise. */
  active: () => boolean;
  random?: () => number;
}

type Notification = OutboxRow & { target: string; orderingKey: string };

/**
 * The alerts side of core's outbox (core/outbox.ts): notifications, one target per receiver, first in first out per
 * receiver (its one ordering key), those of one group and event sent as one message. What only alerts do is here:
 * every write fenced by the lease, an UP skipped unless its opening message went out, and a notification failed for
 * good handed to its route's fallback with the receiver marked failing (the built-in delivery-failure rule turns that
 * into an incident).
 */
export function createAlertsOutbox(options: OutboxOptions) {
  const { db, config, receivers, clock, fence } = options;
  const now = () => clock.now();

  const write = (fn: (q: Queryable) => Promise<void>) =>
    db.transaction(async (q) => {
      await fence(q);
      await fn(q);
    });

  async function handToFallback(q: Queryable, row: OutboxRow): Promise<void> {
    if (!row.fallback || row.fallback === row.receiver) return;
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

  const adapter: OutboxAdapter<Notification, Record<string, unknown> | undefined> = {
    targets: (at) => receiversWithDueNotifications(db, at),
    async due(receiver, at) {
      return (await dueNotifications(db, receiver, at)).map((row) => ({ ...row, target: receiver, orderingKey: receiver }));
    },
    batchKey: (row) => `${row.groupKey}|${row.event}`,
    async send(name, batch) {
      const receiver = receivers.get(name);
      if (!receiver) throw new DeliveryError(`receiver "${name}" is no longer configured`, { temporary: false });
      const first = batch[0]!;
      if (first.event === 'up' && followUp(await notificationHistory(db, first.incidentId), first.receiver) !== 'send') return { skipped: 'the opening message was not delivered' };
      const ids = batch.map((row) => row.incidentId);
      const incidents = await incidentsByIds(db, ids);
      const threads = await Promise.all(ids.map((id) => threadOf(db, id, name)));
      const earlier = await deliveredKeys(db, first.incidentId, name);
      const progress = (first.result?.progress as Record<string, unknown> | undefined) ?? {};
      const inDoubt = batch.some((row) => row.sendingSince !== null);
      await write((q) => markSending(q, batch.map((row) => row.id), now()));
      const key = batch.map((row) => row.key).join(',');
      return { result: await deliverWithin(receiver, { key, event: first.event, incidents, threads, earlier, progress, inDoubt }, config.outbox.timeout) };
    },
    async settle(receiver, batch, settlement) {
      const ids = batch.map((row) => row.id);
      switch (settlement.kind) {
        case 'delivered':
          return write(async (q) => {
            await markDelivered(q, ids, settlement.at, settlement.result);
            await recordReceiverHealth(q, receiver, null, settlement.at);
          });
        case 'skipped':
          return write((q) => markSkipped(q, ids, settlement.reason));
        case 'retry':
          return write((q) => markRetry(q, ids, settlement.at, settlement.error.message, settlement.error.progress, settlement.error.inDoubt));
        case 'failed':
          return write(async (q) => {
            await markFailed(q, ids, settlement.error.message);
            for (const row of batch) await handToFallback(q, row);
            await recordReceiverHealth(q, receiver, settlement.error.message, now());
          });
      }
    },
    describe: (receiver, batch) => ({
      'vigil.receiver': receiver,
      'vigil.event': batch[0]!.event,
      'vigil.notification_key': batch[0]!.key,
      'vigil.incidents': batch.map((row) => row.incidentId).join(','),
    }),
  };

  return createOutbox({
    adapter,
    span: 'alerts.deliver',
    clock,
    logger: options.logger,
    metrics: options.metrics.notifications,
    policy: config.outbox,
    pollInterval: config.outbox.pollInterval,
    wakeOn: { db, channel: OUTBOX_CHANNEL },
    active: options.active,
    ...(options.random ? { random: options.random } : {}),
  });
}
