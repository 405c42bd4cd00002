// The status page's data at one moment, gathered from the probes, alerts and status-page stores through their
// exported functions. Everything public (HTML, JSON, feeds, badges, the static copy) is rendered from this.
import { createHash } from 'node:crypto';
import { listIncidents as listAlertIncidents, listMaintenances } from '../alerts/index.ts';
import { DAY } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import { getProbeStatuses, getUptime, type UptimeDay } from '../probes/index.ts';
import { brandingSchema, type Branding, type StatusPageHostConfig } from './config.ts';
import type { ComponentDefinition } from './define.ts';
import type { BannerAlert, BannerOverride } from './banner.ts';
import { componentsHitBy, componentsOf } from './incidents.ts';
import { componentState, maintenanceStatus, maintenanceTransitions, overallIndicator, type ComponentStatus, type Indicator, type MaintenanceStatus } from './state.ts';
import { getMaintenanceDetails, getSettings, listBannerAlerts, listPublicIncidents, type PublicIncident } from './store.ts';
import { stringsOf, type Strings } from './strings.ts';

export const UPTIME_DAYS = 90;
/** Incidents and maintenances older than this are not published. */
const HISTORY_MS = 365 * DAY;

export interface UptimeDayView {
  day: string;
  /** Worst probe's uptime that day; null without checks. */
  ratio: number | null;
  incidents: number;
}

export interface ComponentModel {
  id: string;
  name: string;
  description: string | null;
  group: string | null;
  position: number;
  onlyShowIfDegraded: boolean;
  status: ComponentStatus;
  uptime: UptimeDayView[];
  /** Mean of the days with checks, the same numbers the bars show; null without any. */
  uptimeRatio: number | null;
}

export interface MaintenanceModel {
  id: number;
  name: string;
  body: string;
  components: string[];
  startsAt: number;
  endsAt: number;
  timeZone: string;
  status: MaintenanceStatus;
  createdAt: number;
  /** The transitions that happened so far, newest first. */
  updates: Array<{ status: MaintenanceStatus; at: number }>;
}

export interface StatusModel {
  pageId: string;
  url: string;
  branding: Branding;
  strings: Strings;
  now: number;
  createdAt: number;
  indicator: Indicator;
  components: ComponentModel[];
  incidents: PublicIncident[];
  maintenances: MaintenanceModel[];
  /** What the banner is decided from besides the incidents and maintenances. */
  banner: { alerts: BannerAlert[]; override?: BannerOverride };
}

/** Branding from the config with the admin API's run-time changes on top (each a top-level field). */
export function brandingOf(configured: Branding, settings: Record<string, unknown>): Branding {
  const overrides = (settings.branding ?? {}) as Record<string, unknown>;
  const merged = brandingSchema.safeParse({ ...configured, ...overrides });
  return merged.success ? merged.data : configured;
}

const overridesOf = (settings: Record<string, unknown>) => (settings.overrides ?? {}) as Record<string, ComponentStatus>;

function uptimeDays(perProbe: ReadonlyArray<ReadonlyArray<{ day: string; uptimeRatio: number | null }>>, days: readonly string[], incidents: readonly PublicIncident[], componentId: string, now: number): UptimeDayView[] {
  return days.map((day, index) => {
    const ratios = perProbe.map((probe) => probe[index]?.uptimeRatio).filter((ratio): ratio is number => ratio !== null && ratio !== undefined);
    const start = Date.parse(`${day}T00:00:00Z`);
    const count = incidents.filter((incident) => componentId in incident.components && incident.createdAt < start + DAY && (incident.resolvedAt ?? now) >= start).length;
    return { day, ratio: ratios.length > 0 ? Math.min(...ratios) : null, incidents: count };
  });
}

export type UptimeReader = (probe: string, now: number) => Promise<UptimeDay[]>;

/** Reads the rollups on every call (the CLI's export); the running page keeps a cache (service.ts). */
export const readUptime = (db: Db): UptimeReader => (probe, now) => getUptime(db, probe, { days: UPTIME_DAYS, now });

