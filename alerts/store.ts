// Every statement the alerts module runs, as a named intent. Columns are aliased to the camelCase the code uses;
// times are timestamptz in the database and epoch milliseconds from the injected clock in the code.
import type { Queryable } from '../core/db/index.ts';
import { epochMs, toTime } from '../core/db/time.ts';
import type { Labels } from './config.ts';
import type { Incident, IncidentState, NotificationEvent } from './types.ts';


// ---- incidents ----------------------------------------------------------------------------------------------------

const INCIDENT = `id, fingerprint, rule, labels, summary, last_summary as "lastSummary", state, flapping, resets, ${epochMs('started_at', 'startedAt')}, ${epochMs('fired_at', 'firedAt')},
  ${epochMs('escalated_at', 'escalatedAt')}, ${epochMs('resolved_at', 'resolvedAt')}, acked_by as "ackedBy", ${epochMs('acked_at', 'ackedAt')}`;

export async function openIncidentByFingerprint(q: Queryable, fingerprint: string): Promise<Incident | undefined> {
  const [row] = await q.query<Incident>(`select ${INCIDENT} from alerts_incidents where fingerprint = $1 and state <> 'resolved'`, [fingerprint]);
  return row;
}

export async function incidentById(q: Queryable, id: number): Promise<Incident | undefined> {
  const [row] = await q.query<Incident>(`select ${INCIDENT} from alerts_incidents where id = $1`, [id]);
  return row;
}

/** In the order of `ids`. */
export async function incidentsByIds(q: Queryable, ids: readonly number[]): Promise<Incident[]> {
  const rows = await q.query<Incident>(`select ${INCIDENT} from alerts_incidents where id = any($1::int[])`, [ids]);
  return ids.flatMap((id) => rows.filter((row) => row.id === id));
}

export const openIncidents = (q: Queryable) => q.query<Incident>(`select ${INCIDENT} from alerts_incidents where state <> 'resolved' order by id`);

export const firingIncidents = (q: Queryable) => q.query<Incident>(`select ${INCIDENT} from alerts_incidents where state in ('firing', 'escalated') order by id`);

export const listIncidents = (q: Queryable, options: { all?: boolean; limit?: number } = {}) =>
  q.query<Incident>(`select ${INCIDENT} from alerts_incidents where $1 or state <> 'resolved' order by id desc limit $2`, [options.all ?? false, options.limit ?? 100]);

export async function insertIncident(q: Queryable, incident: { fingerprint: string; rule: string; labels: Labels; summary: string; state: 'pending' | 'firing'; flapping: boolean; now: number }): Promise<Incident> {
  const [row] = await q.query<Incident>(
    `insert into alerts_incidents (fingerprint, rule, labels, summary, state, flapping, started_at, fired_at)
     values ($1, $2, $3, $4, $5, $6, ${toTime('$7')}, case when $5 = 'firing' then ${toTime('$7')} end) returning ${INCIDENT}`,
    [incident.fingerprint, incident.rule, JSON.stringify(incident.labels), incident.summary, incident.state, incident.flapping, incident.now],
  );
  return row!;
}

/** An incident raised from memory during a store outage, written when the store returns with the times it had. */
export async function insertRecoveredIncident(q: Queryable, incident: { fingerprint: string; rule: string; labels: Labels; summary: string; startedAt: number; firedAt: number }): Promise<Incident> {
  const [row] = await q.query<Incident>(
    `insert into alerts_incidents (fingerprint, rule, labels, summary, state, flapping, started_at, fired_at)
     values ($1, $2, $3, $4, 'firing', false, ${toTime('$5')}, ${toTime('$6')}) returning ${INCIDENT}`,
    [incident.fingerprint, incident.rule, JSON.stringify(incident.labels), incident.summary, incident.startedAt, incident.firedAt],
  );
  return row!;
}

export interface IncidentChanges {
  state?: IncidentState;
  firedAt?: number;
  escalatedAt?: number;
  resolvedAt?: number;
  flapping?: boolean;
  summary?: string;
  lastSummary?: string;
}

