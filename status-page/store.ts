// Every statement of the status-page module, as named intents; columns aliased to the camelCase fields.
import type { Queryable } from '../core/db/index.ts';
import { epochMs, toTime } from '../core/db/time.ts';
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

const INCIDENT_COLUMNS = `id, name, status, impact, components, postmortem, alert_incident_id as "alertIncidentId", ${epochMs('created_at', 'createdAt')},
  ${epochMs('updated_at', 'updatedAt')}, ${epochMs('monitoring_at', 'monitoringAt')}, ${epochMs('resolved_at', 'resolvedAt')}`;
const UPDATE_COLUMNS = `id, incident_id as "incidentId", status, body, affected, ${epochMs('created_at', 'createdAt')}`;

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
     values ($1, $2, $3, $4, $5, $6, ${toTime('$7')}, ${toTime('$7')}, ${toTime('$8')}, ${toTime('$9')}) returning id`,
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
    `update status_incidents set status = $2, impact = $3, components = $4, name = $5, postmortem = $6, updated_at = ${toTime('$7')},
       monitoring_at = case when $2 = 'monitoring' then coalesce(monitoring_at, ${toTime('$7')}) when $2 in ('investigating', 'identified') then null else monitoring_at end,
       resolved_at = case when $2 in ('resolved', 'postmortem') then coalesce(resolved_at, ${toTime('$7')}) else null end
     where id = $1`,
    [id, change.status, change.impact, JSON.stringify(change.components), change.name, change.postmortem, change.now],
  );
}

export async function insertIncidentUpdate(q: Queryable, update: { incidentId: number; status: IncidentStatus; body: string; affected: AffectedComponent[]; now: number }): Promise<void> {
  await q.query(`insert into status_incident_updates (incident_id, status, body, affected, created_at) values ($1, $2, $3, $4, ${toTime('$5')})`, [
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
      where ($2 and status not in ('resolved', 'postmortem')) or (not $2 and (created_at >= ${toTime('$1')} or status not in ('resolved', 'postmortem')))
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
  /** Reschedules so far. */
  sequence: number;
}

const DETAIL_COLUMNS = `maintenance_id as "maintenanceId", body, components, time_zone as "timeZone", ${epochMs('created_at', 'createdAt')}, ${epochMs('cancelled_at', 'cancelledAt')}, sequence`;

export async function insertMaintenanceDetails(q: Queryable, details: Omit<MaintenanceDetails, 'cancelledAt' | 'sequence'>): Promise<void> {
  await q.query(`insert into status_maintenances (maintenance_id, body, components, time_zone, created_at) values ($1, $2, $3, $4, ${toTime('$5')})`, [
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
  await q.query(`update status_maintenances set cancelled_at = coalesce(cancelled_at, ${toTime('$2')}) where maintenance_id = $1`, [id, now]);
}

export async function getSettings(q: Queryable): Promise<Record<string, unknown>> {
  const rows = await q.query<{ key: string; value: unknown }>('select key, value from status_settings order by key');
  return Object.fromEntries(rows.map((row) => [row.key, row.value]));
}

export async function putSetting(q: Queryable, key: string, value: unknown, now: number): Promise<void> {
  await q.query(
    `insert into status_settings (key, value, updated_at) values ($1, $2, ${toTime('$3')}) on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`,
    [key, JSON.stringify(value), now],
  );
}

export async function deleteSetting(q: Queryable, key: string): Promise<void> {
  await q.query('delete from status_settings where key = $1', [key]);
}

/** Stamps the page's creation time once (Statuspage's `created_at` of its components). */
export async function ensureCreatedAt(q: Queryable, now: number): Promise<void> {
  await q.query(`insert into status_settings (key, value, updated_at) values ('createdAt', $1, ${toTime('$2')}) on conflict (key) do nothing`, [JSON.stringify(now), now]);
}

export interface StoredAlertNotice {
  id: number;
  event: AlertEvent;
  incident: { id: number; rule: string; fingerprint: string; labels: Record<string, string> };
  at: number;
}

export type AlertEvent = 'warning' | 'emergency' | 'up' | 'flapping' | 'repeat' | 'retry';

export async function insertAlertNotice(q: Queryable, notice: Omit<StoredAlertNotice, 'id'>): Promise<void> {
  await q.query(`insert into status_alert_notices (event, alert_incident_id, rule, fingerprint, labels, at) values ($1, $2, $3, $4, $5, ${toTime('$6')})`, [
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
    `select id, event, alert_incident_id as "alertIncidentId", rule, fingerprint, labels, ${epochMs('at', 'at')} from status_alert_notices where published_at is null order by id limit 500`,
  );
  return rows.map((row) => ({ id: row.id, event: row.event, incident: { id: row.alertIncidentId, rule: row.rule, fingerprint: row.fingerprint, labels: row.labels }, at: row.at }));
}

export async function markAlertNoticePublished(q: Queryable, id: number, now: number): Promise<void> {
  await q.query(`update status_alert_notices set published_at = ${toTime('$2')} where id = $1`, [id, now]);
}

// ---- subscriptions and what is sent to subscribers (times are timestamptz, read as Date) ------------------------------

export async function loadSigningSecret(q: Queryable, fresh: string): Promise<string> {
  await q.query('insert into status_signing_secret (id, secret) values (1, $1) on conflict (id) do nothing', [fresh]);
  const [row] = await q.query<{ secret: string }>('select secret from status_signing_secret where id = 1');
  return row!.secret;
}

export async function bumpMaintenanceSequence(q: Queryable, id: number): Promise<void> {
  await q.query('update status_maintenances set sequence = sequence + 1 where maintenance_id = $1', [id]);
}

export type SubscriberChannel = 'email' | 'webhook';

export interface Subscriber {
  id: number;
  channel: SubscriberChannel;
  /** The email address, or the webhook's URL. */
  address: string;
  /** A webhook's email address, which confirmed it. */
  contact: string | null;
  /** Component ids; null: every component. */
  components: string[] | null;
  /** A one-shot subscription to this public incident's resolution. */
  incidentId: number | null;
  createdAt: Date;
  confirmedAt: Date | null;
  endedAt: Date | null;
  endedReason: string | null;
}

type Stamp = Date | string;
type SubscriberRow = Omit<Subscriber, 'createdAt' | 'confirmedAt' | 'endedAt'> & { createdAt: Stamp; confirmedAt: Stamp | null; endedAt: Stamp | null };
const subscriberColumns = (table = '') =>
  `${table}id, ${table}channel, ${table}address, ${table}contact, ${table}components, ${table}incident_id as "incidentId", ${table}created_at as "createdAt",
   ${table}confirmed_at as "confirmedAt", ${table}ended_at as "endedAt", ${table}ended_reason as "endedReason"`;
const SUBSCRIBER_COLUMNS = subscriberColumns();
const dateOrNull = (value: Stamp | null) => (value === null ? null : new Date(value));
const toSubscriber = (row: SubscriberRow): Subscriber => ({ ...row, createdAt: new Date(row.createdAt), confirmedAt: dateOrNull(row.confirmedAt), endedAt: dateOrNull(row.endedAt) });

/** The active subscriber for this channel, address and incident (none: every component), made when there is none. */
export async function ensureSubscriber(q: Queryable, input: { channel: SubscriberChannel; address: string; contact: string | null; incidentId: number | null; now: Date }): Promise<number> {
  const [row] = await q.query<{ id: number }>(
    `insert into status_subscribers (channel, address, contact, incident_id, created_at) values ($1, $2, $3, $4, $5)
     on conflict (channel, address, (coalesce(incident_id, 0))) where ended_at is null do update set contact = coalesce(excluded.contact, status_subscribers.contact)
     returning id`,
    [input.channel, input.address, input.contact, input.incidentId, input.now],
  );
  return row!.id;
}

export async function insertSubscriptionRequest(
  q: Queryable,
  request: { tokenHash: string; subscriberId: number; components: string[] | null; address: string; clientHash: string; now: Date; expiresAt: Date },
): Promise<void> {
  await q.query(
    `insert into status_subscription_requests (token_hash, subscriber_id, components, address, client_hash, created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7)`,
    [request.tokenHash, request.subscriberId, request.components === null ? null : JSON.stringify(request.components), request.address, request.clientHash, request.now, request.expiresAt],
  );
}

/** When the subscription requests for this email address, or from this client, since `since` were made, oldest first. */
export async function requestTimes(q: Queryable, by: { address: string } | { clientHash: string }, since: Date): Promise<Date[]> {
  const [column, value] = 'address' in by ? ['address', by.address] : ['client_hash', by.clientHash];
  const rows = await q.query<{ createdAt: Stamp }>(`select created_at as "createdAt" from status_subscription_requests where ${column} = $1 and created_at > $2 order by created_at`, [value, since]);
  return rows.map((row) => new Date(row.createdAt));
}

/** Uses a request's token once, before it expires, and applies what it asked for; the subscriber, or undefined. */
export async function confirmSubscription(q: Queryable, tokenHash: string, now: Date): Promise<Subscriber | undefined> {
  const [request] = await q.query<{ subscriberId: number; components: string[] | null }>(
    `update status_subscription_requests set used_at = $2 where token_hash = $1 and used_at is null and expires_at > $2 returning subscriber_id as "subscriberId", components`,
    [tokenHash, now],
  );
  if (!request) return undefined;
  const [row] = await q.query<SubscriberRow>(
    `update status_subscribers set components = $2, confirmed_at = coalesce(confirmed_at, $3) where id = $1 and ended_at is null returning ${SUBSCRIBER_COLUMNS}`,
    [request.subscriberId, request.components === null ? null : JSON.stringify(request.components), now],
  );
  return row ? toSubscriber(row) : undefined;
}

/** Ends an active subscriber; false when it had ended already (so whoever ends it acts once). */
export async function endSubscriber(q: Queryable, id: number, reason: 'unsubscribed' | 'notified' | 'unconfirmed', now: Date): Promise<boolean> {
  const rows = await q.query('update status_subscribers set ended_at = $2, ended_reason = $3 where id = $1 and ended_at is null returning id', [id, now, reason]);
  return rows.length > 0;
}

export async function dropPendingDeliveries(q: Queryable, subscriberId: number, now: Date): Promise<void> {
  await q.query(`update status_deliveries set dropped_at = $2, last_error = 'the subscriber unsubscribed' where subscriber_id = $1 and sent_at is null and dropped_at is null`, [subscriberId, now]);
}

export async function getSubscriber(q: Queryable, id: number): Promise<Subscriber | undefined> {
  const [row] = await q.query<SubscriberRow>(`select ${SUBSCRIBER_COLUMNS} from status_subscribers where id = $1`, [id]);
  return row ? toSubscriber(row) : undefined;
}

export type SubscriberState = 'pending' | 'confirmed' | 'ended';

/** Subscribers by state (pending: not confirmed yet; confirmed: receiving; ended) and address, oldest first. */
export async function listSubscribers(q: Queryable, filter: { states: readonly SubscriberState[]; address?: string }): Promise<Subscriber[]> {
  const rows = await q.query<SubscriberRow>(
    `select ${SUBSCRIBER_COLUMNS} from status_subscribers
      where case when ended_at is not null then 'ended' when confirmed_at is null then 'pending' else 'confirmed' end = any($1)
        and ($2::text is null or address = $2 or contact = $2)
      order by id`,
    [filter.states, filter.address ?? null],
  );
  return rows.map(toSubscriber);
}

/** Removes a subscriber with its requests and deliveries; false when there was none. */
export async function deleteSubscriber(q: Queryable, id: number): Promise<boolean> {
  const rows = await q.query('delete from status_subscribers where id = $1 returning id', [id]);
  return rows.length > 0;
}

/** Confirmed subscribers of any of these components (or of every component), without the one-shot ones. */
export async function subscribersOfComponents(q: Queryable, components: readonly string[]): Promise<Subscriber[]> {
  const rows = await q.query<SubscriberRow>(
    `select ${SUBSCRIBER_COLUMNS} from status_subscribers
      where ended_at is null and confirmed_at is not null and incident_id is null and (components is null or components ?| $1::text[])
      order by id`,
    [components],
  );
  return rows.map(toSubscriber);
}

/** Incident updates not yet handed to the subscribers, oldest first, with their incident. */
export async function unannouncedIncidentUpdates(q: Queryable): Promise<Array<{ update: IncidentUpdate; incident: PublicIncident }>> {
  const updates = await q.query<IncidentUpdate>(`select ${UPDATE_COLUMNS} from status_incident_updates where announced_at is null order by created_at, id`);
  if (updates.length === 0) return [];
  const rows = await q.query<Omit<PublicIncident, 'updates'>>(`select ${INCIDENT_COLUMNS} from status_incidents where id = any($1)`, [[...new Set(updates.map((update) => update.incidentId))]]);
  const incidents = new Map((await withUpdates(q, rows)).map((incident) => [incident.id, incident]));
  return updates.flatMap((update) => {
    const incident = incidents.get(update.incidentId);
    return incident ? [{ update, incident }] : [];
  });
}

/** Claims an incident update for the subscribers; false when it was claimed before (by this or another process). */
export async function claimIncidentUpdate(q: Queryable, updateId: number, now: Date): Promise<boolean> {
  const rows = await q.query('update status_incident_updates set announced_at = $2 where id = $1 and announced_at is null returning id', [updateId, now]);
  return rows.length > 0;
}

/**
 * One-shot subscribers whose incident is resolved, with the incident's name: the confirmed ones are told, the rest end.
 * `toldByComponents`: the same address also follows a component of the incident, so it hears of the resolution there.
 */
export async function oneShotsOfResolvedIncidents(q: Queryable): Promise<Array<Subscriber & { incidentName: string; toldByComponents: boolean }>> {
  const rows = await q.query<SubscriberRow & { incidentName: string; toldByComponents: boolean }>(
    `select ${subscriberColumns('s.')}, i.name as "incidentName",
            exists (select 1 from status_subscribers o
                     where o.ended_at is null and o.confirmed_at is not null and o.incident_id is null and o.channel = s.channel and o.address = s.address
                       and (o.components is null or o.components ?| array(select jsonb_object_keys(i.components)))) as "toldByComponents"
       from status_subscribers s join status_incidents i on i.id = s.incident_id
      where s.ended_at is null and i.status in ('resolved', 'postmortem')
      order by s.id`,
  );
  return rows.map((row) => ({ ...toSubscriber(row), incidentName: row.incidentName, toldByComponents: row.toldByComponents }));
}

/** Banner alerts over and alert notices published before `before`: the page and the banner no longer read them. */
export async function deleteSpentAlertRecords(q: Queryable, before: Date): Promise<void> {
  await q.query('delete from status_banner_alerts where resolved_at < $1', [before]);
  await q.query('delete from status_alert_notices where published_at < $1', [before]);
}

/** Requests past their expiry for a day: no longer usable nor counted by the rate limits. */
export async function deleteStaleRequests(q: Queryable, now: Date): Promise<void> {
  await q.query(`delete from status_subscription_requests where expires_at < $1::timestamptz - interval '1 day'`, [now]);
}

/** What one delivery sends: an email, or a signed webhook call. */
export type DeliveryMessage =
  | { channel: 'email'; to: string; subject: string; text: string; html: string; headers: Record<string, string>; attachments?: Array<{ filename: string; content: string; contentType: string }> }
  | { channel: 'webhook'; url: string; body: string };

export interface Delivery {
  id: number;
  key: string;
  subscriberId: number;
  message: DeliveryMessage;
  attempts: number;
}

/** Records a delivery once per key; its id, or undefined when the key was recorded before. */
export async function insertDelivery(q: Queryable, delivery: { key: string; subscriberId: number; message: DeliveryMessage; now: Date }): Promise<number | undefined> {
  const [row] = await q.query<{ id: number }>(
    'insert into status_deliveries (key, subscriber_id, message, created_at) values ($1, $2, $3, $4) on conflict (key) do nothing returning id',
    [delivery.key, delivery.subscriberId, JSON.stringify(delivery.message), delivery.now],
  );
  return row?.id;
}

/** A delivery still to be sent (neither sent nor dropped), counting this attempt. */
export async function startDeliveryAttempt(q: Queryable, id: number): Promise<Delivery | undefined> {
  const [row] = await q.query<Delivery>(
    `update status_deliveries set attempts = attempts + 1 where id = $1 and sent_at is null and dropped_at is null
     returning id, key, subscriber_id as "subscriberId", message, attempts`,
    [id],
  );
  return row;
}

export async function markDeliverySent(q: Queryable, id: number, now: Date): Promise<void> {
  await q.query('update status_deliveries set sent_at = $2, last_error = null where id = $1', [id, now]);
}

export async function markDeliveryFailed(q: Queryable, id: number, error: string, options: { drop: boolean; now: Date }): Promise<void> {
  await q.query('update status_deliveries set last_error = $2, dropped_at = case when $3 then $4 else dropped_at end where id = $1', [id, error, options.drop, options.now]);
}

/** The maintenance emails handed out so far, per maintenance: event → when. */
export async function maintenanceMailsSent(q: Queryable, ids: readonly number[]): Promise<Map<number, Map<string, number>>> {
  const sent = new Map<number, Map<string, number>>();
  if (ids.length === 0) return sent;
  const rows = await q.query<{ maintenanceId: number; event: string; sentAt: Stamp }>(
    'select maintenance_id as "maintenanceId", event, sent_at as "sentAt" from status_maintenance_mails where maintenance_id = any($1)',
    [ids],
  );
  for (const row of rows) sent.set(row.maintenanceId, (sent.get(row.maintenanceId) ?? new Map()).set(row.event, new Date(row.sentAt).getTime()));
  return sent;
}

/** Claims one maintenance email event; false when it was claimed before (by this or another process). */
export async function claimMaintenanceMail(q: Queryable, maintenanceId: number, event: string, now: Date): Promise<boolean> {
  const rows = await q.query('insert into status_maintenance_mails (maintenance_id, event, sent_at) values ($1, $2, $3) on conflict do nothing returning event', [maintenanceId, event, now]);
  return rows.length > 0;
}

// ---- the banner receiver's alerts (times are timestamptz, read as Date) ------------------------------------------------

export interface BannerAlertRow {
  alertIncidentId: number;
  rule: string;
  labels: Record<string, string>;
  startedAt: Date;
  resolvedAt: Date | null;
}

/** An opening notification raises the alert's banner (again, after an UP: a relapse of the same incident). */
export async function raiseBannerAlert(q: Queryable, alert: { alertIncidentId: number; rule: string; labels: Record<string, string>; at: Date }): Promise<void> {
  await q.query(
    `insert into status_banner_alerts (alert_incident_id, rule, labels, started_at) values ($1, $2, $3, $4)
     on conflict (alert_incident_id) do update set labels = excluded.labels, resolved_at = null`,
    [alert.alertIncidentId, alert.rule, JSON.stringify(alert.labels), alert.at],
  );
}

export async function endBannerAlert(q: Queryable, alertIncidentId: number, at: Date): Promise<void> {
  await q.query('update status_banner_alerts set resolved_at = coalesce(resolved_at, $2) where alert_incident_id = $1', [alertIncidentId, at]);
}

export async function raisedBannerAlerts(q: Queryable): Promise<number[]> {
  const rows = await q.query<{ id: number }>('select alert_incident_id as id from status_banner_alerts where resolved_at is null order by alert_incident_id');
  return rows.map((row) => row.id);
}

/** Banner alerts still raised, or ended at or after `endedSince`. */
export async function listBannerAlerts(q: Queryable, endedSince: Date): Promise<BannerAlertRow[]> {
  return q.query<BannerAlertRow>(
    `select alert_incident_id as "alertIncidentId", rule, labels, started_at as "startedAt", resolved_at as "resolvedAt"
       from status_banner_alerts where resolved_at is null or resolved_at >= $1 order by alert_incident_id`,
    [endedSince],
  );
}
