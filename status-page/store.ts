// Every statement of the status-page module, as named intents; columns aliased to the camelCase fields.
import type { Queryable } from '../core/db/index.ts';
import type { ComponentStatus, Impact, IncidentStatus } from './state.ts';

export interface AffectedComponent {
  code: string;
  name: string;
  oldStatus: ComponentStatus;
  newStatus: ComponentStatus;
}

export interface IncidentUpdate {
  id: number;
  incidentId: number;
  status: IncidentStatus;
  body: string;
  affected: AffectedComponent[];
  createdAt: number;
}

export interface PublicIncident {
  id: number;
  name: string;
  status: IncidentStatus;
  impact: Impact;
  /** The state the incident sets on each affected component, by component id. */
  components: Record<string, ComponentStatus>;
  postmortem: string | null;
  alertIncidentId: number | null;
  createdAt: number;
  updatedAt: number;
  monitoringAt: number | null;
  resolvedAt: number | null;
  /** Newest first, as Statuspage lists them. */
  updates: IncidentUpdate[];
}

const INCIDENT_COLUMNS = `id, name, status, impact, components, postmortem, alert_incident_id as "alertIncidentId", created_at as "createdAt",
  updated_at as "updatedAt", monitoring_at as "monitoringAt", resolved_at as "resolvedAt"`;
const UPDATE_COLUMNS = `id, incident_id as "incidentId", status, body, affected, created_at as "createdAt"`;

async function withUpdates(q: Queryable, rows: Array<Omit<PublicIncident, 'updates'>>): Promise<PublicIncident[]> {
  if (rows.length === 0) return [];
  const updates = await q.query<IncidentUpdate>(`select ${UPDATE_COLUMNS} from status_incident_updates where incident_id = any($1) order by created_at desc, id desc`, [rows.map((row) => row.id)]);
  return rows.map((row) => ({ ...row, updates: updates.filter((update) => update.incidentId === row.id) }));
}

export async function insertIncident(
  q: Queryable,
  incident: { name: string; status: IncidentStatus; impact: Impact; components: Record<string, ComponentStatus>; alert?: { incidentId: number; source: string }; now: number },
): Promise<number> {
  const [row] = await q.query<{ id: number }>(
    `insert into status_incidents (name, status, impact, components, alert_incident_id, alert_source, created_at, updated_at, monitoring_at, resolved_at)
     values ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9) returning id`,
    [incident.name, incident.status, incident.impact, JSON.stringify(incident.components), incident.alert?.incidentId ?? null, incident.alert?.source ?? null, incident.now,
      incident.status === 'monitoring' ? incident.now : null, incident.status === 'resolved' ? incident.now : null],
  );
  return row!.id;
}

/** Sets the incident's status (stamping monitoring_at/resolved_at on the way), its components, impact, name or postmortem. */
export async function changeIncident(
  q: Queryable,
  id: number,
  change: { status: IncidentStatus; impact: Impact; components: Record<string, ComponentStatus>; name: string; postmortem: string | null; now: number },
): Promise<void> {
  await q.query(
    `update status_incidents set status = $2, impact = $3, components = $4, name = $5, postmortem = $6, updated_at = $7,
       monitoring_at = case when $2 = 'monitoring' then coalesce(monitoring_at, $7) when $2 in ('investigating', 'identified') then null else monitoring_at end,
       resolved_at = case when $2 in ('resolved', 'postmortem') then coalesce(resolved_at, $7) else null end
     where id = $1`,
    [id, change.status, change.impact, JSON.stringify(change.components), change.name, change.postmortem, change.now],
  );
}

export async function insertIncidentUpdate(q: Queryable, update: { incidentId: number; status: IncidentStatus; body: string; affected: AffectedComponent[]; now: number }): Promise<void> {
  await q.query('insert into status_incident_updates (incident_id, status, body, affected, created_at) values ($1, $2, $3, $4, $5)', [
    update.incidentId,
    update.status,
    update.body,
    JSON.stringify(update.affected),
    update.now,
  ]);
}