const INCIDENT_COLUMNS: Record<keyof IncidentChanges, { column: string; time: boolean }> = {
  state: { column: 'state', time: false },
  firedAt: { column: 'fired_at', time: true },
  escalatedAt: { column: 'escalated_at', time: true },
  resolvedAt: { column: 'resolved_at', time: true },
  flapping: { column: 'flapping', time: false },
  summary: { column: 'summary', time: false },
  lastSummary: { column: 'last_summary', time: false },
};

export async function updateIncident(q: Queryable, id: number, changes: IncidentChanges): Promise<Incident> {
  const names = Object.keys(changes) as Array<keyof IncidentChanges>;
  const sets = names.map((name, index) => `${INCIDENT_COLUMNS[name].column} = ${INCIDENT_COLUMNS[name].time ? toTime(`$${index + 2}`) : `$${index + 2}`}`);
  const [row] = await q.query<Incident>(`update alerts_incidents set ${sets.join(', ')} where id = $1 returning ${INCIDENT}`, [id, ...names.map((name) => changes[name])]);
  return row!;
}

export async function acknowledgeIncident(q: Queryable, id: number, actor: string, now: number): Promise<Incident> {
  const [row] = await q.query<Incident>(`update alerts_incidents set acked_by = $2, acked_at = ${toTime('$3')} where id = $1 returning ${INCIDENT}`, [id, actor, now]);
  return row!;
}

/** Counts one more reset: the router queues one more hook attempt (a RETRY) for each. */
export async function countReset(q: Queryable, id: number): Promise<Incident> {
  const [row] = await q.query<Incident>(`update alerts_incidents set resets = resets + 1 where id = $1 returning ${INCIDENT}`, [id]);
  return row!;
}

export async function incidentCountsByState(q: Queryable): Promise<Array<{ state: IncidentState; count: number }>> {
  return q.query('select state, count(*)::int as count from alerts_incidents group by state');
}

/** Pending, firing and escalated incidents by their severity label ("none" without one). */
export async function openIncidentCountsBySeverity(q: Queryable): Promise<Array<{ severity: string; count: number }>> {
  return q.query(`select coalesce(labels->>'severity', 'none') as severity, count(*)::int as count from alerts_incidents where state <> 'resolved' group by 1`);
}

// ---- signal states (flapping) ---------------------------------------------------------------------------------------

export interface SignalState {
  active: boolean;
  /** When the condition changed, epoch ms, oldest first. */
  flips: number[];
  flapping: boolean;
}

export async function signalState(q: Queryable, fingerprint: string): Promise<SignalState | undefined> {
  const [row] = await q.query<SignalState>(
    `select active, flapping, coalesce((select array_agg((extract(epoch from flip) * 1000)::float8 order by flip) from unnest(flips) flip), '{}') as flips
       from alerts_signal_states where fingerprint = $1`,
    [fingerprint],
  );
  return row && { ...row, flips: row.flips.map(Number) };
}

export async function saveSignalState(q: Queryable, fingerprint: string, state: SignalState): Promise<void> {
  await q.query(
    `insert into alerts_signal_states (fingerprint, active, flips, flapping)
     values ($1, $2, coalesce((select array_agg(to_timestamp(flip / 1000)) from unnest($3::float8[]) flip), '{}'), $4)
     on conflict (fingerprint) do update set active = excluded.active, flips = excluded.flips, flapping = excluded.flapping`,
    [fingerprint, state.active, state.flips, state.flapping],
  );
}

// ---- notifications (the outbox) -------------------------------------------------------------------------------------

export type NotificationStatus = 'pending' | 'delivered' | 'muted' | 'failed' | 'skipped';

/** What the router knows about one notification of an incident. */
export interface NotificationRecord {
  id: number;
  key: string;
  receiver: string;
  /** The receiver a fallback stands in for (null for a notification to its own receiver). */
  onBehalfOf: string | null;
  event: NotificationEvent;
  status: NotificationStatus;
  /** The route (index in alerts.routes) that sent it. */
  route: number | null;
  deliveredAt: number | null;
}

export const notificationHistory = (q: Queryable, incidentId: number) =>
  q.query<NotificationRecord>(
    `select id, key, receiver, on_behalf_of as "onBehalfOf", event, status, route, ${epochMs('delivered_at', 'deliveredAt')} from alerts_notifications where incident_id = $1 order by id`,
    [incidentId],
  );

