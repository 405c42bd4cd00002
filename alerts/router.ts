import type { Queryable } from '../core/db/index.ts';
import { resetsOf } from './admin.ts';
import { maintenanceCovering } from './maintenance.ts';
import type { AlertsConfig, Labels, RouteConfig, TimeWindow } from './config.ts';
import { labelKey, matches } from './matchers.ts';
import type { Receiver } from './receivers/receiver.ts';
import { toIncident, type Incident, type IncidentRow, type NotificationEvent } from './types.ts';

interface MatchedRoute {
  index: number;
  route: RouteConfig;
}

/** Ordered routes: the first match wins unless it says `continue`. */
export function routesFor(routes: readonly RouteConfig[], labels: Labels): MatchedRoute[] {
  const matched: MatchedRoute[] = [];
  for (const [index, route] of routes.entries()) {
    if (!matches(route.match, labels)) continue;
    matched.push({ index, route });
    if (!route.continue) break;
  }
  return matched;
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export function insideWindow(window: TimeWindow, at: number): boolean {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: window.timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  const day = WEEKDAYS[['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday ?? '')];
  const minute = `${parts.hour}:${parts.minute}`;
  return window.days.includes(day as TimeWindow['days'][number]) && minute >= window.from && minute < window.to;
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

export interface Router {
  /** Queues `event` for every receiver of the routes the incident matches (idempotent per incident, receiver, event). */
  notify(q: Queryable, incident: Incident, event: NotificationEvent, options?: { sequence?: number }): Promise<void>;
  /** For an open incident: queues due reminders and releases notifications whose mute has ended. */
  refresh(q: Queryable, incident: Incident): Promise<void>;
  /** Why notifications about these labels are muted now (silence, maintenance, inhibition), if they are. */
  muteReason(q: Queryable, incident: Incident): Promise<string | undefined>;
}

export function createRouter(config: AlertsConfig, receivers: ReadonlyMap<string, Receiver>, now: () => number): Router {
  async function muteReason(q: Queryable, incident: Incident): Promise<string | undefined> {
    const at = now();
    const silences = await q.query<{ id: number; matchers: Labels }>('select id, matchers from alerts_silences where starts_at <= $1 and ends_at > $1 order by id', [at]);
    const silence = silences.find((candidate) => matches(candidate.matchers, incident.labels));
    if (silence) return `silence #${silence.id}`;
    const maintenance = await maintenanceCovering(q, incident.labels, at);
    if (maintenance) return `maintenance #${maintenance.id}`;
    const inhibitions = config.inhibit.filter((rule) => matches(rule.target, incident.labels) && !matches(rule.source, incident.labels));
    if (inhibitions.length > 0) {
      const open = (await q.query<IncidentRow>(`select * from alerts_incidents where state in ('firing', 'escalated') and id <> $1`, [incident.id])).map(toIncident);
      for (const rule of inhibitions) {
        const source = open.find((candidate) => matches(rule.source, candidate.labels) && rule.equal.every((name) => candidate.labels[name] === incident.labels[name]));
        if (source) return `inhibited by incident #${source.id}`;
      }
    }
    return undefined;
  }

  async function groupStart(q: Queryable, route: MatchedRoute, incident: Incident): Promise<number> {
    const firedAt = incident.firedAt ?? now();
    if (route.route.groupBy.length === 0) return firedAt;
    const open = (await q.query<IncidentRow>(`select * from alerts_incidents where state in ('firing', 'escalated')`)).map(toIncident);
    const peers = open.filter((other) => route.route.groupBy.every((name) => other.labels[name] === incident.labels[name]) && routesFor(config.routes, other.labels).some((r) => r.index === route.index));
    return Math.min(firedAt, ...peers.map((peer) => peer.firedAt ?? firedAt));
  }

  const groupKeyOf = (route: MatchedRoute, incident: Incident) =>
    route.route.groupBy.length === 0 ? `${route.index}:#${incident.id}` : `${route.index}:${labelKey(Object.fromEntries(route.route.groupBy.map((name) => [name, incident.labels[name] ?? ''])))}`;

  async function enqueue(q: Queryable, incident: Incident, route: MatchedRoute, receiver: string, event: NotificationEvent, sequence: number | undefined, mute: string | undefined): Promise<void> {
    const key = `${incident.id}:${receiver}:${event}${sequence === undefined ? '' : `-${sequence}`}`;
    if (event === 'up' || event === 'repeat') {
      if (mute) return;
      // UP only follows an opening message that went out (or is still going out, ahead of it in order).
      const openings = await q.query<{ status: string }>(
        `select status from alerts_notifications where incident_id = $1 and receiver = $2 and event in ('warning', 'flapping', 'emergency') and status in ('pending', 'delivered') limit 1`,
        [incident.id, receiver],
      );
      if (openings.length === 0 && event === 'up') return;
    }
    const opening = event === 'warning' || event === 'flapping';
    const dueAt = opening ? Math.max(now(), (await groupStart(q, route, incident)) + route.route.groupWait) : now();
    await q.query(
      `insert into alerts_notifications (key, incident_id, receiver, event, fallback, group_key, status, muted_by, created_at, next_attempt_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict (key) do nothing`,
      [key, incident.id, receiver, event, route.route.fallback ?? null, groupKeyOf(route, incident), mute ? 'muted' : 'pending', mute ?? null, now(), dueAt],
    );
  }

  function outsideActiveTimes(route: RouteConfig): string | undefined {
    if (!route.activeTimes || route.activeTimes.some((window) => insideWindow(window, now()))) return undefined;
    return 'outside the route\'s active times';
  }

  async function notify(q: Queryable, incident: Incident, event: NotificationEvent, options: { sequence?: number } = {}): Promise<void> {
    const mute = await muteReason(q, incident);
    for (const route of routesFor(config.routes, incident.labels)) {
      for (const name of route.route.receivers) {
        if (!receivers.get(name)?.events.includes(event)) continue;
        await enqueue(q, incident, route, name, event, options.sequence, mute ?? outsideActiveTimes(route.route));
      }
    }
  }

  return {
    muteReason,
    notify,
    async refresh(q, incident) {
      if (incident.state !== 'firing' && incident.state !== 'escalated') return;
      const mute = await muteReason(q, incident);
      if (!mute) {
        const muted = await q.query<{ id: number; group_key: string }>(`select id, group_key from alerts_notifications where incident_id = $1 and status = 'muted'`, [incident.id]);
        for (const row of muted) {
          const route = config.routes[Number(row.group_key.split(':')[0])];
          if (route && outsideActiveTimes(route)) continue;
          await q.query(`update alerts_notifications set status = 'pending', muted_by = null, next_attempt_at = $2 where id = $1 and status = 'muted'`, [row.id, now()]);
        }
      }
      const resets = await resetsOf(q, incident.id);
      if (resets > 0) await notify(q, incident, 'retry', { sequence: resets });
      if (incident.flapping || incident.ackedAt !== null) return;
      // Reminders count from when the receiver got the opening message (a muted opening means no reminders yet).
      const openings = await q.query<{ receiver: string; delivered_at: number }>(
        `select receiver, min(delivered_at) as delivered_at from alerts_notifications where incident_id = $1 and event in ('warning', 'flapping') and status = 'delivered' group by receiver`,
        [incident.id],
      );
      for (const route of routesFor(config.routes, incident.labels)) {
        for (const name of route.route.receivers) {
          const opened = openings.find((opening) => opening.receiver === name);
          if (!opened || !receivers.get(name)?.events.includes('repeat')) continue;
          const due = repeatsDue(route.route, opened.delivered_at, now());
          if (due > 0) await enqueue(q, incident, route, name, 'repeat', due, mute ?? outsideActiveTimes(route.route));
        }
      }
    },
  };
}
