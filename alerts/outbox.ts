import type { Queryable, Db } from '../core/db/index.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import { withSpan } from '../core/telemetry/tracing.ts';
import type { AlertsConfig } from './config.ts';
import { createIncident, openIncident, fingerprintOf, SELF_RULE_PREFIX, type Lifecycle } from './incidents.ts';
import type { AlertsMetrics } from './metrics.ts';
import { DeliveryError, type Receiver } from './receivers/receiver.ts';
import type { Router } from './router.ts';
import { toIncident, type IncidentRow, type NotificationEvent } from './types.ts';

interface NotificationRow {
  id: number;
  key: string;
  incident_id: number;
  receiver: string;
  event: NotificationEvent;
  fallback: string | null;
  group_key: string;
  attempts: number;
  created_at: number;
  result: Record<string, unknown> | null;
  sending_since: number | null;
}

export const DELIVERY_FAILED_RULE = `${SELF_RULE_PREFIX}delivery-failed`;

export interface OutboxOptions {
  db: Db;
  config: AlertsConfig;
  receivers: ReadonlyMap<string, Receiver>;
  router: Router;
  lifecycle: Lifecycle;
  logger: Logger;
  metrics: AlertsMetrics;
  now: () => number;
  /** Throws unless this process still holds the lease; run inside each write transaction. */
  fence: (q: Queryable) => Promise<void>;
  /** True while the lease is safely ours; nothing is sent without it. */
  holds: () => boolean;
  random?: () => number;
}