export interface NewNotification {
  key: string;
  incidentId: number;
  receiver: string;
  onBehalfOf?: string | undefined;
  event: NotificationEvent;
  fallback?: string | undefined;
  groupKey: string;
  route?: number | undefined;
  mutedBy?: string | undefined;
  createdAt: number;
  dueAt: number;
}

/** The channel the outbox listens on: a notification written wakes delivery in every process on commit. */
export const OUTBOX_CHANNEL = 'vigil_alerts_outbox';

const wakeOutbox = (q: Queryable) => q.query(`select pg_notify('${OUTBOX_CHANNEL}', '')`);

/** Idempotent per key: a notification once queued is never queued again. */
export async function insertNotification(q: Queryable, n: NewNotification): Promise<void> {
  await q.query(
    `insert into alerts_notifications (key, incident_id, receiver, on_behalf_of, event, fallback, group_key, route, status, muted_by, created_at, next_attempt_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, case when $9::text is null then 'pending' else 'muted' end, $9, ${toTime('$10')}, ${toTime('$11')}) on conflict (key) do nothing`,
    [n.key, n.incidentId, n.receiver, n.onBehalfOf ?? null, n.event, n.fallback ?? null, n.groupKey, n.route ?? null, n.mutedBy ?? null, n.createdAt, n.dueAt],
  );
  if (!n.mutedBy) await wakeOutbox(q);
}

/** A notification delivered straight to its receiver while the store was unreachable, recorded once it returns. */
/** `result`: what the receiver recorded (Slack: the message), so later notices about the incident thread on it. */
export async function insertDeliveredNotification(q: Queryable, n: { key: string; incidentId: number; receiver: string; event: NotificationEvent; groupKey: string; createdAt: number; deliveredAt: number; result?: Record<string, unknown> | undefined }): Promise<void> {
  await q.query(
    `insert into alerts_notifications (key, incident_id, receiver, event, group_key, status, attempts, created_at, next_attempt_at, delivered_at, result)
     values ($1, $2, $3, $4, $5, 'delivered', 1, ${toTime('$6')}, ${toTime('$6')}, ${toTime('$7')}, $8) on conflict (key) do nothing`,
    [n.key, n.incidentId, n.receiver, n.event, n.groupKey, n.createdAt, n.deliveredAt, n.result ? JSON.stringify(n.result) : null],
  );
}

export async function releaseMuted(q: Queryable, ids: readonly number[], now: number): Promise<void> {
  await q.query(`update alerts_notifications set status = 'pending', muted_by = null, next_attempt_at = ${toTime('$2')} where id = any($1::int[]) and status = 'muted'`, [ids, now]);
  await wakeOutbox(q);
}

/** One notification as the outbox delivers it. */
export interface OutboxRow {
  id: number;
  key: string;
  incidentId: number;
  receiver: string;
  onBehalfOf: string | null;
  event: NotificationEvent;
  fallback: string | null;
  groupKey: string;
  route: number | null;
  attempts: number;
  createdAt: number;
  result: Record<string, unknown> | null;
  /** Set while a send is under way; found set, the process sending it died (the send is in doubt). */
  sendingSince: number | null;
}

const OUTBOX_ROW = `n.id, n.key, n.incident_id as "incidentId", n.receiver, n.on_behalf_of as "onBehalfOf", n.event, n.fallback, n.group_key as "groupKey", n.route,
  n.attempts, ${epochMs('n.created_at', 'createdAt')}, n.result, ${epochMs('n.sending_since', 'sendingSince')}`;

/** Receivers with a notification due now. */
export async function receiversWithDueNotifications(q: Queryable, now: number): Promise<string[]> {
  const rows = await q.query<{ receiver: string }>(`select distinct receiver from alerts_notifications where status = 'pending' and next_attempt_at <= ${toTime('$1')}`, [now]);
  return rows.map((row) => row.receiver);
}

/**
 * A receiver's due notifications, first in first out: an earlier pending notification that is not due yet (waiting
 * for a retry) holds back the later ones, so a receiver hears about incidents in the order they fired and about each
 * incident's events in order.
 */
export const dueNotifications = (q: Queryable, receiver: string, now: number) =>
  q.query<OutboxRow>(
    `select ${OUTBOX_ROW} from alerts_notifications n
      where n.receiver = $2 and n.status = 'pending' and n.next_attempt_at <= ${toTime('$1')}
        and not exists (select 1 from alerts_notifications e where e.receiver = n.receiver and e.status = 'pending' and e.id < n.id and e.next_attempt_at > ${toTime('$1')})
      order by n.id`,
    [now, receiver],
  );

