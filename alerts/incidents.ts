import type { Queryable } from '../core/db/index.ts';
import type { AlertsConfig, Labels } from './config.ts';
import { escalation, nextSignalState, SELF_RULE_PREFIX } from './decide.ts';
import { labelKey } from './matchers.ts';
import type { Router } from './router.ts';
import { escalationRequests, insertIncident, openIncidentByFingerprint, openIncidents, saveSignalState, signalState, updateIncident } from './store.ts';
import type { Incident, Observation } from './types.ts';

export const fingerprintOf = (rule: string, labels: Labels) => `${rule}|${labelKey(labels)}`;

export interface Lifecycle {
  /** Moves one series' incident along pending → firing → escalated → resolved, notifying through the router. */
  observe(q: Queryable, observation: Observation, forMs: number): Promise<void>;
  /** Whether observing this now would read and write nothing: its series was found at rest and stays inactive. */
  atRest(observation: Observation): boolean;
  /** Forgets which series are at rest: another writer (a leader before a takeover, the degraded mode) may have moved them. */
  forget(): void;
  /** Resolves open incidents nobody observes any more (their rule or probe was removed). */
  reconcile(q: Queryable, observed: ReadonlySet<string>): Promise<void>;
}

export function createLifecycle(config: AlertsConfig, router: Router, now: () => number): Lifecycle {
  // Series seen with no open incident, and of those the ones whose stored condition is inactive with no flip left to age
  // out. Only this process's observe() moves them while it holds the lease, so an unknown observation of the first or an
  // inactive one of the second changes nothing: most rules, most of the time, skip their transaction (a fence, two reads).
  const withoutIncident = new Set<string>();
  const settledInactive = new Set<string>();
  const create = (q: Queryable, observation: Observation, state: 'pending' | 'firing', flapping = false) =>
    insertIncident(q, { fingerprint: fingerprintOf(observation.rule, observation.labels), rule: observation.rule, labels: observation.labels, summary: observation.summary, state, flapping, now: now() });

  async function resolve(q: Queryable, incident: Incident): Promise<void> {
    const resolved = await updateIncident(q, incident.id, { state: 'resolved', resolvedAt: now(), flapping: false });
    // A pending incident never announced itself, so its end is not news either.
    if (incident.state !== 'pending') await router.notify(q, resolved, 'up');
  }

  /** EMERGENCY when firing too long or when a hook asked; once more after each reset whose budget ran out again. */
  async function escalateIfDue(q: Queryable, incident: Incident): Promise<Incident> {
    const requests = await escalationRequests(q, incident.id);
    const due = escalation(incident, now(), config.escalateAfter, requests);
    if (!due) return incident;
    const reason = ` (${due.reason})`;
    let escalated = incident;
    if (incident.state === 'firing') escalated = await updateIncident(q, incident.id, { state: 'escalated', escalatedAt: now(), summary: `${incident.summary}${reason}` });
    else if (!incident.summary.endsWith(reason)) {
      // A reset whose budget ran out again: this EMERGENCY names this round's attempts, not the earlier round's.
      const earlier = requests.map((request) => ` (${request.reason})`).find((text) => incident.summary.endsWith(text));
      escalated = await updateIncident(q, incident.id, { summary: `${earlier ? incident.summary.slice(0, -earlier.length) : incident.summary}${reason}` });
    }
    await router.notify(q, escalated, 'emergency', due.sequence);
    return escalated;
  }

  return {
    atRest(observation) {
      const fingerprint = fingerprintOf(observation.rule, observation.labels);
      if (observation.active === true || !withoutIncident.has(fingerprint)) return false;
      return observation.active === undefined || settledInactive.has(fingerprint);
    },
    forget() {
      withoutIncident.clear();
      settledInactive.clear();
    },
    async observe(q, observation, forMs) {
      const fingerprint = fingerprintOf(observation.rule, observation.labels);
      withoutIncident.delete(fingerprint);
      settledInactive.delete(fingerprint);
      let incident = await openIncidentByFingerprint(q, fingerprint);
      if (observation.active === undefined) {
        if (incident) await router.refresh(q, await escalateIfDue(q, incident));
        else withoutIncident.add(fingerprint);
        return;
      }
      const stored = await signalState(q, fingerprint);
      if (!incident && !observation.active && stored && !stored.active && !stored.flapping && stored.flips.length === 0) {
        withoutIncident.add(fingerprint);
        settledInactive.add(fingerprint);
        return;
      }
      const signal = nextSignalState(stored, observation.active, now(), config.flapping);
      // Most evaluations change nothing: write only when something did.
      if (!stored || stored.active !== signal.active || stored.flapping !== signal.flapping || stored.flips.length !== signal.flips.length) await saveSignalState(q, fingerprint, signal);
      if (signal.flapping) {
        if (!incident) incident = await create(q, observation, 'firing', true);
        else if (!incident.flapping) incident = await updateIncident(q, incident.id, { flapping: true, state: incident.state === 'pending' ? 'firing' : incident.state, firedAt: incident.firedAt ?? now() });
        await router.notify(q, incident, 'flapping');
        return;
      }
      if (signal.settled && incident) incident = await updateIncident(q, incident.id, { flapping: false });

      if (!observation.active) {
        if (incident) await resolve(q, incident);
        return;
      }
      if (!incident) incident = await create(q, observation, forMs > 0 ? 'pending' : 'firing');
      else if (incident.state === 'pending' && now() - incident.startedAt >= forMs) incident = await updateIncident(q, incident.id, { state: 'firing', firedAt: now() });
      else if (observation.summary !== (incident.lastSummary ?? incident.summary)) incident = await updateIncident(q, incident.id, { lastSummary: observation.summary });
      if (incident.state === 'pending') return;
      const current = await escalateIfDue(q, incident);
      // Escalating is this evaluation's news; the WARNING went out when it fired.
      if (current.state !== incident.state) return;
      await router.notify(q, current, 'warning');
      await router.refresh(q, current);
    },
    async reconcile(q, observed) {
      for (const incident of await openIncidents(q)) {
        if (!incident.rule.startsWith(SELF_RULE_PREFIX) && !observed.has(incident.fingerprint)) await resolve(q, incident);
      }
    },
  };
}
