/** What the embeddable banner shows; `/embed/banner.json` answers `{ banner: Banner | null }`. */
export interface Banner {
  /** Stable per event: a dismissal is remembered per id, so a new event shows again. */
  id: string;
  level: BannerLevel;
  message: string;
  links: Array<{ href: string; text: string }>;
  dismissText: string;
}

export type BannerLevel = 'info' | 'warning' | 'maintenance' | 'outage';

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
  maintenances: readonly BannerMaintenance[];
}

const IMPACT_RANK = { none: 0, minor: 1, major: 2, critical: 3 } as const;

/**
 * The one decision of what the banner says at `now`. Priority: an admin's override, maintenance in progress, the
 * worst open (or recently resolved, within the hold time) incident, maintenance starting within the lead time.
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

  const showing = inputs.incidents
    .filter((incident) => incident.resolvedAt === undefined || now < incident.resolvedAt + settings.holdTime)
    .sort((a, b) => IMPACT_RANK[b.impact] - IMPACT_RANK[a.impact] || a.startedAt - b.startedAt)[0];
  if (showing) {
    const links = showing.resolvedAt === undefined && settings.backUpUrl ? [statusLink, { href: settings.backUpUrl(showing.id), text: texts.backUpLink }] : [statusLink];
    return banner(`incident-${showing.id}`, IMPACT_RANK[showing.impact] >= IMPACT_RANK.major ? 'outage' : 'warning', showing.message, links);
  }

  const soon = live.filter((maintenance) => now < maintenance.startsAt && maintenance.startsAt - now <= settings.leadTime).sort((a, b) => a.startsAt - b.startsAt)[0];
  if (soon) return banner(`maintenance-${soon.id}-scheduled`, 'info', fill(texts.maintenanceSoon, soon, settings));
  return null;
}

function fill(template: string, maintenance: BannerMaintenance, settings: BannerSettings): string {
  const window = formatWindow(maintenance.startsAt, maintenance.endsAt, settings.timeZone, settings.locale);
  return template.replaceAll('{title}', maintenance.title).replaceAll('{from}', window.from).replaceAll('{till}', window.till).replaceAll('{zone}', window.zone);
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