export async function markSending(q: Queryable, ids: readonly number[], now: number): Promise<void> {
  await q.query(`update alerts_notifications set sending_since = ${toTime('$2')} where id = any($1::int[])`, [ids, now]);
}

export async function markDelivered(q: Queryable, ids: readonly number[], now: number, result: Record<string, unknown> | undefined): Promise<void> {
  await q.query(
    `update alerts_notifications set status = 'delivered', delivered_at = ${toTime('$2')}, attempts = attempts + 1, last_error = null, result = $3, sending_since = null where id = any($1::int[])`,
    [ids, now, result ? JSON.stringify(result) : null],
  );
}

/**
 * `progress`: what the failed attempt had already done, for the next one (none: what was recorded stays). `inDoubt`: the
 * failed attempt may have arrived, so the next one is told to check before sending again.
 */
export async function markRetry(q: Queryable, ids: readonly number[], retryAt: number, error: string, progress: Record<string, unknown> | undefined, inDoubt: boolean): Promise<void> {
  await q.query(
    `update alerts_notifications set attempts = attempts + 1, next_attempt_at = ${toTime('$2')}, last_error = $3, result = coalesce($4, result), sending_since = case when $5 then sending_since end
      where id = any($1::int[])`,
    [ids, retryAt, error, progress ? JSON.stringify({ progress }) : null, inDoubt],
  );
}

export async function markFailed(q: Queryable, ids: readonly number[], error: string): Promise<void> {
  await q.query(`update alerts_notifications set status = 'failed', last_error = $2, sending_since = null where id = any($1::int[])`, [ids, error]);
}

export async function markSkipped(q: Queryable, ids: readonly number[], reason: string): Promise<void> {
  await q.query(`update alerts_notifications set status = 'skipped', last_error = $2 where id = any($1::int[])`, [ids, reason]);
}

/** What hooks recorded for this incident: EMERGENCY, because their budget is spent (see decide.ts `escalation`). */
export const escalationRequests = (q: Queryable, incidentId: number) =>
  q.query<{ reason: string; sequence: number }>(
    `select escalation as reason, resets as sequence from alerts_hook_attempts where incident_id = $1 and outcome = 'budget-spent' and escalation is not null order by id`,
    [incidentId],
  );

/** What a receiver recorded about an incident on its first delivery that recorded something (Slack: the message). */
export async function threadOf(q: Queryable, incidentId: number, receiver: string): Promise<Record<string, unknown> | undefined> {
  const [row] = await q.query<{ result: Record<string, unknown> }>(
    `select result from alerts_notifications where incident_id = $1 and receiver = $2 and status = 'delivered' and result is not null order by id limit 1`,
    [incidentId, receiver],
  );
  return row?.result;
}

/** Keys of the messages this receiver sent earlier about an incident, oldest first (email threading). */
export async function deliveredKeys(q: Queryable, incidentId: number, receiver: string): Promise<string[]> {
  const rows = await q.query<{ key: string }>(`select key from alerts_notifications where incident_id = $1 and receiver = $2 and status = 'delivered' order by id`, [incidentId, receiver]);
  return rows.map((row) => row.key);
}

export async function outboxBacklog(q: Queryable): Promise<{ count: number; oldest: number | null }> {
  const [row] = await q.query<{ count: number; oldest: number | null }>(`select count(*)::int as count, ${epochMs('min(created_at)', 'oldest')} from alerts_notifications where status = 'pending'`);
  return row ?? { count: 0, oldest: null };
}

// ---- receiver health (the built-in delivery-failure rule reads it) ---------------------------------------------------

export async function recordReceiverHealth(q: Queryable, receiver: string, failure: string | null, now: number): Promise<void> {
  await q.query(
    `insert into alerts_receiver_health (receiver, failure, changed_at) values ($1, $2, ${toTime('$3')})
     on conflict (receiver) do update set failure = excluded.failure, changed_at = excluded.changed_at where alerts_receiver_health.failure is distinct from excluded.failure`,
    [receiver, failure, now],
  );
}

