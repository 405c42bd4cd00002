// Why a notification is held back: silences, maintenance windows, inhibition and a route's active times are all a
// Muter, asked in that order. Pure: the router loads what they read once per decision.
import type { InhibitRule, RouteConfig, TimeWindow } from './config.ts';
import { compileMatchers } from './matchers.ts';
import type { Maintenance, Silence } from './store.ts';
import type { Incident } from './types.ts';

export interface Muter {
  /** Why notifications about this incident are held back now ("silence #3"), or undefined. */
  mutedBy(incident: Incident): string | undefined;
}

export function silenceMuter(silences: readonly Silence[]): Muter {
  const compiled = silences.map((silence) => ({ id: silence.id, matchers: compileMatchers(silence.matchers) }));
  return {
    mutedBy(incident) {
      const silence = compiled.find((candidate) => candidate.matchers.test(incident.labels));
      return silence && `silence #${silence.id}`;
    },
  };
}

export function maintenanceMuter(maintenances: readonly Maintenance[], now: number): Muter {
  const current = maintenances.filter((window) => window.startsAt <= now && now < window.endsAt).map((window) => ({ id: window.id, matchers: compileMatchers(window.matchers) }));
  return {
    mutedBy(incident) {
      const window = current.find((candidate) => candidate.matchers.test(incident.labels));
      return window && `maintenance #${window.id}`;
    },
  };
}

/** An incident matching a rule's target is muted while another firing incident matches its source with the `equal` labels the same. */
export function inhibitionMuter(rules: readonly InhibitRule[], firing: readonly Incident[]): Muter {
  const compiled = rules.map((rule) => ({ source: compileMatchers(rule.source), target: compileMatchers(rule.target), equal: rule.equal }));
  return {
    mutedBy(incident) {
      for (const rule of compiled) {
        if (!rule.target.test(incident.labels) || rule.source.test(incident.labels)) continue;
        const source = firing.find((candidate) => candidate.id !== incident.id && rule.source.test(candidate.labels) && rule.equal.every((name) => candidate.labels[name] === incident.labels[name]));
        if (source) return `inhibited by incident #${source.id}`;
      }
      return undefined;
    },
  };
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

export function insideWindow(window: TimeWindow, at: number): boolean {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: window.timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  const day = WEEKDAYS[['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday ?? '')];
  const minute = `${parts.hour}:${parts.minute}`;
  return day !== undefined && window.days.includes(day) && minute >= window.from && minute < window.to;
}

/** A route with active times mutes its notifications outside them. */
export function activeTimesMuter(route: RouteConfig, now: number): Muter {
  const outside = route.activeTimes !== undefined && !route.activeTimes.some((window) => insideWindow(window, now));
  return { mutedBy: () => (outside ? "outside the route's active times" : undefined) };
}

export function muteReason(muters: readonly Muter[], incident: Incident): string | undefined {
  for (const muter of muters) {
    const reason = muter.mutedBy(incident);
    if (reason) return reason;
  }
  return undefined;
}