export async function getIncident(q: Queryable, id: number): Promise<PublicIncident | undefined> {
  const rows = await q.query<Omit<PublicIncident, 'updates'>>(`select ${INCIDENT_COLUMNS} from status_incidents where id = $1`, [id]);
  return (await withUpdates(q, rows))[0];
}

export async function getIncidentOfAlert(q: Queryable, alertIncidentId: number): Promise<PublicIncident | undefined> {
  const rows = await q.query<Omit<PublicIncident, 'updates'>>(`select ${INCIDENT_COLUMNS} from status_incidents where alert_incident_id = $1`, [alertIncidentId]);
  return (await withUpdates(q, rows))[0];
}

/** Incidents newest first: the unresolved ones, or every one started since `since`. */
export async function listPublicIncidents(q: Queryable, options: { since: number; unresolvedOnly?: boolean }): Promise<PublicIncident[]> {
  const rows = await q.query<Omit<PublicIncident, 'updates'>>(
    `select ${INCIDENT_COLUMNS} from status_incidents
      where ($2 and status not in ('resolved', 'postmortem')) or (not $2 and (created_at >= $1 or status not in ('resolved', 'postmortem')))
      order by created_at desc, id desc`,
    [options.since, options.unresolvedOnly ?? false],
  );
  return withUpdates(q, rows);
}

/** The receiver's incident still monitoring a problem with this alert fingerprint (a relapse reopens it). */
export async function monitoringIncidentOfSource(q: Queryable, source: string): Promise<number | undefined> {
  const [row] = await q.query<{ id: number }>(`select id from status_incidents where alert_source = $1 and status = 'monitoring' order by id desc limit 1`, [source]);
  return row?.id;
}

/** Points the incident at the alert incident that now drives it (a relapse is a new alert incident). */
export async function linkAlertIncident(q: Queryable, id: number, alertIncidentId: number): Promise<void> {
  await q.query('update status_incidents set alert_incident_id = $2 where id = $1', [id, alertIncidentId]);
}

/** Incidents the statusPage receiver moved to "monitoring" whose hold may have passed. */
export async function monitoringAlertIncidents(q: Queryable): Promise<PublicIncident[]> {
  const rows = await q.query<Omit<PublicIncident, 'updates'>>(`select ${INCIDENT_COLUMNS} from status_incidents where status = 'monitoring' and alert_incident_id is not null order by id`);
  return withUpdates(q, rows);
}

export interface MaintenanceDetails {
  maintenanceId: number;
  body: string;
  components: string[];
  timeZone: string;
  createdAt: number;
  cancelledAt: number | null;
}

const DETAIL_COLUMNS = `maintenance_id as "maintenanceId", body, components, time_zone as "timeZone", created_at as "createdAt", cancelled_at as "cancelledAt"`;

export async function insertMaintenanceDetails(q: Queryable, details: Omit<MaintenanceDetails, 'cancelledAt'>): Promise<void> {
  await q.query('insert into status_maintenances (maintenance_id, body, components, time_zone, created_at) values ($1, $2, $3, $4, $5)', [
    details.maintenanceId,
    details.body,
    JSON.stringify(details.components),
    details.timeZone,
    details.createdAt,
  ]);
}

export async function getMaintenanceDetails(q: Queryable, ids: readonly number[]): Promise<Map<number, MaintenanceDetails>> {
  if (ids.length === 0) return new Map();
  const rows = await q.query<MaintenanceDetails>(`select ${DETAIL_COLUMNS} from status_maintenances where maintenance_id = any($1)`, [ids]);
  return new Map(rows.map((row) => [row.maintenanceId, row]));
}

export async function markMaintenanceCancelled(q: Queryable, id: number, now: number): Promise<void> {
  await q.query('update status_maintenances set cancelled_at = coalesce(cancelled_at, $2) where maintenance_id = $1', [id, now]);
}

export async function getSettings(q: Queryable): Promise<Record<string, unknown>> {
  const rows = await q.query<{ key: string; value: unknown }>('select key, value from status_settings order by key');
  return Object.fromEntries(rows.map((row) => [row.key, row.value]));
}