export const receiverHealth = (q: Queryable) => q.query<{ receiver: string; failure: string | null }>('select receiver, failure from alerts_receiver_health order by receiver');

// ---- silences and maintenance windows -------------------------------------------------------------------------------

export interface Silence {
  id: number;
  matchers: Labels;
  startsAt: number;
  endsAt: number;
  author: string;
  comment: string;
  createdAt: number;
}

export interface Maintenance {
  id: number;
  title: string;
  matchers: Labels;
  startsAt: number;
  endsAt: number;
  author: string;
  comment: string;
}

const SILENCE = `id, matchers, ${epochMs('starts_at', 'startsAt')}, ${epochMs('ends_at', 'endsAt')}, author, comment, ${epochMs('created_at', 'createdAt')}`;
const MAINTENANCE = `id, title, matchers, ${epochMs('starts_at', 'startsAt')}, ${epochMs('ends_at', 'endsAt')}, author, comment`;

export interface WindowInput {
  matchers: Labels;
  startsAt: number;
  endsAt: number;
  author: string;
  comment: string;
}

export async function insertSilence(q: Queryable, input: WindowInput, now: number): Promise<Silence> {
  const [row] = await q.query<Silence>(
    `insert into alerts_silences (matchers, starts_at, ends_at, author, comment, created_at) values ($1, ${toTime('$2')}, ${toTime('$3')}, $4, $5, ${toTime('$6')}) returning ${SILENCE}`,
    [JSON.stringify(input.matchers), input.startsAt, input.endsAt, input.author, input.comment, now],
  );
  return row!;
}

export const silencesActiveAt = (q: Queryable, now: number) =>
  q.query<Silence>(`select ${SILENCE} from alerts_silences where starts_at <= ${toTime('$1')} and ends_at > ${toTime('$1')} order by id`, [now]);

export const listSilences = (q: Queryable, now: number, options: { all?: boolean } = {}) =>
  q.query<Silence>(`select ${SILENCE} from alerts_silences where $1 or ends_at > ${toTime('$2')} order by starts_at, id`, [options.all ?? false, now]);

export async function endSilence(q: Queryable, id: number, now: number): Promise<Silence | undefined> {
  const [row] = await q.query<Silence>(`update alerts_silences set ends_at = least(ends_at, ${toTime('$2')}) where id = $1 returning ${SILENCE}`, [id, now]);
  return row;
}

export async function insertMaintenance(q: Queryable, input: WindowInput & { title: string }, now: number): Promise<Maintenance> {
  const [row] = await q.query<Maintenance>(
    `insert into alerts_maintenances (title, matchers, starts_at, ends_at, author, comment, created_at) values ($1, $2, ${toTime('$3')}, ${toTime('$4')}, $5, $6, ${toTime('$7')}) returning ${MAINTENANCE}`,
    [input.title, JSON.stringify(input.matchers), input.startsAt, input.endsAt, input.author, input.comment, now],
  );
  return row!;
}

/** Maintenance windows overlapping [from, to]. */
export const maintenancesOverlapping = (q: Queryable, range: { from: number; to: number }) =>
  q.query<Maintenance>(`select ${MAINTENANCE} from alerts_maintenances where starts_at <= ${toTime('$2')} and ends_at >= ${toTime('$1')} order by starts_at, id`, [range.from, range.to]);

export async function endMaintenanceWindow(q: Queryable, id: number, now: number): Promise<Maintenance | undefined> {
  const [row] = await q.query<Maintenance>(`update alerts_maintenances set ends_at = least(ends_at, ${toTime('$2')}) where id = $1 returning ${MAINTENANCE}`, [id, now]);
  return row;
}

/** Moves a window that has not ended yet; undefined when there is no such window or it is over. */
export async function moveMaintenanceWindow(q: Queryable, id: number, window: { startsAt: number; endsAt: number }, now: number): Promise<Maintenance | undefined> {
  const [row] = await q.query<Maintenance>(`update alerts_maintenances set starts_at = ${toTime('$2')}, ends_at = ${toTime('$3')} where id = $1 and ends_at > ${toTime('$4')} returning ${MAINTENANCE}`, [id, window.startsAt, window.endsAt, now]);
  return row;
}

// ---- the leader lease -----------------------------------------------------------------------------------------------

