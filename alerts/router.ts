import type { Queryable } from '../core/db/index.ts';
import type { AlertsConfig } from './config.ts';
import { decide, groupKeyOf, groupStart, routesFor, type MatchedRoute } from './decide.ts';
import { activeTimesMuter, inhibitionMuter, maintenanceMuter, muteReason, silenceMuter } from './mute.ts';
import type { Receiver } from './receivers/receiver.ts';
import { firingIncidents, insertNotification, maintenancesOverlapping, notificationHistory, releaseMuted, silencesActiveAt } from './store.ts';
import type { Incident, NotificationEvent } from './types.ts';

export interface Router {
  /** Queues `event` for everyone the incident's routes name (idempotent per incident, receiver, event and sequence). */
  notify(q: Queryable, incident: Incident, event: NotificationEvent, sequence?: number): Promise<void>;
  /** For an open incident: releases notifications whose mute has ended, queues RETRYs after resets and due reminders. */
  refresh(q: Queryable, incident: Incident): Promise<void>;
}

/** Loads what the decision reads (history, mutes, firing peers), decides (decide.ts) and writes the outcome. */
export function createRouter(config: AlertsConfig, receivers: ReadonlyMap<string, Receiver>, now: () => number): Router {
  async function route(q: Queryable, incident: Incident, change?: { event: NotificationEvent; sequence?: number }): Promise<void> {
    const at = now();
    const [history, silences, maintenances, firing] = [await notificationHistory(q, incident.id), await silencesActiveAt(q, at), await maintenancesOverlapping(q, { from: at, to: at }), await firingIncidents(q)];
    const muters = [silenceMuter(silences), maintenanceMuter(maintenances, at), inhibitionMuter(config.inhibit, firing)];
    const routes = routesFor(config.routes, incident.labels);
    const decision = decide({
      incident,
      ...(change ? { change } : {}),
      routes,
      accepts: (receiver, event) => receivers.get(receiver)?.events.includes(event) ?? false,
      history,
      mutedOn: (matched?: MatchedRoute) => muteReason(matched ? [...muters, activeTimesMuter(matched.route, at)] : muters, incident),
      openingDueAt: (matched) => groupStart(matched, incident, firing, config.routes, at) + matched.route.groupWait,
      now: at,
    });
    if (decision.release.length > 0) await releaseMuted(q, decision.release, at);
    for (const planned of decision.enqueue) {
      await insertNotification(q, {
        key: planned.key,
        incidentId: incident.id,
        receiver: planned.target.receiver,
        onBehalfOf: planned.target.onBehalfOf,
        event: planned.event,
        fallback: planned.target.onBehalfOf ? undefined : planned.target.route.route.fallback,
        groupKey: groupKeyOf(planned.target.route, incident),
        route: planned.target.route.index,
        mutedBy: planned.mutedBy,
        createdAt: at,
        dueAt: planned.dueAt,
      });
    }
  }

  return {
    notify: (q, incident, event, sequence) => route(q, incident, { event, ...(sequence ? { sequence } : {}) }),
    refresh: (q, incident) => route(q, incident),
  };
}