/** Reads everything the page shows at `now`. */
export async function gatherModel(
  db: Db,
  config: StatusPageHostConfig,
  options: { now: number; publicUrl: string; components?: readonly ComponentDefinition[]; uptime?: UptimeReader },
): Promise<StatusModel> {
  const { now } = options;
  const settings = await getSettings(db);
  const definitions = options.components ?? componentsOf(config);
  const uptimeOf = options.uptime ?? readUptime(db);
  const [probeStatuses, alertIncidents, incidents, windows, bannerAlerts] = await Promise.all([
    getProbeStatuses(db),
    listAlertIncidents(db, { limit: 1000 }),
    listPublicIncidents(db, { since: now - HISTORY_MS }),
    listMaintenances(db, { from: now - HISTORY_MS, to: now + HISTORY_MS }),
    listBannerAlerts(db, new Date(now - config.statusPage.banner.holdTime)),
  ]);
  const details = await getMaintenanceDetails(db, windows.map((window) => window.id));
  const verifyFor = config.statusPage.verifyFor;
  const maintenances: MaintenanceModel[] = windows
    .filter((window) => details.has(window.id))
    .map((window) => {
      const detail = details.get(window.id)!;
      const times = { startsAt: window.startsAt, endsAt: window.endsAt, cancelledAt: detail.cancelledAt, createdAt: Math.min(window.startsAt, detail.createdAt) };
      return {
        id: window.id,
        name: window.title,
        body: detail.body,
        components: detail.components,
        startsAt: window.startsAt,
        endsAt: window.endsAt,
        timeZone: detail.timeZone,
        status: maintenanceStatus(times, now, verifyFor),
        createdAt: times.createdAt,
        updates: maintenanceTransitions(times, verifyFor)
          .filter((transition) => transition.at <= now)
          .reverse(),
      };
    })
    .sort((a, b) => b.startsAt - a.startsAt || b.id - a.id);

  const days = Array.from({ length: UPTIME_DAYS }, (_, i) => new Date(now - (UPTIME_DAYS - 1 - i) * DAY).toISOString().slice(0, 10));
  const openIncidents = incidents.filter((incident) => incident.status !== 'resolved' && incident.status !== 'postmortem');
  const overrides = overridesOf(settings);
  const components: ComponentModel[] = [];
  for (const [position, definition] of definitions.entries()) {
    const perProbe = await Promise.all(definition.from.probes.map((probe) => uptimeOf(probe, now)));
    const uptime = uptimeDays(perProbe, days, incidents, definition.id, now);
    const measured = uptime.filter((day) => day.ratio !== null);
    const status = componentState({
      probes: definition.from.probes.map((probe) => probeStatuses.find((candidate) => candidate.probe === probe)?.state ?? 'unknown'),
      ...(definition.quorum ? { quorum: definition.quorum } : {}),
      firingSeverities: alertIncidents
        .filter((incident) => (incident.state === 'firing' || incident.state === 'escalated') && (definition.from.rules.includes(incident.rule) || definition.from.probes.includes(incident.labels.probe ?? '')))
        .map((incident) => incident.labels.severity ?? 'warning'),
      incidentStatuses: openIncidents.flatMap((incident) => (incident.components[definition.id] ? [incident.components[definition.id]!] : [])),
      inMaintenance: maintenances.some((maintenance) => maintenance.status === 'in_progress' && maintenance.components.includes(definition.id)),
      override: overrides[definition.id],
    });
    components.push({
      id: definition.id,
      name: definition.name,
      description: definition.description ?? null,
      group: definition.group ?? null,
      position: position + 1,
      onlyShowIfDegraded: definition.show === 'if-degraded',
      status,
      uptime,
      uptimeRatio: measured.length > 0 ? measured.reduce((sum, day) => sum + day.ratio!, 0) / measured.length : null,
    });
  }
  const branding = brandingOf(config.statusPage.branding, settings);
  return {
    pageId: createHash('sha256').update(options.publicUrl).digest('hex').slice(0, 12),
    url: options.publicUrl.replace(/\/$/, ''),
    branding,
    strings: stringsOf(branding.strings),
    now,
    createdAt: typeof settings.createdAt === 'number' ? settings.createdAt : now,
    indicator: overallIndicator(
      components.map((component) => component.status),
      openIncidents.map((incident) => incident.impact),
    ),
    components,
    incidents,
    maintenances,
    banner: {
      alerts: bannerAlerts.map((alert) => ({
        id: String(alert.alertIncidentId),
        components: componentsHitBy(definitions, alert).map((component) => component.name),
        critical: alert.labels.severity === 'critical',
        startedAt: new Date(alert.startedAt).getTime(),
        ...(alert.resolvedAt === null ? {} : { resolvedAt: new Date(alert.resolvedAt).getTime() }),
      })),
      ...(settings.bannerOverride ? { override: settings.bannerOverride as BannerOverride } : {}),
    },
  };
}