/**
 * Takes or renews the lease: the holder renews; anyone takes it once expired; `installation` and `process` name a
 * holder so a restarted process of the same installation sees its own dead lease and takes it at once. Each takeover
 * bumps the fencing token.
 */
export async function acquireLease(q: Queryable, lease: { holder: string; sameHolder: string; ttl: number; now: number }): Promise<number | undefined> {
  const [row] = await q.query<{ token: number }>(
    `insert into alerts_leader (name, holder, token, expires_at) values ('alerts', $1, 1, ${toTime('$3')})
     on conflict (name) do update set
       token = case when alerts_leader.holder = $1 then alerts_leader.token else alerts_leader.token + 1 end,
       holder = $1, expires_at = ${toTime('$3')}
     where alerts_leader.holder = $1 or alerts_leader.holder = $2 or alerts_leader.expires_at <= ${toTime('$4')}
     returning token`,
    [lease.holder, lease.sameHolder, lease.now + lease.ttl, lease.now],
  );
  return row?.token;
}

export async function currentLeaseHolder(q: Queryable): Promise<string | undefined> {
  const [row] = await q.query<{ holder: string }>(`select holder from alerts_leader where name = 'alerts'`);
  return row?.holder;
}

export async function leaseIsHeld(q: Queryable, holder: string, token: number, now: number): Promise<boolean> {
  const rows = await q.query(`select 1 from alerts_leader where name = 'alerts' and holder = $1 and token = $2 and expires_at > ${toTime('$3')}`, [holder, token, now]);
  return rows.length > 0;
}

export async function releaseLease(q: Queryable, holder: string, token: number): Promise<void> {
  await q.query(`update alerts_leader set expires_at = '-infinity' where name = 'alerts' and holder = $1 and token = $2`, [holder, token]);
}

/** A random id made once per data directory or database: names this installation in Message-IDs and leases. */
export async function installationId(q: Queryable): Promise<string> {
  const [row] = await q.query<{ id: string }>(`insert into alerts_installation (singleton) values (true) on conflict (singleton) do update set singleton = true returning id`);
  return row!.id;
}

// ---- restart and scale hooks ----------------------------------------------------------------------------------------

export interface HookAttempt {
  id: number;
  receiver: string;
  service: string;
  incidentId: number;
  startedAt: number;
  finishedAt: number | null;
  action: string;
  outcome: string;
  detail: string;
}

const HOOK_ATTEMPT = `id, receiver, service, incident_id as "incidentId", ${epochMs('started_at', 'startedAt')}, ${epochMs('finished_at', 'finishedAt')}, action, outcome, detail`;

/** `escalation`: the EMERGENCY reason a spent budget records, made while the incident had been reset `resets` times. */
export async function insertHookAttempt(q: Queryable, attempt: Omit<HookAttempt, 'id'> & { escalation?: { reason: string; resets: number } }): Promise<number> {
  const [row] = await q.query<{ id: number }>(
    `insert into alerts_hook_attempts (receiver, service, incident_id, started_at, finished_at, action, outcome, detail, escalation, resets) values ($1, $2, $3, ${toTime('$4')}, ${toTime('$5')}, $6, $7, $8, $9, $10) returning id`,
    [attempt.receiver, attempt.service, attempt.incidentId, attempt.startedAt, attempt.finishedAt, attempt.action, attempt.outcome, attempt.detail, attempt.escalation?.reason ?? null, attempt.escalation?.resets ?? 0],
  );
  return row!.id;
}

export async function finishHookAttempt(q: Queryable, id: number, outcome: string, detail: string, now: number): Promise<void> {
  await q.query(`update alerts_hook_attempts set finished_at = ${toTime('$2')}, outcome = $3, detail = $4 where id = $1`, [id, now, outcome, detail]);
}

/**
 * Attempts left running by another (or an earlier) process: those started before `startedBefore` (their action's
 * timeout has passed) are closed as failed, since whether the action ran is unknown. Returns when the latest of the
 * others started: its action may still run, so no new attempt may start before its timeout.
 */