export async function putSetting(q: Queryable, key: string, value: unknown, now: number): Promise<void> {
  await q.query(
    `insert into status_settings (key, value, updated_at) values ($1, $2, $3) on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`,
    [key, JSON.stringify(value), now],
  );
}

export async function deleteSetting(q: Queryable, key: string): Promise<void> {
  await q.query('delete from status_settings where key = $1', [key]);
}

/** Stamps the page's creation time once (Statuspage's `created_at` of its components). */
export async function ensureCreatedAt(q: Queryable, now: number): Promise<void> {
  await q.query(`insert into status_settings (key, value, updated_at) values ('createdAt', $1, $2) on conflict (key) do nothing`, [JSON.stringify(now), now]);
}

export interface StoredAlertNotice {
  id: number;
  event: AlertEvent;
  incident: { id: number; rule: string; fingerprint: string; labels: Record<string, string> };
  at: number;
}

export type AlertEvent = 'warning' | 'emergency' | 'up' | 'flapping' | 'repeat' | 'retry';

export async function insertAlertNotice(q: Queryable, notice: Omit<StoredAlertNotice, 'id'>): Promise<void> {
  await q.query('insert into status_alert_notices (event, alert_incident_id, rule, fingerprint, labels, at) values ($1, $2, $3, $4, $5, $6)', [
    notice.event,
    notice.incident.id,
    notice.incident.rule,
    notice.incident.fingerprint,
    JSON.stringify(notice.incident.labels),
    notice.at,
  ]);
}

export async function unpublishedAlertNotices(q: Queryable): Promise<StoredAlertNotice[]> {
  const rows = await q.query<{ id: number; event: AlertEvent; alertIncidentId: number; rule: string; fingerprint: string; labels: Record<string, string>; at: number }>(
    `select id, event, alert_incident_id as "alertIncidentId", rule, fingerprint, labels, at from status_alert_notices where published_at is null order by id limit 500`,
  );
  return rows.map((row) => ({ id: row.id, event: row.event, incident: { id: row.alertIncidentId, rule: row.rule, fingerprint: row.fingerprint, labels: row.labels }, at: row.at }));
}

export async function markAlertNoticePublished(q: Queryable, id: number, now: number): Promise<void> {
  await q.query('update status_alert_notices set published_at = $2 where id = $1', [id, now]);
}

export interface BannerAlertRow {
  alertIncidentId: number;
  rule: string;
  labels: Record<string, string>;
  startedAt: number;
  resolvedAt: number | null;
}

/** An opening notification raises the alert's banner (again, after an UP: a relapse of the same incident). */
export async function raiseBannerAlert(q: Queryable, alert: { alertIncidentId: number; rule: string; labels: Record<string, string>; at: number }): Promise<void> {
  await q.query(
    `insert into status_banner_alerts (alert_incident_id, rule, labels, started_at) values ($1, $2, $3, $4)
     on conflict (alert_incident_id) do update set labels = excluded.labels, resolved_at = null`,
    [alert.alertIncidentId, alert.rule, JSON.stringify(alert.labels), alert.at],
  );
}

export async function endBannerAlert(q: Queryable, alertIncidentId: number, at: number): Promise<void> {
  await q.query('update status_banner_alerts set resolved_at = coalesce(resolved_at, $2) where alert_incident_id = $1', [alertIncidentId, at]);
}

export async function raisedBannerAlerts(q: Queryable): Promise<number[]> {
  const rows = await q.query<{ id: number }>('select alert_incident_id as id from status_banner_alerts where resolved_at is null order by alert_incident_id');
  return rows.map((row) => row.id);
}

/** Banner alerts still raised, or ended at or after `endedSince`. */
export async function listBannerAlerts(q: Queryable, endedSince: number): Promise<BannerAlertRow[]> {
  return q.query<BannerAlertRow>(
    `select alert_incident_id as "alertIncidentId", rule, labels, started_at as "startedAt", resolved_at as "resolvedAt"
       from status_banner_alerts where resolved_at is null or resolved_at >= $1 order by alert_incident_id`,
    [endedSince],
  );
}
