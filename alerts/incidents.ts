import type { Queryable } from '../core/db/index.ts';
import type { AlertsConfig, Labels } from './config.ts';
import { labelKey } from './matchers.ts';
import type { Router } from './router.ts';
import { toIncident, type Incident, type IncidentRow, type Observation } from './types.ts';

/** Rules Vigil raises about itself (a delivery that failed for good); not reconciled against the configured rules. */
export const SELF_RULE_PREFIX = 'vigil.';

export const fingerprintOf = (rule: string, labels: Labels) => `${rule}|${labelKey(labels)}`;

export async function openIncident(q: Queryable, fingerprint: string): Promise<Incident | undefined> {
  const [row] = await q.query<IncidentRow>(`select * from alerts_incidents where fingerprint = $1 and state <> 'resolved'`, [fingerprint]);
  return row && toIncident(row);
}

export async function loadIncident(q: Queryable, id: number): Promise<Incident | undefined> {
  const [row] = await q.query<IncidentRow>('select * from alerts_incidents where id = $1', [id]);
  return row && toIncident(row);
}

async function setState(q: Queryable, incident: Incident, changes: Partial<Record<'state' | 'fired_at' | 'escalated_at' | 'resolved_at' | 'flapping' | 'summary', unknown>>): Promise<Incident> {
  const names = Object.keys(changes);
  const [row] = await q.query<IncidentRow>(
    `update alerts_incidents set ${names.map((name, index) => `${name} = $${index + 2}`).join(', ')} where id = $1 returning *`,
    [incident.id, ...Object.values(changes)],
  );
  return toIncident(row!);
}

export async function createIncident(q: Queryable, observation: Observation, state: 'pending' | 'firing', now: number, flapping = false): Promise<Incident> {
  const [row] = await q.query<IncidentRow>(
    `insert into alerts_incidents (fingerprint, rule, labels, summary, state, flapping, started_at, fired_at) values ($1, $2, $3, $4, $5, $6, $7, $8) returning *`,
    [fingerprintOf(observation.rule, observation.labels), observation.rule, JSON.stringify(observation.labels), observation.summary, state, flapping, now, state === 'firing' ? now : null],
  );
  return toIncident(row!);
}

interface SignalState {
  active: boolean;
  flips: number[];
  flapping: boolean;
}

/** Records a change of the raw condition and says whether the series is flapping (too many changes in the window). */
async function trackFlips(q: Queryable, config: AlertsConfig, fingerprint: string, active: boolean, now: number): Promise<{ flapping: boolean; settled: boolean }> {
  const [stored] = await q.query<SignalState>('select active, flips, flapping from alerts_signal_states where fingerprint = $1', [fingerprint]);
  const flips = (stored?.flips ?? []).filter((at) => at > now - config.flapping.window);
  if (stored && stored.active !== active) flips.push(now);
  const wasFlapping = stored?.flapping ?? false;
  // Flapping starts at `changes` changes in the window and ends once a whole window passes without one.
  const flapping = flips.length >= config.flapping.changes || (wasFlapping && flips.length > 0);
  await q.query(
    `insert into alerts_signal_states (fingerprint, active, flips, flapping) values ($1, $2, $3, $4)
     on conflict (fingerprint) do update set active = $2, flips = $3, flapping = $4`,
    [fingerprint, active, JSON.stringify(flips), flapping],
  );
  return { flapping, settled: wasFlapping && !flapping };
}

export interface Lifecycle {
  /** Moves one series' incident along pending → firing → escalated → resolved, notifying through the router. */
  observe(q: Queryable, observation: Observation, forMs: number): Promise<void>;
  /** Resolves open incidents nobody observes any more (their rule or probe was removed). */
  reconcile(q: Queryable, observed: ReadonlySet<string>): Promise<void>;
  escalate(q: Queryable, incident: Incident, reason: string): Promise<void>;
  resolve(q: Queryable, incident: Incident): Promise<void>;
}

export function createLifecycle(config: AlertsConfig, router: Router, now: () => number): Lifecycle {
  async function resolve(q: Queryable, incident: Incident): Promise<void> {
    const resolved = await setState(q, incident, { state: 'resolved', resolved_at: now(), flapping: false });
    // A pending incident never announced itself, so its end is not news either.
    if (incident.state !== 'pending') await router.notify(q, resolved, 'up');
  }

  async function escalate(q: Queryable, incident: Incident, reason: string): Promise<void> {
    if (incident.state !== 'firing') return;
    const escalated = await setState(q, incident, { state: 'escalated', escalated_at: now(), summary: `${incident.summary} (${reason})` });
    await router.notify(q, escalated, 'emergency');
  }

  return {
    escalate,
    resolve,
    async observe(q, observation, forMs) {
      const fingerprint = fingerprintOf(observation.rule, observation.labels);
      let incident = await openIncident(q, fingerprint);
      if (observation.active === undefined) {
        if (incident) await router.refresh(q, incident);
        return;
      }
      const { flapping, settled } = await trackFlips(q, config, fingerprint, observation.active, now());
      if (flapping) {
        if (!incident) incident = await createIncident(q, observation, 'firing', now(), true);
        else if (!incident.flapping) incident = await setState(q, incident, { flapping: true, state: incident.state === 'pending' ? 'firing' : incident.state, fired_at: incident.firedAt ?? now() });
        await router.notify(q, incident, 'flapping');
        return;
      }
      if (settled && incident) incident = await setState(q, incident, { flapping: false });

      if (!observation.active) {
        if (incident) await resolve(q, incident);
        return;
      }
      if (!incident) incident = await createIncident(q, observation, forMs > 0 ? 'pending' : 'firing', now());
      else if (incident.state === 'pending' && now() - incident.startedAt >= forMs) incident = await setState(q, incident, { state: 'firing', fired_at: now() });
      else if (incident.state === 'firing' && incident.firedAt !== null && now() - incident.firedAt >= config.escalateAfter) {
        await escalate(q, incident, `still down after ${Math.round(config.escalateAfter / 60_000)} min`);
        return;
      }
      if (incident.state === 'firing' || incident.state === 'escalated') {
        await router.notify(q, incident, 'warning');
        await router.refresh(q, incident);
      }
    },
    async reconcile(q, observed) {
      const open = (await q.query<IncidentRow>(`select * from alerts_incidents where state <> 'resolved'`)).map(toIncident);
      for (const incident of open) {
        if (!incident.rule.startsWith(SELF_RULE_PREFIX) && !observed.has(incident.fingerprint)) await resolve(q, incident);
      }
    },
  };
}
