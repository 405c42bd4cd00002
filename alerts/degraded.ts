// Alerting while the store is unreachable. The incidents, the router and the outbox all live in the store, so once it
// has been away longer than a grace this process (if it was the one delivering) raises a built-in "store unavailable"
// incident and the probe rules' incidents from the probe runs it holds in memory, and sends their opening messages
// straight to the out-of-band receivers. When the store returns they are written with their times and the deliveries
// made, so the normal path takes them over: the store incident is resolved at once (its UP says how long the store
// was down), the probe incidents by the next evaluation of the results written meanwhile.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../core/db/index.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import { asDependencyUnavailable } from '../core/unavailable.ts';
import type { AlertsHostConfig } from './config.ts';
import { notificationKey, STORE_UNAVAILABLE_RULE } from './decide.ts';
import { fingerprintOf } from './incidents.ts';
import { DeliveryError } from '../core/outbox.ts';
import { deliverWithin, type Receiver } from './receivers/receiver.ts';
import { RECEIVERS } from './receivers/index.ts';
import type { Router } from './router.ts';
import { insertDeliveredNotification, insertRecoveredIncident, openIncidentByFingerprint, updateIncident } from './store.ts';
import type { Incident, Observation, SignalSource } from './types.ts';
import type { Queryable } from '../core/db/index.ts';

const STORE_LABELS = { service: 'vigil', component: 'store', severity: 'critical' };

/** The receivers that hear from memory: those marked `outOfBand`, else every receiver of a kind that reaches people (email, Slack). */
export function outOfBandReceivers(receivers: AlertsHostConfig['alerts']['receivers']): string[] {
  const marked = Object.entries(receivers).filter(([, settings]) => settings.outOfBand);
  if (marked.length > 0) return marked.map(([name]) => name);
  return Object.entries(receivers)
    .filter(([, settings]) => RECEIVERS.find((kind) => kind.type === settings.type)?.outOfBandByDefault)
    .map(([name]) => name);
}

interface HeldIncident {
  incident: Incident;
  /** Receiver → when its opening message was delivered, and what the receiver recorded of it (Slack: the post to thread on). */
  delivered: Map<string, { at: number; result: Record<string, unknown> | undefined }>;
  /** Receivers whose last attempt may have arrived (no answer in time): the next one looks first where it can (Slack). */
  inDoubt: Set<string>;
}

interface Outage {
  since: number;
  cause: string;
  /** Only the process that held the lease when the store went away speaks for the alerts role. */
  speaks: boolean;
  held: Map<string, HeldIncident>;
}

export interface DegradedOptions {
  config: AlertsHostConfig;
  db: Db;
  logger: Logger;
  registry: Registry;
  now: () => number;
  receivers: ReadonlyMap<string, Receiver>;
  /** The probe rules' observations from this process's own probe runs. */
  localSource: SignalSource;
  /** Probe results of this process not in the store yet: the outage is closed only once they are. */
  pendingResults: () => number;
  /** Whether this process held the lease (its token) when the store stopped answering. */
  wasLeader: () => boolean;
  /** Whether this process holds the lease again, and the fence of its writes. */
  holds: () => boolean;
  fence: (q: Queryable) => Promise<void>;
  router: Router;
}

