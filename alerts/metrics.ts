import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../core/db/index.ts';
import { tracedHistogram, type TracedHistogram } from '../core/telemetry/metrics.ts';

export interface AlertsMetrics {
  notifications: Counter<'receiver' | 'outcome'>;
  latency: TracedHistogram<'receiver'>;
  restartAttempts: Counter<'receiver' | 'outcome'>;
  evaluations: Counter<'outcome'>;
}

/** Counters and histograms are updated as work happens; the gauges read the tables when scraped. */
export function createAlertsMetrics(registry: Registry, db: Db, now: () => number): AlertsMetrics {
  new Gauge({
    name: 'vigil_alerts_incidents',
    help: 'Incidents by state (resolved ones are counted since the start of the table).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const state of ['pending', 'firing', 'escalated', 'resolved']) this.set({ state }, 0);
      const rows = await db.query<{ state: string; n: number }>('select state, count(*)::int as n from alerts_incidents group by state').catch(() => []);
      for (const row of rows) this.set({ state: row.state }, row.n);
    },
  });
  const pending = () => db.query<{ n: number; oldest: number | null }>(`select count(*)::int as n, min(created_at) as oldest from alerts_notifications where status = 'pending'`).catch(() => []);
  new Gauge({
    name: 'vigil_alerts_outbox_depth',
    help: 'Notifications waiting in the outbox.',
    registers: [registry],
    async collect() {
      this.set((await pending())[0]?.n ?? 0);
    },
  });
  new Gauge({
    name: 'vigil_alerts_outbox_oldest_age_seconds',
    help: 'Age of the oldest notification waiting in the outbox (0 when empty).',
    registers: [registry],
    async collect() {
      const oldest = (await pending())[0]?.oldest;
      this.set(oldest ? Math.max(0, now() - oldest) / 1000 : 0);
    },
  });
  return {
    notifications: new Counter({
      name: 'vigil_alerts_notifications_total',
      help: 'Notification attempts by receiver and outcome (delivered, retry, failed).',
      labelNames: ['receiver', 'outcome'],
      registers: [registry],
    }),
    latency: tracedHistogram({
      name: 'vigil_alerts_delivery_latency_seconds',
      help: 'From a notification being queued to its delivery.',
      labelNames: ['receiver'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600],
      registers: [registry],
    }),
    restartAttempts: new Counter({
      name: 'vigil_alerts_hook_attempts_total',
      help: 'Restart and scale hook attempts by receiver and outcome (fixed, not-fixed, failed, budget-spent, maintenance).',
      labelNames: ['receiver', 'outcome'],
      registers: [registry],
    }),
    evaluations: new Counter({
      name: 'vigil_alerts_evaluations_total',
      help: 'Rule evaluations by outcome (ok, error).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