export async function closeInterruptedHookAttempts(q: Queryable, receiver: string, service: string, now: number, startedBefore: number): Promise<number | undefined> {
  await q.query(
    `update alerts_hook_attempts set finished_at = ${toTime('$3')}, outcome = 'failed', detail = 'interrupted: the process running it stopped' where receiver = $1 and service = $2 and outcome = 'running' and started_at <= ${toTime('$4')}`,
    [receiver, service, now, startedBefore],
  );
  const [row] = await q.query<{ startedAt: number | null }>(`select ${epochMs('max(started_at)', 'startedAt')} from alerts_hook_attempts where receiver = $1 and service = $2 and outcome = 'running'`, [receiver, service]);
  return row?.startedAt ?? undefined;
}

export const hookAttempts = (q: Queryable, filter: { incidentId?: number; service?: string } = {}) =>
  q.query<HookAttempt>(`select ${HOOK_ATTEMPT} from alerts_hook_attempts where ($1::int is null or incident_id = $1) and ($2::text is null or service = $2) order by id`, [
    filter.incidentId ?? null,
    filter.service ?? null,
  ]);

/** Attempts that count against the budget since `since`. */
export async function hookAttemptsSince(q: Queryable, receiver: string, service: string, since: number, incidentId?: number): Promise<number> {
  const [row] = await q.query<{ count: number }>(
    `select count(*)::int as count from alerts_hook_attempts
      where receiver = $1 and service = $2 and started_at > ${toTime('$3')} and outcome in ('fixed', 'not-fixed', 'failed', 'running') and ($4::int is null or incident_id = $4)`,
    [receiver, service, since, incidentId ?? null],
  );
  return row!.count;
}

export async function hookState(q: Queryable, receiver: string, service: string): Promise<{ lockedAt: number | null; resetAt: number | null } | undefined> {
  const [row] = await q.query<{ lockedAt: number | null; resetAt: number | null }>(
    `select ${epochMs('locked_at', 'lockedAt')}, ${epochMs('reset_at', 'resetAt')} from alerts_hook_state where receiver = $1 and service = $2`,
    [receiver, service],
  );
  return row;
}

export async function lockHook(q: Queryable, receiver: string, service: string, now: number): Promise<void> {
  await q.query(`insert into alerts_hook_state (receiver, service, locked_at) values ($1, $2, ${toTime('$3')}) on conflict (receiver, service) do update set locked_at = excluded.locked_at`, [receiver, service, now]);
}

/** Lets a service's hooks act again after the budget was spent. */
export async function resetHookBudget(q: Queryable, service: string, now: number): Promise<void> {
  await q.query(
    `insert into alerts_hook_state (receiver, service, locked_at, reset_at) select distinct receiver, service, null::timestamptz, ${toTime('$2')} from alerts_hook_attempts where service = $1
     on conflict (receiver, service) do update set locked_at = null, reset_at = excluded.reset_at`,
    [service, now],
  );
}

/** A hook's work for one notification and service, run off the delivery path and retried on its own schedule. */
export interface HookJob {
  id: number;
  service: string;
  incidentIds: number[];
}

/** Idempotent per notification: a delivery retried after a crash queues no second job. */
export async function queueHookJob(q: Queryable, job: { receiver: string; service: string; notificationKey: string; incidentIds: readonly number[]; now: number }): Promise<void> {
  await q.query(
    `insert into alerts_hook_jobs (receiver, service, notification_key, incident_ids, created_at, due_at) values ($1, $2, $3, $4::int[], ${toTime('$5')}, ${toTime('$5')})
     on conflict (receiver, service, notification_key) do nothing`,
    [job.receiver, job.service, job.notificationKey, job.incidentIds, job.now],
  );
}

/** Per service (or only `service`), its oldest unfinished job when it is due: a job waiting for a retry holds back the later ones. */
export const dueHookJobs = (q: Queryable, receiver: string, now: number, service?: string) =>
  q.query<HookJob>(
    `select id, service, incident_ids as "incidentIds" from (
       select distinct on (service) id, service, incident_ids, due_at from alerts_hook_jobs
        where receiver = $1 and finished_at is null and ($3::text is null or service = $3) order by service, id
     ) oldest where due_at <= ${toTime('$2')} order by id`,
    [receiver, now, service ?? null],
  );

export async function postponeHookJob(q: Queryable, id: number, dueAt: number): Promise<void> {
  await q.query(`update alerts_hook_jobs set due_at = ${toTime('$2')} where id = $1`, [id, dueAt]);
}

