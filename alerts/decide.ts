// The router's and the lifecycle's decisions as pure functions of (state, input, now): which routes match, who hears
// about an incident, what to send now, when reminders are due, when an incident flaps or escalates.
import type { AlertsConfig, Labels, RouteConfig } from './config.ts';
import { compileMatchers, labelKey } from './matchers.ts';
import type { NotificationRecord, SignalState } from './store.ts';
import type { Incident, NotificationEvent } from './types.ts';

/** Rules Vigil raises about itself; not reconciled against the configured rules. */
export const SELF_RULE_PREFIX = 'vigil.';
/** The built-in rule: a receiver's notification failed for good (its fallback hears about it, never the receiver itself). */
export const DELIVERY_FAILED_RULE = `${SELF_RULE_PREFIX}delivery-failed`;
/** The built-in rule: rules or incidents could not be evaluated. */
export const EVALUATION_FAILED_RULE = `${SELF_RULE_PREFIX}evaluation-failed`;
/** The built-in rule: the store has been unreachable longer than alerts.storeOutageGrace (raised from memory). */
export const STORE_UNAVAILABLE_RULE = `${SELF_RULE_PREFIX}store-unavailable`;

export interface MatchedRoute {
  index: number;
  route: RouteConfig;
}

/** Ordered routes: the first match wins unless it says `continue`. */
export function routesFor(routes: readonly RouteConfig[], labels: Labels): MatchedRoute[] {
  const matched: MatchedRoute[] = [];
  for (const [index, route] of routes.entries()) {
    if (!compileMatchers(route.match).test(labels)) continue;
    matched.push({ index, route });
    if (!route.continue) break;
  }
  return matched;
}

/** The nth reminder is due `repeatInterval × factor^(n-1)` (capped at repeatMax) after the previous one. */
export function repeatsDue(route: RouteConfig, since: number, now: number): number {
  let due = 0;
  let at = since;
  for (;;) {
    const gap = Math.min(route.repeatInterval * route.repeatFactor ** due, route.repeatMax);
    if (gap <= 0 || at + gap > now) return due;
    at += gap;
    due += 1;
  }
}

const OPENINGS: readonly NotificationEvent[] = ['warning', 'flapping', 'emergency'];

/**
 * UP and reminders only follow an opening message that reached the receiver: "send" once one was delivered, "hold"
 * while one is still on its way (ahead in the receiver's order), "skip" when none went out (muted, failed, none).
 */
export function followUp(history: readonly NotificationRecord[], receiver: string): 'send' | 'hold' | 'skip' {
  const openings = history.filter((row) => row.receiver === receiver && OPENINGS.includes(row.event));
  if (openings.some((row) => row.status === 'delivered')) return 'send';
  return openings.some((row) => row.status === 'pending') ? 'hold' : 'skip';
}

/** One receiver to tell about an incident: the route's own, or the fallback standing in for it. */
export interface Target {
  route: MatchedRoute;
  /** The receiver the message goes to. */
  receiver: string;
  /** Set when `receiver` is a fallback standing in for this one. */
  onBehalfOf?: string;
}

/**
 * Who hears about an incident. A receiver whose delivery for this incident failed for good has handed the rest of
 * the story to its route's fallback; a receiver is never told about its own delivery failure (its fallback is).
 */
export function targetsFor(incident: Incident, routes: readonly MatchedRoute[], history: readonly NotificationRecord[]): Target[] {
  const targets: Target[] = [];
  for (const route of routes) {
    const fallback = route.route.fallback;
    for (const receiver of route.route.receivers) {
      if (incident.rule === DELIVERY_FAILED_RULE && incident.labels.receiver === receiver) {
        if (fallback && fallback !== receiver) targets.push({ route, receiver: fallback });
        continue;
      }
      const tookOver = fallback && fallback !== receiver && history.some((row) => row.receiver === receiver && row.onBehalfOf === null && row.status === 'failed');
      targets.push(tookOver ? { route, receiver: fallback, onBehalfOf: receiver } : { route, receiver });
    }
  }
  return targets;
}

export function notificationKey(incidentId: number, target: Pick<Target, 'receiver' | 'onBehalfOf'>, event: NotificationEvent, sequence?: number): string {
  const base = `${incidentId}:${target.onBehalfOf ?? target.receiver}:${event}${sequence === undefined || sequence === 0 ? '' : `-${sequence}`}`;
  return target.onBehalfOf ? `${base}:fallback` : base;
}

export function groupKeyOf(route: MatchedRoute, incident: Incident): string {
  if (route.route.groupBy.length === 0) return `${route.index}:#${incident.id}`;
  return `${route.index}:${labelKey(Object.fromEntries(route.route.groupBy.map((name) => [name, incident.labels[name] ?? ''])))}`;
}

