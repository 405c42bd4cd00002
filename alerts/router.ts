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
  /**
   * Runs one evaluation pass. The reads every incident's decision shares (silences, maintenance, the firing incidents)
   * are made once in it: a pass over hundreds of open incidents otherwise read the whole firing list for each.
   */
  pass<T>(work: () => Promise<T>): Promise<T>;
}

interface SharedReads {
  silences: Awaited<ReturnType<typeof silencesActiveAt>>;
  maintenances: Awaited<ReturnType<typeof maintenancesOverlapping>>;
  firing: Incident[];
}

const readShared = async (q: Queryable, at: number): Promise<SharedReads> => ({
  silences: await silencesActiveAt(q, at),
  maintenances: await maintenancesOverlapping(q, { from: at, to: at }),
  firing: await firingIncidents(q),
});

/** Loads what the decision reads (history, mutes, firing peers), decides (decide.ts) and writes the outcome. */
export function createRouter(config: AlertsConfig, receivers: ReadonlyMap<string, Receiver>, now: () => number): Router {
  let inPass = false;
  let shared: Promise<SharedReads> | undefined;

  /**
   * Within a pass, the shared reads are made once and kept up to date with the one incident each routing is about:
   * a pass changes incidents only through the routing of each (its own transaction), so the list stays what a fresh
   * read would give.
   */
  async function sharedReads(q: Queryable, at: number, incident: Incident): Promise<SharedReads> {
    if (!inPass) return readShared(q, at);
    shared ??= readShared(q, at).catch((error: unknown) => {
      shared = undefined;
      throw error;
    });
    const reads = await shared;
    const firing = reads.firing.filter((peer) => peer.id !== incident.id);
    if (incident.state === 'firing' || incident.state === 'escalated') firing.push(incident);
    reads.firing = firing.sort((a, b) => a.id - b.id);
    return reads;
  }

  async function route(q: Queryable, incident: Incident, change?: { event: NotificationEvent; sequence?: number }): Promise<void> {
    const at = now();
    const history = await notificationHistory(q, incident.id);
    const { silences, maintenances, firing } = await sharedReads(q, at, incident);
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
    async pass(work) {
      inPass = true;
      shared = undefined;
      try {
        return await work();
      } finally {
        inPass = false;
        shared = undefined;
      }
    },
  };
}