export async function finishHookJob(q: Queryable, id: number, outcome: string, now: number): Promise<void> {
  await q.query(`update alerts_hook_jobs set finished_at = ${toTime('$2')}, outcome = $3 where id = $1`, [id, now, outcome]);
}

// ---- audit ----------------------------------------------------------------------------------------------------------

export async function insertAudit(q: Queryable, entry: { at: number; actor: string; action: string; detail: Record<string, unknown> }): Promise<void> {
  await q.query(`insert into alerts_audit (at, actor, action, detail) values (${toTime('$1')}, $2, $3, $4)`, [entry.at, entry.actor, entry.action, JSON.stringify(entry.detail)]);
}

export const auditLog = (q: Queryable, limit = 100) =>
  q.query<{ at: number; actor: string; action: string; detail: Record<string, unknown> }>(`select ${epochMs('at', 'at')}, actor, action, detail from alerts_audit order by id desc limit $1`, [limit]);

// ---- retention ------------------------------------------------------------------------------------------------------

/** Deletes what is older than `before`: resolved incidents with their notifications and hook attempts, finished hook jobs, ended windows, audit rows. */
export async function pruneBefore(q: Queryable, before: number): Promise<number> {
  const [row] = await q.query<{ count: number }>(
    `with old as (select id from alerts_incidents where state = 'resolved' and resolved_at < ${toTime('$1')}),
          n as (delete from alerts_notifications where incident_id in (select id from old) returning 1),
          h as (delete from alerts_hook_attempts where incident_id in (select id from old) returning 1),
          j as (delete from alerts_hook_jobs where finished_at < ${toTime('$1')} returning 1),
          s as (delete from alerts_silences where ends_at < ${toTime('$1')} returning 1),
          m as (delete from alerts_maintenances where ends_at < ${toTime('$1')} returning 1),
          a as (delete from alerts_audit where at < ${toTime('$1')} returning 1),
          i as (delete from alerts_incidents where id in (select id from old) returning 1)
     select (select count(*) from n) + (select count(*) from h) + (select count(*) from j) + (select count(*) from s) + (select count(*) from m) + (select count(*) from a) + (select count(*) from i) as count`,
    [before],
  );
  return Number(row?.count ?? 0);
}

// ---- the read side of the admin API and the console: incidents paged by id, one incident's deliveries, the audit log

/** "open": every state but resolved. */
export type IncidentFilter = IncidentState | 'open';

export async function selectIncidentsPage(q: Queryable, filter: { state?: IncidentFilter; beforeId?: number; limit: number }): Promise<Incident[]> {
  const rows = await q.query<{ id: number }>(
    `select id from alerts_incidents
      where ($1::text is null or ($1 = 'open' and state <> 'resolved') or state = $1) and ($2::int is null or id < $2)
      order by id desc limit $3`,
    [filter.state ?? null, filter.beforeId ?? null, filter.limit],
  );
  return incidentsByIds(q, rows.map((row) => row.id));
}

export interface Delivery {
  id: number;
  receiver: string;
  event: string;
  status: 'pending' | 'delivered' | 'muted' | 'failed' | 'skipped';
  /** The receiver this one stands in for, when it is a fallback. */
  fallback: string | null;
  mutedBy: string | null;
  attempts: number;
  createdAt: number;
  deliveredAt: number | null;
  lastError: string | null;
}

/** Every notification queued for an incident, in the order they were queued. */
export async function selectDeliveries(q: Queryable, incidentId: number): Promise<Delivery[]> {
  return q.query<Delivery>(
    `select id, receiver, event, status, on_behalf_of as "fallback", muted_by as "mutedBy", attempts, ${epochMs('created_at', 'createdAt')}, ${epochMs('delivered_at', 'deliveredAt')}, last_error as "lastError"
       from alerts_notifications where incident_id = $1 order by id`,
    [incidentId],
  );
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

export async function selectAuditPage(q: Queryable, filter: { incidentId?: number; beforeId?: number; limit: number }): Promise<AuditEntry[]> {
  return q.query<AuditEntry>(
    `select id, ${epochMs('at', 'at')}, actor, action, detail from alerts_audit
      where ($1::int is null or (detail->>'incident')::int = $1) and ($2::int is null or id < $2)
      order by id desc limit $3`,
    [filter.incidentId ?? null, filter.beforeId ?? null, filter.limit],
  );
}
