import { fillIn } from '../core/text.ts';

/** What the embeddable banner shows; `/embed/banner.json` answers `{ banner: Banner | null }`. */
export interface Banner {
  /** Stable per event: a dismissal is remembered per id, so a new event shows again. */
  id: string;
  level: BannerLevel;
  message: string;
  links: Array<{ href: string; text: string }>;
  dismissText: string;
}

export const BANNER_LEVELS = ['info', 'warning', 'maintenance', 'outage'] as const;
export type BannerLevel = (typeof BANNER_LEVELS)[number];

export interface BannerIncident {
  id: string;
  /** major/critical impact shows as an outage, anything less as a warning. */
  impact: 'none' | 'minor' | 'major' | 'critical';
  /** The public wording, never the internal summary. */
  message: string;
  startedAt: number;
  /** Set once the incident is over; the banner stays for `holdTime` after it. */
  resolvedAt?: number;
}

/** An alert incident routed to the banner receiver: worded by the `banner.automatic*` texts, never by its summary. */
export interface BannerAlert {
  id: string;
  /** Public names of the components its rule or probe is part of (none: the texts' `someServices`). */
  components: readonly string[];
  /** Severity critical: shown as an outage. */
  critical: boolean;
  startedAt: number;
  /** Set once the alert is over; the banner stays for `holdTime` after it. */
  resolvedAt?: number;
}

export interface BannerMaintenance {
  id: string;
  title: string;
  startsAt: number;
  endsAt: number;
  cancelled?: boolean;
}

export interface BannerOverride {
  id: string;
  level: BannerLevel;
  message: string;
  /** Cleared on its own after this instant; until an admin clears it when absent. */
  until?: number;
}

export interface BannerTexts {
  /** `{components}` filled in: for an alert that is not critical, and for one that is. */
  automatic: string;
  automaticOutage: string;
  someServices: string;
  maintenanceNow: string;
  maintenanceSoon: string;
  backUpLink: string;
  statusLink: string;
  dismiss: string;
}

export interface BannerSettings {
  /** A scheduled maintenance is announced this long before it starts. */
  leadTime: number;
  /** A resolved incident keeps its banner this long, so a flapping signal does not blink the site. */
  holdTime: number;
  timeZone: string;
  locale: string;
  texts: BannerTexts;
  /** The status page's address, for the "status" link. */
  statusUrl: string;
  /** The one-shot "tell me when it's back up" form for an incident, when subscriptions are on. */
  backUpUrl?: (incidentId: string) => string;
}

export interface BannerInputs {
  override?: BannerOverride;
  incidents: readonly BannerIncident[];
  /** Alerts routed to the banner receiver (absent: none). */
  alerts?: readonly BannerAlert[];
  maintenances: readonly BannerMaintenance[];
}

const IMPACT_RANK = { none: 0, minor: 1, major: 2, critical: 3 } as const;

/**
 * The one decision of what the banner says at `now`. Priority: an admin's override, maintenance in progress, the
 * worst open (or recently resolved, within the hold time) public incident or banner alert (of equals a banner alert,
 * then the earliest), maintenance starting within the lead time.
 */
export function decideBanner(inputs: BannerInputs, now: number, settings: BannerSettings): Banner | null {
  const { texts } = settings;
  const statusLink = { href: settings.statusUrl, text: texts.statusLink };
  const banner = (id: string, level: BannerLevel, message: string, links = [statusLink]): Banner => ({ id, level, message, links, dismissText: texts.dismiss });

  const override = inputs.override;
  if (override && (override.until === undefined || now < override.until)) return banner(`override-${override.id}`, override.level, override.message);

  const live = inputs.maintenances.filter((maintenance) => !maintenance.cancelled);
  const running = live.filter((maintenance) => maintenance.startsAt <= now && now < maintenance.endsAt).sort((a, b) => a.startsAt - b.startsAt)[0];
  if (running) return banner(`maintenance-${running.id}`, 'maintenance', fill(texts.maintenanceNow, running, settings));

  const held = (event: { resolvedAt?: number }) => event.resolvedAt === undefined || now < event.resolvedAt + settings.holdTime;
  const events = [
    ...inputs.incidents.filter(held).map((incident) => {
      const links = incident.resolvedAt === undefined && settings.backUpUrl ? [statusLink, { href: settings.backUpUrl(incident.id), text: texts.backUpLink }] : [statusLink];
      return { id: `incident-${incident.id}`, rank: IMPACT_RANK[incident.impact], automatic: false, startedAt: incident.startedAt, message: incident.message, links };
    }),
    ...(inputs.alerts ?? []).filter(held).map((alert) => {
      const names = alert.components.length > 0 ? alert.components.join(', ') : texts.someServices;
      const message = fillIn(alert.critical ? texts.automaticOutage : texts.automatic, { components: names });
      return { id: `alert-${alert.id}`, rank: alert.critical ? IMPACT_RANK.critical : IMPACT_RANK.minor, automatic: true, startedAt: alert.startedAt, message, links: [statusLink] };
    }),
  ];
  // Of equals, a banner alert (worded for the banner) before a public incident (often about the same alert), then the earliest.
  const showing = events.sort((a, b) => b.rank - a.rank || Number(b.automatic) - Number(a.automatic) || a.startedAt - b.startedAt)[0];
  if (showing) return banner(showing.id, showing.rank >= IMPACT_RANK.major ? 'outage' : 'warning', showing.message, showing.links);

  const soon = live.filter((maintenance) => now < maintenance.startsAt && maintenance.startsAt - now <= settings.leadTime).sort((a, b) => a.startsAt - b.startsAt)[0];
  if (soon) return banner(`maintenance-${soon.id}-scheduled`, 'info', fill(texts.maintenanceSoon, soon, settings));
  return null;
}

function fill(template: string, maintenance: BannerMaintenance, settings: BannerSettings): string {
  const window = formatWindow(maintenance.startsAt, maintenance.endsAt, settings.timeZone, settings.locale);
  return fillIn(template, { title: maintenance.title, ...window });
}

/** "22:00", "23:30", "CET (UTC+1)": a window as people read it, in the page's time zone; dates added when not today's. */
export function formatWindow(startsAt: number, endsAt: number, timeZone: string, locale: string): { from: string; till: string; zone: string } {
  const time = new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const day = new Intl.DateTimeFormat(locale, { timeZone, day: 'numeric', month: 'short' });
  const sameDay = day.format(startsAt) === day.format(endsAt);
  const zonePart = (style: 'short' | 'shortOffset') =>
    new Intl.DateTimeFormat('en-GB', { timeZone, timeZoneName: style }).formatToParts(startsAt).find((part) => part.type === 'timeZoneName')?.value ?? timeZone;
  const shortName = zonePart('short');
  const offset = zonePart('shortOffset').replace(/^GMT(\+0)?$/, 'UTC').replace('GMT', 'UTC');
  return {
    from: `${day.format(startsAt)} ${time.format(startsAt)}`,
    till: sameDay ? time.format(endsAt) : `${day.format(endsAt)} ${time.format(endsAt)}`,
    zone: shortName === offset || shortName.startsWith('GMT') ? offset : `${shortName} (${offset})`,
  };
}
