import os from 'node:os';
import { fetch } from 'undici';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { Component, Health } from '../core/lifecycle/module.ts';
import type { Outbox } from '../core/outbox.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import type { Registry } from '../core/telemetry/metrics.ts';
import { withSpan } from '../core/telemetry/tracing.ts';
import type { AlertsHostConfig, ReceiverConfig } from './config.ts';
import { DELIVERY_FAILED_RULE, EVALUATION_FAILED_RULE } from './decide.ts';
import { createDegradedMode, type DegradedMode } from './degraded.ts';
import { createLifecycle, fingerprintOf } from './incidents.ts';
import { createLease, NotLeaderError, type Lease } from './leader.ts';
import { actionLinks } from './links.ts';
import { compileMatchers } from './matchers.ts';
import { createAlertsMetrics } from './metrics.ts';
import { createAlertsOutbox } from './outbox.ts';
import { RECEIVERS } from './receivers/index.ts';
import type { Receiver, ReceiverContext } from './receivers/receiver.ts';
import { createRouter } from './router.ts';
import { installationId, maintenancesOverlapping, pruneBefore, receiverHealth } from './store.ts';
import type { Observation, SignalSource } from './types.ts';

export interface AlertServiceOptions {
  config: AlertsHostConfig;
  db: Db;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  source: SignalSource;
  verifyProbe: ReceiverContext['verifyProbe'];
  /** Base URL of this Vigil as people reach it (links in messages); none, no links. */
  publicUrl?: string;
  /** The probe rules read from this process's own probe runs, and how many of them the store has not taken yet:
   * what alerting works from while the store is unreachable (none: only the store's own incident is raised). */
  local?: { source: SignalSource; pending: () => number };
  /** Names this process in the lease row (default: "<host>/<installation>#<pid>", which lets a restart take its own dead lease at once). */
  holder?: string;
  /** Subscribes to "a result that decides a probe's state is in the store" (this process's own probe runs): the rules
   * are evaluated at once instead of at the next evaluation tick. */
  decided?: (listener: (probe: string) => void) => void;
  random?: () => number;
}

const receiverTypeOf = (settings: ReceiverConfig) => RECEIVERS.find((candidate) => candidate.type === settings.type)!;

/** Receivers that cannot work with this configuration (email without SMTP, Slack without a token), one sentence each. */
export function receiverProblems(config: AlertsHostConfig): string[] {
  const routed = new Set(config.alerts.routes.flatMap((route) => [...route.receivers, ...(route.fallback ? [route.fallback] : [])]));
  return Object.entries(config.alerts.receivers).flatMap(([name, settings]) =>
    receiverTypeOf(settings)
      .problemsMatched(settings, config)
      .map((problem) => `alerts receiver "${name}"${routed.has(name) ? ' (routed to)' : ''}: ${problem}`),
  );
}

const SELF_LABELS = { service: 'vigil', component: 'alerts', severity: 'critical' };

export type AlertService = ReturnType<typeof createAlertService>;

