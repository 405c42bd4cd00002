// Public incidents: opened, updated and resolved by admins (CLI, admin API) and by the statusPage alert receiver.
import { listIncidents as listAlertIncidents } from '../alerts/index.ts';
import type { Db, Queryable } from '../core/db/index.ts';
import { fillIn } from '../core/text.ts';
import { loadProbes } from '../probes/index.ts';
import type { StatusPageConfig, StatusPageHostConfig } from './config.ts';
import type { AlertNotice } from './notices.ts';
import { loadComponents, type ComponentDefinition } from './define.ts';
import { holdElapsed, impactOf, type ComponentStatus, type Impact, type IncidentStatus } from './state.ts';
import {
  changeIncident,
  endBannerAlert,
  getIncident,
  getIncidentOfAlert,
  insertIncident,
  insertIncidentUpdate,
  linkAlertIncident,
  markAlertNoticePublished,
  monitoringAlertIncidents,
  monitoringIncidentOfSource,
  raisedBannerAlerts,
  unpublishedAlertNotices,
  type AffectedComponent,
  type PublicIncident,
} from './store.ts';

export class StatusPageError extends Error {
  readonly statusCode: number;

  constructor(message: string, statusCode = 400) {
    super(message);
    this.name = 'StatusPageError';
    this.statusCode = statusCode;
  }
}

/** The usable components of a config (invalid ones are reported by `vigil validate` and at start, and skipped here). */
export function componentsOf(config: StatusPageHostConfig): ComponentDefinition[] {
  const probes = new Set(loadProbes(config.probes).probes.map((probe) => probe.definition.name));
  const rules = new Set(config.alerts.rules.map((rule) => rule.name));
  return loadComponents(config.statusPage.components, { probes, rules }).components;
}

/** What publishing alerts needs: the components and the receiver's public wording and hold. */
export interface Publishing {
  components: readonly ComponentDefinition[];
  automatic: StatusPageConfig['automatic'];
}

const ACTIVE: readonly IncidentStatus[] = ['investigating', 'identified', 'monitoring'];
const isOpen = (incident: PublicIncident) => ACTIVE.includes(incident.status);

function affectedOf(components: readonly ComponentDefinition[], before: Record<string, ComponentStatus>, after: Record<string, ComponentStatus>): AffectedComponent[] {
  return Object.entries(after)
    .filter(([id, status]) => before[id] !== status)
    .map(([id, status]) => ({ code: id, name: components.find((component) => component.id === id)?.name ?? id, oldStatus: before[id] ?? 'operational', newStatus: status }));
}

function checkComponents(components: readonly ComponentDefinition[], statuses: Record<string, ComponentStatus>): void {
  const unknown = Object.keys(statuses).filter((id) => !components.some((component) => component.id === id));
  if (unknown.length > 0) throw new StatusPageError(`no component with id ${unknown.map((id) => `"${id}"`).join(', ')} (known: ${components.map((component) => component.id).join(', ') || 'none'})`);
}

export interface IncidentInput {
  name: string;
  body: string;
  status?: Exclude<IncidentStatus, 'resolved' | 'postmortem'>;
  /** The state the incident sets on each affected component, by component id. */
  components?: Record<string, ComponentStatus>;
  impact?: Impact;
}

export async function openIncident(db: Db, components: readonly ComponentDefinition[], input: IncidentInput, now: number): Promise<PublicIncident> {
  if (!input.name.trim()) throw new StatusPageError('an incident needs a title');
  if (!input.body.trim()) throw new StatusPageError('an incident needs a first update saying what users see');
  const statuses = input.components ?? {};
  checkComponents(components, statuses);
  const status = input.status ?? 'investigating';
  const id = await db.transaction(async (q) => {
    const created = await insertIncident(q, { name: input.name.trim(), status, impact: input.impact ?? impactOf(Object.values(statuses)), components: statuses, now });
    await insertIncidentUpdate(q, { incidentId: created, status, body: input.body, affected: affectedOf(components, {}, statuses), now });
    return created;
  });
  return (await getIncident(db, id))!;
}

export interface IncidentChange {
  body: string;
  status?: IncidentStatus;
  components?: Record<string, ComponentStatus>;
  impact?: Impact;
  name?: string;
  postmortem?: string;
}

async function applyChange(q: Queryable, components: readonly ComponentDefinition[], incident: PublicIncident, change: IncidentChange, now: number): Promise<void> {
  const status = change.status ?? incident.status;
  // Resolving puts every affected component back to operational, as Statuspage does.
  const statuses =
    status === 'resolved' || status === 'postmortem'
      ? Object.fromEntries(Object.keys({ ...incident.components, ...change.components }).map((id) => [id, 'operational' as const]))
      : { ...incident.components, ...change.components };
  checkComponents(components, statuses);
  const impact = change.impact ?? (change.components ? impactOf(Object.values(statuses)) : incident.impact);
  await changeIncident(q, incident.id, { status, impact, components: statuses, name: change.name?.trim() || incident.name, postmortem: change.postmortem ?? incident.postmortem, now });
  await insertIncidentUpdate(q, { incidentId: incident.id, status, body: change.body, affected: affectedOf(components, incident.components, statuses), now });
}

