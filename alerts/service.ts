import os from 'node:os';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { Component } from '../core/lifecycle/module.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import type { Registry } from '../core/telemetry/metrics.ts';
import { withSpan } from '../core/telemetry/tracing.ts';
import type { AlertsHostConfig, ReceiverConfig } from './config.ts';
import { createLifecycle, fingerprintOf, loadIncident } from './incidents.ts';
import { createLease, NotLeaderError } from './leader.ts';
import { createAlertsMetrics } from './metrics.ts';
import { createOutbox } from './outbox.ts';
import { createEmailReceiver } from './receivers/email.ts';
import { createRestartReceiver } from './receivers/restart.ts';
import { createScaleReceiver } from './receivers/scale.ts';
import { createSlackReceiver } from './receivers/slack.ts';
import { createStatusPageReceiver } from './receivers/status-page.ts';
import type { Receiver, ReceiverContext } from './receivers/types.ts';
import { createWebhookReceiver } from './receivers/webhook.ts';
import { maintenanceCovering } from './maintenance.ts';
import { createRouter } from './router.ts';
import type { SignalSource } from './types.ts';

export interface AlertServiceOptions {
  config: AlertsHostConfig;
  db: Db;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  source: SignalSource;
  verifyProbe: ReceiverContext['verifyProbe'];
  /** Names this process in the lease row (default host:pid). */
  holder?: string;
  random?: () => number;
}

function createReceiver(name: string, receiver: ReceiverConfig, context: ReceiverContext): Receiver {
  switch (receiver.type) {
    case 'email':
      return createEmailReceiver(name, receiver, context);
    case 'slack':
      return createSlackReceiver(name, receiver, context);
    case 'webhook':
      return createWebhookReceiver(name, receiver, context);
    case 'restart':
      return createRestartReceiver(name, receiver, context);
    case 'scale':
      return createScaleReceiver(name, receiver, context);
    case 'statusPage':
      return createStatusPageReceiver(name, context);
  }
}

export type AlertService = ReturnType<typeof createAlertService>;

/** The alerts role: holds the lease, evaluates the rules, delivers the outbox; a standby only tries to take the lease. */
export function createAlertService(options: AlertServiceOptions) {
  const { config, db, clock, logger } = options;
  const alerts = config.alerts;
  const now = () => clock.now();
  const metrics = createAlertsMetrics(options.registry, db, now);
  const lease = createLease(db, options.holder ?? `${os.hostname()}:${process.pid}`, alerts.lease.ttl, now);
  const receivers = new Map<string, Receiver>();
  const router = createRouter(alerts, receivers, now);
  const lifecycle = createLifecycle(alerts, router, now);
  const context: ReceiverContext = {
    config,
    db,
    clock,
    logger,
    metrics,
    verifyProbe: options.verifyProbe,
    async escalate(incidentId, reason) {
      await db.transaction(async (q) => {
        await lease.fence(q);
        const incident = await loadIncident(q, incidentId);
        if (incident) await lifecycle.escalate(q, incident, reason);
      });
    },
    maintenanceFor: (labels) => maintenanceCovering(db, labels, now()),
  };
  for (const [name, receiver] of Object.entries(alerts.receivers)) receivers.set(name, createReceiver(name, receiver, context));
  const outbox = createOutbox({ db, config: alerts, receivers, router, lifecycle, logger, metrics, now, fence: (q) => lease.fence(q), holds: () => lease.holds(), ...(options.random ? { random: options.random } : {}) });
  const forOf = new Map(alerts.rules.map((rule) => [rule.name, rule.for]));

  async function evaluate(): Promise<void> {
    await withSpan('alerts.evaluate', { 'vigil.rules': alerts.rules.length }, async (span) => {
      const observations = await options.source(now());
      span.setAttribute('vigil.observations', observations.length);
      for (const observation of observations) {
        await db.transaction(async (q) => {
          await lease.fence(q);
          await lifecycle.observe(q, observation, forOf.get(observation.rule) ?? 0);
        });
      }
      await db.transaction(async (q) => {
        await lease.fence(q);
        await lifecycle.reconcile(q, new Set(observations.map((observation) => fingerprintOf(observation.rule, observation.labels))));
      });
    });
  }

  // Each loop runs one pass at a time; a pass still running when its timer fires again is not doubled.
  const inFlight = new Map<string, Promise<void>>();
  const loop = (name: string, pass: () => Promise<void>) => (): Promise<void> => {
    const running = inFlight.get(name);
    if (running) return running;
    const current = pass()
      .catch((error: unknown) => {
        if (error instanceof NotLeaderError) logger.warn('lost the alerts lease; standing by');
        else logger.error({ err: error, loop: name }, 'alerts pass failed');
        if (name === 'evaluate') metrics.evaluations.inc({ outcome: 'error' });
      })
      .finally(() => inFlight.delete(name));
    inFlight.set(name, current);
    return current;
  };
  const renew = loop('lease', async () => {
    const was = lease.token;
    if ((await lease.acquire()) && was === undefined) logger.info({ token: lease.token }, 'took the alerts lease: evaluating and delivering');
  });
  const deliverLoop = loop('deliver', async () => {
    if (lease.holds()) await outbox.deliverDue();
  });
  const evaluateLoop = loop('evaluate', async () => {
    if (!lease.holds()) return;
    await evaluate();
    metrics.evaluations.inc({ outcome: 'ok' });
    // What the evaluation queued goes out now rather than at the next poll.
    void deliverLoop();
  });

  const timers: TimerHandle[] = [];
  let stopped = false;
  const component: Component & {
    start(): Promise<void>;
    stop(deadline: number): Promise<void>;
    /** Resolves when the passes running now have finished (tests advance the fake clock, then await this). */
    idle(): Promise<void>;
    /** One lease renewal, evaluation and delivery pass, in that order. */
    runOnce(): Promise<void>;
    isLeader(): boolean;
  } = {
    name: 'alerts',
    async start() {
      await renew();
      // Reconcile open incidents with the current state at once, then keep going on the intervals.
      await evaluateLoop();
      await deliverLoop();
      timers.push(clock.setInterval(() => void renew(), alerts.lease.renewEvery));
      timers.push(clock.setInterval(() => void evaluateLoop(), alerts.evaluationInterval));
      timers.push(clock.setInterval(() => void deliverLoop(), alerts.outbox.pollInterval));
    },
    async stop(deadline) {
      if (stopped) return;
      stopped = true;
      for (const timer of timers) timer.cancel();
      await Promise.race([Promise.all(inFlight.values()), new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
      await lease.release().catch(() => {});
      for (const receiver of receivers.values()) receiver.close?.();
    },
    health: () => ({ ok: true }),
    async idle() {
      while (inFlight.size > 0) await Promise.all(inFlight.values());
    },
    async runOnce() {
      await renew();
      await evaluateLoop();
      await deliverLoop();
    },
    isLeader: () => lease.holds(),
  };
  return Object.assign(component, { router, lifecycle, receivers });
}