/** The alerts role: holds the lease, evaluates the rules, delivers the outbox; a standby only tries to take the lease. */
export function createAlertService(options: AlertServiceOptions) {
  const { config, db, clock, logger } = options;
  const alerts = config.alerts;
  const now = () => clock.now();
  // The lease is made at set-up; until then this process is not the leader.
  const hookBudgets = Object.entries(alerts.receivers).flatMap(([receiver, settings]) =>
    'budget' in settings && 'services' in settings ? [{ receiver, services: Object.keys(settings.services), budget: settings.budget, budgetWindow: settings.budgetWindow }] : [],
  );
  const metrics = createAlertsMetrics(options.registry, db, now, () => lease?.holds() ?? false, hookBudgets);
  const receivers = new Map<string, Receiver>();
  const router = createRouter(alerts, receivers, now);
  const lifecycle = createLifecycle(alerts, router, now);
  const forOf = new Map(alerts.rules.map((rule) => [rule.name, rule.for]));
  let lease: Lease | undefined;
  let outbox: Outbox | undefined;
  let degraded: DegradedMode | undefined;
  /** What the last evaluation could not do (each a sentence); the built-in rule and the health check read it. */
  let evaluationFailures: string[] = [];
  let lastEvaluatedAt: number | undefined;

  async function setUp(): Promise<void> {
    const installation = await installationId(db);
    lease = createLease(db, { holder: options.holder ?? `${os.hostname()}/${installation}#${process.pid}`, instance: `${os.hostname()}/${installation}` }, alerts.lease.ttl, now);
    const context: ReceiverContext = {
      config,
      db,
      clock,
      logger,
      metrics,
      verifyProbe: options.verifyProbe,
      installationId: installation,
      holdsLease: () => lease!.holds(),
      fence: (q) => lease!.fence(q),
      links: (incident) =>
        options.publicUrl && incident.id > 0 ? { incident: `${options.publicUrl.replace(/\/$/, '')}/admin/incidents/${incident.id}`, ...actionLinks(options.publicUrl, config.server.adminToken, incident.id, now()) } : {},
      async maintenanceFor(labels) {
        const current = await maintenancesOverlapping(db, { from: now(), to: now() });
        return current.find((window) => now() < window.endsAt && compileMatchers(window.matchers).test(labels));
      },
    };
    for (const [name, settings] of Object.entries(alerts.receivers)) receivers.set(name, receiverTypeOf(settings).createMatched(name, settings, context));
    const held = lease;
    outbox = createAlertsOutbox({
      db,
      config: alerts,
      receivers,
      logger,
      metrics,
      clock,
      fence: (q) => held.fence(q),
      active: () => held.holds() && !degraded!.inOutage(),
      ...(options.random ? { random: options.random } : {}),
    });
    for (const problem of receiverProblems(config)) logger.warn(problem);
    degraded = createDegradedMode({
      config,
      db,
      logger,
      registry: options.registry,
      now,
      receivers,
      localSource: options.local?.source ?? (async () => []),
      pendingResults: options.local?.pending ?? (() => 0),
      wasLeader: () => held.token !== undefined,
      holds: () => held.holds(),
      fence: (q) => held.fence(q),
      router,
    });
  }

  /** Vigil's own rules: a receiver failing for good, rules or incidents that could not be evaluated last time. */
  async function builtInObservations(): Promise<Observation[]> {
    const deliveries = (await receiverHealth(db)).map((row) => ({
      rule: DELIVERY_FAILED_RULE,
      labels: { ...SELF_LABELS, receiver: row.receiver },
      active: row.failure !== null,
      summary: `notifications to ${row.receiver} fail: ${row.failure ?? 'no longer'}`,
    }));
    const evaluation = {
      rule: EVALUATION_FAILED_RULE,
      labels: SELF_LABELS,
      active: evaluationFailures.length > 0,
      summary: `${evaluationFailures.length} alert rule(s) or incident(s) could not be evaluated: ${evaluationFailures[0] ?? 'none'}`,
    };
    return [...deliveries, evaluation];
  }

  /**
   * Every observation in its own transaction: one that fails is logged, counted and alerted on; the rest proceed.
   * `pushedProbes`: only the rules of these probes, whose state a result just changed (their incidents open or close
   * now); the built-in rules, reconciling and the health bookkeeping wait for the next full evaluation.
   */
  async function evaluate(fenced: Lease, pushedProbes?: ReadonlySet<string>): Promise<void> {
    await withSpan('alerts.evaluate', { 'vigil.rules': alerts.rules.length, 'vigil.pushed': pushedProbes !== undefined }, async (span) => {
      if (pushedProbes) {
        const rules = new Set(alerts.rules.filter((rule) => rule.kind === 'probe' && pushedProbes.has(rule.probe)).map((rule) => rule.name));
        for (const observation of (await options.source(now())).filter((candidate) => rules.has(candidate.rule) && !candidate.error)) {
          await db
            .transaction(async (q) => {
              await fenced.fence(q);
              await lifecycle.observe(q, observation, forOf.get(observation.rule) ?? 0);
            })
            .catch((error: unknown) => {
              // The next full evaluation takes it up, and counts it.
              if (error instanceof NotLeaderError) throw error;
              logger.warn({ err: error, rule: observation.rule }, 'alerts evaluation of a pushed probe result failed; the next evaluation tries again');
            });
        }
        return;
      }
      const observations = [...(await options.source(now())), ...(await builtInObservations())];
      span.setAttribute('vigil.observations', observations.length);
      const failures: string[] = [];
      const guarded = async (what: string, work: () => Promise<void>) => {
        try {
          await work();
        } catch (error) {
          if (error instanceof NotLeaderError) throw error;
          failures.push(`${what}: ${(error as Error).message}`);
          logger.error({ err: error, what }, 'alerts evaluation failed for one item; the others go on');
        }
      };
      for (const observation of observations) {
        if (observation.error) failures.push(`rule ${observation.rule}: ${observation.error}`);
        if (lifecycle.atRest(observation)) continue;
        await guarded(`rule ${observation.rule}`, () =>
          db.transaction(async (q) => {
            await fenced.fence(q);
            await lifecycle.observe(q, observation, forOf.get(observation.rule) ?? 0);
          }),
        );
      }
      await guarded('reconciling open incidents', () =>
        db.transaction(async (q) => {
          await fenced.fence(q);
          await lifecycle.reconcile(q, new Set(observations.map((observation) => fingerprintOf(observation.rule, observation.labels))));
        }),
      );
      evaluationFailures = failures;
      lastEvaluatedAt = now();
      degraded!.evaluated(observations);
      metrics.evaluations.inc({ outcome: failures.length > 0 ? 'error' : 'ok' });
    });
  }

  // Each loop runs one pass at a time; a pass still running when its timer fires again is not doubled. A loop asked
  // to `rerun` while it runs goes once more afterwards: the running pass may have read its input (the probe states)
  // before the change that asks was committed. The outbox has loops of its own (core/outbox.ts).
  const timers: TimerHandle[] = [];
  let stopped = false;
  const inFlight = new Map<string, Promise<void>>();
  const asked = new Set<string>();
  const loop = (name: string, pass: () => Promise<void>) => (rerun = false): Promise<void> => {
    const running = inFlight.get(name);
    if (running) {
      if (rerun) asked.add(name);
      return running;
    }
    const once = () =>
      pass().catch((error: unknown) => {
        if (error instanceof NotLeaderError) logger.warn('lost the alerts lease; standing by');
        else logger.error({ err: error, loop: name }, 'alerts pass failed');
        if (name === 'evaluate') metrics.evaluations.inc({ outcome: 'error' });
      });
    const current = (async () => {
      do {
        asked.delete(name);
        await once();
      } while (asked.has(name));
    })().finally(() => inFlight.delete(name));
    inFlight.set(name, current);
    return current;
  };
  const renew = loop('lease', async () => {
    const was = lease!.token;
    if ((await lease!.acquire()) && was === undefined) {
      options.source.forget?.();
      lifecycle.forget();
      logger.info({ token: lease!.token }, 'took the alerts lease: evaluating and delivering');
    }
  });
  // Hook receivers queue jobs of their own when a notification reaches them; due ones start on every outbox poll.
  const hooksLoop = loop('hooks', async () => {
    if (!lease!.holds() || degraded!.inOutage()) return;
    for (const receiver of receivers.values()) receiver.runDue?.();
  });
  // What the next evaluation pass covers: everything once a tick (or a start, or runOnce) asked for it, else only the
  // probes whose state a stored result changed.
  let fullEvaluationDue = true;
  const pushedProbes = new Set<string>();
  const evaluateLoop = loop('evaluate', async () => {
    if (!lease!.holds() || degraded!.inOutage()) return;
    const only = fullEvaluationDue ? undefined : new Set(pushedProbes);
    fullEvaluationDue = false;
    pushedProbes.clear();
    await router.pass(() => evaluate(lease!, only));
    // What the evaluation queued goes out now; the outbox's NOTIFY wakes other processes (and this one, a little later).
    void outbox!.deliverDue();
  });
  const evaluateAll = () => {
    fullEvaluationDue = true;
    return evaluateLoop();
  };
  // A probe run that changed its probe's state is evaluated when the store has it, not at the next tick.
  options.decided?.((probe) => {
    if (stopped || !lease?.holds()) return;
    pushedProbes.add(probe);
    void evaluateLoop(true);
  });
  let inOutage = false;
  const storeLoop = loop('store', async () => {
    await degraded!.check();
    if (inOutage === degraded!.inOutage()) return;
    inOutage = degraded!.inOutage();
    if (inOutage) return;
    // The store is back: the degraded mode wrote the incidents it held, and what waited in the outbox goes out now.
    lifecycle.forget();
    void outbox!.deliverDue();
  });
  const pruneLoop = loop('prune', async () => {
    if (!lease!.holds()) return;
    const removed = await pruneBefore(db, now() - alerts.retention);
    if (removed > 0) logger.info({ removed }, 'pruned alerts history past its retention');
  });

  function health(): Health {
    if (!lease?.holds()) return { ok: true };
    if (evaluationFailures.length > 0) return { ok: false, reason: `alerts: ${evaluationFailures.length} rule(s) or incident(s) could not be evaluated (${evaluationFailures[0]})` };
    if (lastEvaluatedAt !== undefined && now() - lastEvaluatedAt > 3 * alerts.evaluationInterval + 60_000) return { ok: false, reason: 'alerts: no evaluation has finished for a while' };
    return { ok: true };
  }

  // The outward dead-man's switch: pinged while this process evaluates and is healthy; silence means trouble.
  const heartbeatLoop = loop('heartbeat', async () => {
    const heartbeat = alerts.heartbeat;
    if (!heartbeat || !lease!.holds() || !health().ok || lastEvaluatedAt === undefined) return;
    const ok = await fetch(heartbeat.url, { signal: AbortSignal.timeout(Math.min(10_000, heartbeat.every)) }).then(
      async (response) => (await response.body?.cancel(), response.ok),
      () => false,
    );
    metrics.heartbeats.inc({ outcome: ok ? 'ok' : 'failed' });
    if (!ok) logger.warn('the alerts heartbeat URL did not answer 2xx');
  });

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
      await setUp();
      await renew();
      // Reconcile open incidents with the current state at once, then keep going on the intervals.
      await evaluateAll();
      await outbox!.start();
      await hooksLoop();
      timers.push(clock.setInterval(() => void renew(), alerts.lease.renewEvery));
      timers.push(clock.setInterval(() => void evaluateAll(), alerts.evaluationInterval));
      timers.push(clock.setInterval(() => void storeLoop(), alerts.evaluationInterval));
      timers.push(clock.setInterval(() => void hooksLoop(), alerts.outbox.pollInterval));
      timers.push(clock.setInterval(() => void pruneLoop(), 3_600_000));
      if (alerts.heartbeat) timers.push(clock.setInterval(() => void heartbeatLoop(), alerts.heartbeat.every));
    },
    async stop(deadline) {
      if (stopped) return;
      stopped = true;
      for (const timer of timers) timer.cancel();
      const finished = Promise.all([...inFlight.values(), outbox?.stop(), ...[...receivers.values()].map((receiver) => receiver.stopJobs?.())]);
      await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
      await lease?.release().catch(() => {});
      for (const receiver of receivers.values()) receiver.close?.();
    },
    health,
    async idle() {
      while (inFlight.size > 0) await Promise.all(inFlight.values());
      await outbox?.idle();
    },
    async runOnce() {
      await renew();
      await evaluateAll();
      await outbox!.deliverDue();
      await hooksLoop();
      await outbox!.idle();
    },
    isLeader: () => lease?.holds() ?? false,
  };
  return Object.assign(component, { router, lifecycle, receivers });
}
