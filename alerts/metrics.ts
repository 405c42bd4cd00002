import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../core/db/index.ts';
import { createOutboxMetrics, type OutboxMetricNames, type OutboxMetrics } from '../core/outbox.ts';
import { hookAttemptsSince, hookState, incidentCountsByState, openIncidentCountsBySeverity, outboxBacklog } from './store.ts';

export interface AlertsMetrics {
  notifications: OutboxMetrics;
  restartAttempts: Counter<'receiver' | 'outcome'>;
  evaluations: Counter<'outcome'>;
  heartbeats: Counter<'outcome'>;
}

/** A restart or scale receiver's budget, per service it acts on. */
export interface HookBudget {
  receiver: string;
  services: readonly string[];
  budget: number;
  budgetWindow: number;
}

const NOTIFICATION_METRICS: OutboxMetricNames = {
  targetLabel: 'receiver',
  outcomes: { name: 'vigil_alerts_notifications_total', help: 'Notification attempts by receiver and outcome (delivered, retry, failed).' },
  latency: { name: 'vigil_alerts_delivery_latency_seconds', help: 'From a notification being queued to its delivery.' },
};

/** Counters and histograms are updated as work happens; the gauges read the tables when scraped. */
export function createAlertsMetrics(registry: Registry, db: Db, now: () => number, holdsLease: () => boolean, hooks: readonly HookBudget[] = []): AlertsMetrics {
  new Gauge({
    name: 'vigil_alerts_hook_budget_remaining',
    help: 'Attempts a restart or scale hook may still make for a service in its budget window (0 once spent, until an incident reset).',
    labelNames: ['receiver', 'service'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const hook of hooks) {
        for (const service of hook.services) {
          const state = await hookState(db, hook.receiver, service).catch(() => undefined);
          const since = Math.max(now() - hook.budgetWindow, state?.resetAt ?? 0);
          const used = await hookAttemptsSince(db, hook.receiver, service, since).catch(() => 0);
          this.set({ receiver: hook.receiver, service }, state?.lockedAt != null ? 0 : Math.max(0, hook.budget - used));
        }
      }
    },
  });
  new Gauge({
    name: 'vigil_alerts_incidents',
    help: 'Incidents by state (resolved ones are counted since the start of the table).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const state of ['pending', 'firing', 'escalated', 'resolved']) this.set({ state }, 0);
      for (const row of await incidentCountsByState(db).catch(() => [])) this.set({ state: row.state }, row.count);
    },
  });
  new Gauge({
    name: 'vigil_alerts_open_incidents',
    help: 'Incidents not resolved (pending, firing, escalated), by their severity label ("none" without one).',
    labelNames: ['severity'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const severity of ['critical', 'warning', 'info']) this.set({ severity }, 0);
      for (const row of await openIncidentCountsBySeverity(db).catch(() => [])) this.set({ severity: row.severity }, row.count);
    },
  });
  new Gauge({
    name: 'vigil_alerts_leader',
    help: 'Whether this process holds the alerts lease (evaluates and delivers): 1, or 0 on a standby.',
    registers: [registry],
    collect() {
      this.set(holdsLease() ? 1 : 0);
    },
  });
  const backlog = () => outboxBacklog(db).catch(() => ({ count: 0, oldest: null }));
  new Gauge({
    name: 'vigil_alerts_outbox_depth',
    help: 'Notifications waiting in the outbox.',
    registers: [registry],
    async collect() {
      this.set((await backlog()).count);
    },
  });
  new Gauge({
    name: 'vigil_alerts_outbox_oldest_age_seconds',
    help: 'Age of the oldest notification waiting in the outbox (0 when empty).',
    registers: [registry],
    async collect() {
      const { oldest } = await backlog();
      this.set(oldest ? Math.max(0, now() - oldest) / 1000 : 0);
    },
  });
  return {
    notifications: createOutboxMetrics(registry, NOTIFICATION_METRICS),
    restartAttempts: new Counter({
      name: 'vigil_alerts_hook_attempts_total',
      help: 'Restart and scale hook attempts by receiver and outcome (fixed, not-fixed, failed, budget-spent, maintenance).',
      labelNames: ['receiver', 'outcome'],
      registers: [registry],
    }),
    evaluations: new Counter({
      name: 'vigil_alerts_evaluations_total',
      help: 'Evaluations of rules and incidents by outcome (ok, error: one rule or incident could not be evaluated).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    heartbeats: new Counter({
      name: 'vigil_alerts_heartbeats_total',
      help: 'Outward heartbeat pings by outcome (ok, failed).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