/** When the group an incident joins on this route started firing: its opening waits `groupWait` from then. */
export function groupStart(route: MatchedRoute, incident: Incident, firing: readonly Incident[], routes: readonly RouteConfig[], now: number): number {
  const firedAt = incident.firedAt ?? now;
  if (route.route.groupBy.length === 0) return firedAt;
  const peers = firing.filter((other) => route.route.groupBy.every((name) => other.labels[name] === incident.labels[name]) && routesFor(routes, other.labels).some((r) => r.index === route.index));
  return Math.min(firedAt, ...peers.map((peer) => peer.firedAt ?? firedAt));
}

/** A notification the router queues. */
export interface Planned {
  key: string;
  target: Target;
  event: NotificationEvent;
  mutedBy: string | undefined;
  dueAt: number;
}

export interface DecideInput {
  incident: Incident;
  /** A state change to announce (with a sequence for the second and later of a kind), or a periodic look (`undefined`). */
  change?: { event: NotificationEvent; sequence?: number };
  routes: readonly MatchedRoute[];
  /** The events each receiver acts on. */
  accepts: (receiver: string, event: NotificationEvent) => boolean;
  history: readonly NotificationRecord[];
  /** Why notifications on this route (or on no route: silences, maintenance, inhibition only) are held back now. */
  mutedOn: (route: MatchedRoute | undefined) => string | undefined;
  /** When an opening on this route may go out (group wait). */
  openingDueAt: (route: MatchedRoute) => number;
  now: number;
}

export interface Decision {
  enqueue: Planned[];
  /** Muted notifications whose mute has ended. */
  release: number[];
}

/**
 * What to send about an incident now. A change queues its event for every target; a periodic look releases
 * notifications whose mute ended, queues a RETRY per reset and the reminders that fell due.
 */
export function decide(input: DecideInput): Decision {
  const { incident, history, now } = input;
  const targets = targetsFor(incident, input.routes, history);
  const enqueue: Planned[] = [];
  const plan = (target: Target, event: NotificationEvent, sequence?: number) => {
    if (!input.accepts(target.receiver, event)) return;
    const mutedBy = input.mutedOn(target.route);
    if (event === 'up' || event === 'repeat') {
      if (mutedBy || followUp(history, target.receiver) === 'skip') return;
    }
    const opening = event === 'warning' || event === 'flapping';
    enqueue.push({ key: notificationKey(incident.id, target, event, sequence), target, event, mutedBy, dueAt: opening ? Math.max(now, input.openingDueAt(target.route)) : now });
  };

  if (input.change) {
    for (const target of targets) plan(target, input.change.event, input.change.sequence);
    return { enqueue, release: [] };
  }
  if (incident.state !== 'firing' && incident.state !== 'escalated') return { enqueue, release: [] };

  const routeOf = new Map(input.routes.map((route) => [route.index, route]));
  const release = history.filter((row) => row.status === 'muted' && !input.mutedOn(row.route === null ? undefined : routeOf.get(row.route))).map((row) => row.id);
  for (const target of targets) {
    if (incident.resets > 0) plan(target, 'retry', incident.resets);
    if (incident.flapping || incident.ackedAt !== null) continue;
    // Reminders count from when the receiver got the opening message (a muted opening means no reminders yet).
    const opened = history.filter((row) => row.receiver === target.receiver && (row.event === 'warning' || row.event === 'flapping') && row.status === 'delivered' && row.deliveredAt !== null);
    if (opened.length === 0) continue;
    const due = repeatsDue(target.route.route, Math.min(...opened.map((row) => row.deliveredAt!)), now);
    if (due > 0) plan(target, 'repeat', due);
  }
  return { enqueue, release };
}

/**
 * Records a change of a series' raw condition: flapping starts at `changes` changes within the window and ends once a
 * whole window passes without one (`settled`).
 */
export function nextSignalState(stored: SignalState | undefined, active: boolean, now: number, flapping: AlertsConfig['flapping']): SignalState & { settled: boolean } {
  const flips = (stored?.flips ?? []).filter((at) => at > now - flapping.window);
  if (stored && stored.active !== active) flips.push(now);
  const wasFlapping = stored?.flapping ?? false;
  const isFlapping = flips.length >= flapping.changes || (wasFlapping && flips.length > 0);
  return { active, flips, flapping: isFlapping, settled: wasFlapping && !isFlapping };
}

/** A hook's request to escalate (its budget is spent), made while the incident had been reset `sequence` times. */
export interface EscalationRequest {
  reason: string;
  sequence: number;
}

/**
 * Whether an incident escalates to EMERGENCY now, and as which EMERGENCY (a second one after each reset whose hook
 * budget ran out again): when a hook asked, or when it has been firing for `escalateAfter`.
 */
export function escalation(incident: Incident, now: number, escalateAfter: number, requests: readonly EscalationRequest[]): EscalationRequest | undefined {
  if (incident.state !== 'firing' && incident.state !== 'escalated') return undefined;
  const latest = [...requests].sort((a, b) => b.sequence - a.sequence)[0];
  if (latest && (incident.state === 'firing' || latest.sequence > 0)) return latest;
  if (incident.state === 'firing' && incident.firedAt !== null && now - incident.firedAt >= escalateAfter) return { reason: `still down after ${Math.round(escalateAfter / 60_000)} min`, sequence: 0 };
  return undefined;
}