export async function updateIncident(db: Db, components: readonly ComponentDefinition[], id: number, change: IncidentChange, now: number): Promise<PublicIncident> {
  if (!change.body.trim()) throw new StatusPageError('an update needs a text saying what changed');
  const incident = await getIncident(db, id);
  if (!incident) throw new StatusPageError(`no incident #${id}`, 404);
  if (!isOpen(incident) && change.status !== 'postmortem') throw new StatusPageError(`incident #${id} is ${incident.status}; only a postmortem can follow`, 409);
  await db.transaction((q) => applyChange(q, components, incident, change, now));
  return (await getIncident(db, id))!;
}

export const resolveIncident = (db: Db, components: readonly ComponentDefinition[], id: number, body: string, now: number) => updateIncident(db, components, id, { status: 'resolved', body }, now);

/** The components made of an alert incident's rule or probe. */
export function componentsHitBy(components: readonly ComponentDefinition[], incident: { rule: string; labels: Record<string, string> }): ComponentDefinition[] {
  const probe = incident.labels.probe;
  return components.filter((component) => component.from.rules.includes(incident.rule) || (probe !== undefined && component.from.probes.includes(probe)));
}

const fill = (text: string, names: readonly string[]) => fillIn(text, { components: names.join(', ') });

/**
 * What the statusPage receiver does with one alert notification: an opening one opens a public incident on the
 * components made of the alert's rule or probe (or reopens the one still monitoring the same problem), UP moves it
 * to "monitoring"; `resolveHeld` resolves it once the hold has passed. Alerts on no component publish nothing.
 */
export async function publishAlert(q: Queryable, publishing: Publishing, notice: AlertNotice, now: number): Promise<number | undefined> {
  const { automatic, components: all } = publishing;
  const hit = componentsHitBy(all, notice.incident);
  if (hit.length === 0) return undefined;
  const names = hit.map((component) => component.name);
  const state: ComponentStatus = notice.incident.labels.severity === 'critical' ? 'major_outage' : 'degraded_performance';
  const statuses = Object.fromEntries(hit.map((component) => [component.id, state]));
  {
    const relapsed = await monitoringIncidentOfSource(q, notice.incident.fingerprint);
    const incident = (await getIncidentOfAlert(q, notice.incident.id)) ?? (relapsed === undefined ? undefined : await getIncident(q, relapsed));
    if (notice.event === 'up') {
      if (!incident || !isOpen(incident) || incident.status === 'monitoring') return incident?.id;
      // The alert recovered: the components work again while the incident is watched through the hold.
      const recovered = Object.fromEntries(Object.keys(incident.components).map((id) => [id, 'operational' as const]));
      await applyChange(q, all, incident, { status: 'monitoring', components: recovered, impact: incident.impact, body: fill(automatic.monitoring, names) }, now);
      return incident.id;
    }
    if (incident && isOpen(incident)) {
      if (incident.alertIncidentId !== notice.incident.id) await linkAlertIncident(q, incident.id, notice.incident.id);
      if (incident.status === 'monitoring') await applyChange(q, all, incident, { status: 'investigating', components: statuses, body: fill(automatic.investigating, names) }, now);
      return incident.id;
    }
    if (incident) return incident.id;
    const alert = { incidentId: notice.incident.id, source: notice.incident.fingerprint };
    const id = await insertIncident(q, { name: fill(automatic.title, names), status: 'investigating', impact: impactOf([state]), components: statuses, alert, now });
    await insertIncidentUpdate(q, { incidentId: id, status: 'investigating', body: fill(automatic.investigating, names), affected: affectedOf(all, {}, statuses), now });
    return id;
  }
}

/** Publishes what the statusPage receiver handed over since the last time, in order, each at the time it arrived. */
export async function publishAlertNotices(db: Db, publishing: Publishing, now: number): Promise<number> {
  const notices = await unpublishedAlertNotices(db);
  for (const notice of notices) {
    await db.transaction(async (q) => {
      await publishAlert(q, publishing, notice, notice.at);
      await markAlertNoticePublished(q, notice.id, now);
    });
  }
  return notices.length;
}

/** Resolves the receiver's incidents whose "monitoring" hold has passed; returns how many. */
export async function resolveHeld(db: Db, publishing: Publishing, now: number): Promise<number> {
  const { automatic, components: all } = publishing;
  let resolved = 0;
  for (const incident of await monitoringAlertIncidents(db)) {
    if (!holdElapsed(incident, now, automatic.hold)) continue;
    await db.transaction((q) => applyChange(q, all, incident, { status: 'resolved', body: fill(automatic.resolved, Object.keys(incident.components).map((id) => all.find((c) => c.id === id)?.name ?? id)) }, now));
    resolved += 1;
  }
  return resolved;
}

/**
 * Ends the banners whose alert incident is no longer open although no UP arrived: the router drops an UP that is muted
 * (a silence, maintenance or inhibition that began after the opening), and a banner must not outlive its cause.
 */
export async function endBannersOfEndedAlerts(db: Db, now: number): Promise<void> {
  const raised = await raisedBannerAlerts(db);
  if (raised.length === 0) return;
  const open = new Set((await listAlertIncidents(db, { limit: 1000 })).map((incident) => incident.id));
  for (const id of raised) if (!open.has(id)) await endBannerAlert(db, id, new Date(now));
}