export function createDegradedMode(options: DegradedOptions) {
  const { db, logger, now } = options;
  const outOfBand = outOfBandReceivers(options.config.alerts.receivers);
  const grace = options.config.alerts.storeOutageGrace;
  const sent =
    (options.registry.getSingleMetric('vigil_alerts_out_of_band_notifications_total') as Counter<'receiver' | 'outcome'> | undefined) ??
    new Counter({
      name: 'vigil_alerts_out_of_band_notifications_total',
      help: 'Notifications sent straight to an out-of-band receiver while the store was unreachable, by receiver and outcome (delivered, failed: tried again next pass).',
      labelNames: ['receiver', 'outcome'],
      registers: [options.registry],
    });
  let outage: Outage | undefined;
  /** Fingerprints active at the last evaluation on the store: they were announced already, so an outage does not repeat them. */
  let activeBefore = new Set<string>();
  if (!options.registry.getSingleMetric('vigil_alerts_store_unavailable_seconds')) {
    new Gauge({
      name: 'vigil_alerts_store_unavailable_seconds',
      help: 'How long the alerts role has found the store unreachable (0 while it answers).',
      registers: [options.registry],
      collect() {
        this.set(outage ? (now() - outage.since) / 1000 : 0);
      },
    });
  }

  /** To every out-of-band receiver that has not had it, side by side and each within its timeout: a hung one holds back no other. */
  async function deliver(held: HeldIncident): Promise<void> {
    const key = `out-of-band:${held.incident.fingerprint}:${outage!.since}`;
    await Promise.all(
      outOfBand.map(async (name) => {
        const receiver = options.receivers.get(name);
        if (!receiver || held.delivered.has(name) || !receiver.events.includes('warning')) return;
        try {
          const result = await deliverWithin(receiver, { key, event: 'warning', incidents: [held.incident], threads: [undefined], earlier: [], progress: {}, inDoubt: held.inDoubt.has(name) }, options.config.alerts.outbox.timeout);
          held.delivered.set(name, { at: now(), result });
          sent.inc({ receiver: name, outcome: 'delivered' });
        } catch (error) {
          // As in the outbox: the next attempt is in doubt only when this one may have arrived (a paced call did not).
          if (error instanceof DeliveryError && error.inDoubt) held.inDoubt.add(name);
          else held.inDoubt.delete(name);
          sent.inc({ receiver: name, outcome: 'failed' });
          logger.warn({ receiver: name, rule: held.incident.rule, err: (error as Error).message }, 'out-of-band notification failed; tried again at the next pass');
        }
      }),
    );
  }

  /** One pass while the store is away: raise what is active now from memory and send what has not reached its receivers. */
  async function speak(current: Outage): Promise<void> {
    const at = now();
    const store: Observation = {
      rule: STORE_UNAVAILABLE_RULE,
      labels: STORE_LABELS,
      active: true,
      summary: `the store has been unreachable since ${new Date(current.since).toISOString()} (${current.cause}); alerts are evaluated from memory`,
    };
    const local = await options.localSource(at).catch(() => []);
    for (const observation of [store, ...local]) {
      const fingerprint = fingerprintOf(observation.rule, observation.labels);
      if (observation.active !== true || activeBefore.has(fingerprint)) continue;
      let held = current.held.get(fingerprint);
      if (!held) {
        const startedAt = observation.rule === STORE_UNAVAILABLE_RULE ? current.since : at;
        const incident: Incident = {
          id: 0, fingerprint, rule: observation.rule, labels: observation.labels, summary: observation.summary, lastSummary: null, state: 'firing', flapping: false,
          startedAt, firedAt: at, escalatedAt: null, resolvedAt: null, ackedBy: null, ackedAt: null, resets: 0,
        };
        current.held.set(fingerprint, (held = { incident, delivered: new Map(), inDoubt: new Set() }));
        logger.warn({ rule: observation.rule, summary: observation.summary }, 'incident raised from memory while the store is unreachable');
      }
      await deliver(held);
    }
  }

  /** The store answers again: write what was raised and sent meanwhile, then hand over to the normal path. */
  async function catchUp(current: Outage): Promise<boolean> {
    if (options.pendingResults() > 0 || !options.holds()) return false;
    const at = now();
    for (const held of current.held.values()) {
      await db.transaction(async (q) => {
        await options.fence(q);
        const incident =
          (await openIncidentByFingerprint(q, held.incident.fingerprint)) ??
          (await insertRecoveredIncident(q, { ...held.incident, firedAt: held.incident.firedAt ?? at }));
        for (const [receiver, { at: deliveredAt, result }] of held.delivered) {
          await insertDeliveredNotification(q, {
            key: notificationKey(incident.id, { receiver }, 'warning'),
            incidentId: incident.id,
            receiver,
            event: 'warning',
            groupKey: `out-of-band:${incident.id}`,
            createdAt: held.incident.firedAt ?? at,
            deliveredAt,
            result,
          });
        }
        if (incident.rule === STORE_UNAVAILABLE_RULE) {
          const resolved = await updateIncident(q, incident.id, { state: 'resolved', resolvedAt: at });
          await options.router.notify(q, resolved, 'up');
        }
      });
    }
    logger.info({ downSeconds: Math.round((at - current.since) / 1000), incidents: current.held.size }, 'the store is reachable again: incidents raised from memory written to it');
    return true;
  }

  return {
    /** While true the normal evaluation and delivery wait: what happened during the outage is written first. */
    inOutage: () => outage !== undefined,
    /** Remembers what the normal evaluation found active. */
    evaluated(observations: readonly Observation[]): void {
      activeBefore = new Set(observations.filter((observation) => observation.active === true).map((observation) => fingerprintOf(observation.rule, observation.labels)));
    },
    /** One look at the store: starts, continues or ends the outage. */
    async check(): Promise<void> {
      try {
        await db.ping(2000);
      } catch (error) {
        const unavailable = asDependencyUnavailable(error, 'database');
        const cause = unavailable?.failure ?? 'no answer';
        if (!outage) {
          outage = { since: now(), cause, speaks: options.wasLeader(), held: new Map() };
          logger.warn({ cause, graceSeconds: grace / 1000 }, 'the store is unreachable: alerts wait for the grace, then are raised from memory');
        }
        if (outage.speaks && now() - outage.since >= grace) await speak(outage);
        return;
      }
      if (outage && (await catchUp(outage))) outage = undefined;
    },
  };
}

export type DegradedMode = ReturnType<typeof createDegradedMode>;