/** Delivers due notifications: per receiver in order, per incident in creation order, each key at most once. */
export function createOutbox(options: OutboxOptions) {
  const { db, config, receivers, logger, metrics, now, fence } = options;
  const random = options.random ?? Math.random;

  const backoff = (attempts: number) => {
    const base = Math.min(config.outbox.retryInitial * 2 ** (attempts - 1), config.outbox.retryMax);
    return Math.round(base / 2 + (random() * base) / 2);
  };

  async function dueRows(): Promise<NotificationRow[]> {
    // An earlier pending row for the same incident and receiver holds the later ones back, so messages arrive in order.
    return db.query<NotificationRow>(
      `select n.id, n.key, n.incident_id, n.receiver, n.event, n.fallback, n.group_key, n.attempts, n.created_at, n.result, n.sending_since
         from alerts_notifications n
        where n.status = 'pending' and n.next_attempt_at <= $1
          and not exists (select 1 from alerts_notifications e where e.incident_id = n.incident_id and e.receiver = n.receiver and e.status = 'pending' and e.id < n.id)
        order by n.id`,
      [now()],
    );
  }

  async function raiseDeliveryFailure(q: Queryable, row: NotificationRow, reason: string): Promise<void> {
    const labels = { service: 'vigil', component: 'alerts', severity: 'critical', receiver: row.receiver };
    if (await openIncident(q, fingerprintOf(DELIVERY_FAILED_RULE, labels))) return;
    const incident = await createIncident(q, { rule: DELIVERY_FAILED_RULE, labels, active: true, summary: `notifications to ${row.receiver} fail: ${reason}` }, 'firing', now());
    if (row.fallback && row.fallback !== row.receiver) {
      await q.query(
        `insert into alerts_notifications (key, incident_id, receiver, event, group_key, status, created_at, next_attempt_at) values ($1, $2, $3, 'warning', $4, 'pending', $5, $5) on conflict (key) do nothing`,
        [`${incident.id}:${row.fallback}:warning`, incident.id, row.fallback, `fallback:#${incident.id}`, now()],
      );
    } else {
      await options.router.notify(q, incident, 'warning');
    }
  }

  async function giveUp(row: NotificationRow, error: Error): Promise<void> {
    await db.transaction(async (q) => {
      await fence(q);
      await q.query(`update alerts_notifications set status = 'failed', last_error = $2, sending_since = null where id = $1`, [row.id, error.message]);
      if (row.fallback && row.fallback !== row.receiver) {
        await q.query(
          `insert into alerts_notifications (key, incident_id, receiver, event, group_key, status, created_at, next_attempt_at) values ($1, $2, $3, $4, $5, 'pending', $6, $6) on conflict (key) do nothing`,
          [`${row.key}:fallback`, row.incident_id, row.fallback, row.event, `fallback:${row.group_key}`, now()],
        );
      }
      await raiseDeliveryFailure(q, row, error.message);
    });
    metrics.notifications.inc({ receiver: row.receiver, outcome: 'failed' });
    logger.warn({ receiver: row.receiver, key: row.key, err: error.message }, 'notification failed for good; handed to the fallback');
  }

  async function retryLater(row: NotificationRow, error: DeliveryError): Promise<void> {
    const wait = error.retryAfterMs ?? backoff(row.attempts + 1);
    await db.transaction(async (q) => {
      await fence(q);
      await q.query(`update alerts_notifications set attempts = attempts + 1, next_attempt_at = $2, last_error = $3, result = $4, sending_since = null where id = $1`, [
        row.id,
        now() + wait,
        error.message,
        error.progress ? JSON.stringify({ progress: error.progress }) : row.result === null ? null : JSON.stringify(row.result),
      ]);
    });
    metrics.notifications.inc({ receiver: row.receiver, outcome: 'retry' });
  }

  async function deliverBatch(receiver: Receiver, batch: NotificationRow[]): Promise<void> {
    const first = batch[0]!;
    if (first.event === 'up') {
      // UP goes out only where the opening message did.
      const delivered = await db.query<{ n: number }>(
        `select count(*)::int as n from alerts_notifications where incident_id = $1 and receiver = $2 and event in ('warning', 'flapping', 'emergency') and status = 'delivered'`,
        [first.incident_id, first.receiver],
      );
      if (delivered[0]!.n === 0) {
        await db.transaction(async (q) => {
          await fence(q);
          await q.query(`update alerts_notifications set status = 'skipped', last_error = 'the opening message was not delivered' where id = any($1)`, [batch.map((row) => row.id)]);
        });
        return;
      }
    }
    const ids = batch.map((row) => row.incident_id);
    const incidents = (await db.query<IncidentRow>('select * from alerts_incidents where id = any($1)', [ids])).map(toIncident);
    incidents.sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
    const threads = await Promise.all(
      ids.map(async (id) => {
        const [row] = await db.query<{ result: Record<string, unknown> }>(
          `select result from alerts_notifications where incident_id = $1 and receiver = $2 and status = 'delivered' and result is not null order by id limit 1`,
          [id, receiver.name],
        );
        return row?.result;
      }),
    );
    const progress = (first.result?.progress as Record<string, unknown> | undefined) ?? {};
    const inDoubt = batch.some((row) => row.sending_since !== null);
    const started = now();
    await db.transaction(async (q) => {
      await fence(q);
      await q.query('update alerts_notifications set sending_since = $2 where id = any($1)', [batch.map((row) => row.id), started]);
    });
    await withSpan('alerts.deliver', { 'vigil.receiver': receiver.name, 'vigil.event': first.event, 'vigil.notification_key': first.key, 'vigil.incidents': ids.join(',') }, async (span) => {
      try {
        const result = await receiver.deliver({ key: batch.map((row) => row.key).join(','), event: first.event, incidents, threads, progress, inDoubt });
        await db.transaction(async (q) => {
          await fence(q);
          await q.query(`update alerts_notifications set status = 'delivered', delivered_at = $2, attempts = attempts + 1, last_error = null, result = $3, sending_since = null where id = any($1)`, [
            batch.map((row) => row.id),
            now(),
            result ? JSON.stringify(result) : null,
          ]);
          const failure = await openIncident(q, fingerprintOf(DELIVERY_FAILED_RULE, { service: 'vigil', component: 'alerts', severity: 'critical', receiver: receiver.name }));
          if (failure) await options.lifecycle.resolve(q, failure);
        });
        metrics.notifications.inc({ receiver: receiver.name, outcome: 'delivered' }, batch.length);
        for (const row of batch) metrics.latency.observe({ receiver: receiver.name }, Math.max(0, now() - row.created_at) / 1000);
      } catch (error) {
        if (!(error instanceof DeliveryError)) throw error;
        span.setAttribute('vigil.delivery_error', error.message);
        const expired = started - Math.min(...batch.map((row) => row.created_at)) >= config.outbox.maxAge;
        for (const row of batch) {
          if (!error.temporary || expired) await giveUp(row, error);
          else await retryLater(row, error);
        }
      }
    });
  }

  async function deliverFor(receiver: Receiver, rows: NotificationRow[]): Promise<void> {
    const batches = new Map<string, NotificationRow[]>();
    for (const row of rows) {
      const batchKey = `${row.group_key}|${row.event}`;
      batches.set(batchKey, [...(batches.get(batchKey) ?? []), row]);
    }
    for (const batch of batches.values()) {
      if (!options.holds()) return;
      try {
        await deliverBatch(receiver, batch);
      } catch (error) {
        logger.error({ err: error, receiver: receiver.name }, 'delivery aborted');
        return;
      }
    }
  }

  return {
    /** One pass: every due notification gets one attempt. Receivers run in parallel, each one in order. */
    async deliverDue(): Promise<void> {
      const rows = await dueRows();
      const byReceiver = new Map<string, NotificationRow[]>();
      for (const row of rows) byReceiver.set(row.receiver, [...(byReceiver.get(row.receiver) ?? []), row]);
      await Promise.all(
        [...byReceiver].map(async ([name, receiverRows]) => {
          const receiver = receivers.get(name);
          if (receiver) return deliverFor(receiver, receiverRows);
          for (const row of receiverRows) await giveUp(row, new Error(`receiver "${name}" is no longer configured`));
        }),
      );
    },
  };
}
