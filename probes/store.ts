import type { Queryable } from '../core/db/index.ts';
import { epochMs, toTime } from '../core/db/time.ts';
import type { LocationState } from './state.ts';
import type { ProbeResult, ProbeState } from './types.ts';

// Every statement of the probes module, named by what it does.

/** The rows as one array per column, read back as rows by `unnest($1::type[], $2::type[], ...)`: a batch of any size
 * is one statement of the same short text with one parameter per column, so the server parses a few arrays instead
 * of a statement with a placeholder per cell, and plans the same text each time. */
function columns(rows: ReadonlyArray<readonly unknown[]>, types: readonly string[], first = 1): { unnest: string; params: unknown[][] } {
  const params = types.map((_type, column) => rows.map((row) => row[column]));
  return { unnest: `unnest(${types.map((type, column) => `$${first + column}::${type}[]`).join(', ')})`, params };
}

/** Epoch milliseconds read from a float8 column of `unnest`, as a timestamptz. */
const fromMs = (column: string) => `to_timestamp(${column} / 1000)`;
/** The UTC day of an hourly bucket: days are summed from the hours, not stored twice. */
const UTC_DAY = `(hour at time zone 'UTC')::date`;

/** Inserts the results whose run id is not stored yet; returns the run ids inserted now. */
export async function insertResults(tx: Queryable, results: ReadonlyArray<{ runId: string; result: ProbeResult }>): Promise<Set<string>> {
  const rows = results.map(({ runId, result }) => [
    runId, result.probe, result.kind, result.location, result.startedAt, result.durationMs, result.success, result.degraded ?? false,
    result.reason ?? null, result.timings ? JSON.stringify(result.timings) : null, result.details ? JSON.stringify(result.details) : null, result.traceId ?? null,
  ]);
  const { unnest, params } = columns(rows, ['uuid', 'text', 'text', 'text', 'float8', 'float8', 'boolean', 'boolean', 'text', 'jsonb', 'jsonb', 'text']);
  const inserted = await tx.query<{ runId: string }>(
    `insert into probes_results (run_id, probe, kind, location, started_at, duration_ms, success, degraded, reason, timings, details, trace_id)
     select run_id, probe, kind, location, ${fromMs('started_at')}, duration_ms, success, degraded, reason, timings, details, trace_id
       from ${unnest} as r (run_id, probe, kind, location, started_at, duration_ms, success, degraded, reason, timings, details, trace_id)
     on conflict (run_id) do nothing returning run_id::text as "runId"`,
    params,
  );
  return new Set(inserted.map((row) => row.runId));
}

export interface LocationKey {
  probe: string;
  location: string;
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The one order every transaction locks probes' rows in, so that two never wait on each other. Code-unit order, not
 * the locale's: any total order will do, and collation would load ICU's tables into every process for it. */
export const byProbeAndLocation = (a: LocationKey, b: LocationKey): number => byCodeUnits(a.probe, b.probe) || byCodeUnits(a.location, b.location);

export interface StoredLocationState extends LocationState, LocationKey {
  kind: string;
  labels: Record<string, string>;
  lastResult: ProbeResult | null;
  updatedAt: number;
  silentAfter: number | null;
}

/** What the state machine reads of a location row before recording: its counters, and whether it has reported yet. */
export interface LockedLocationState extends LocationState, LocationKey {
  reported: boolean;
}

/** Locks every row of `keys`, creating the missing ones (state unknown) first, in one order so concurrent agents queue
 * instead of deadlocking. Once the rows exist (every batch after a probe's first) this is one statement. */
export async function lockLocationStates(tx: Queryable, keys: ReadonlyArray<LocationKey & { kind: string; at: number }>): Promise<LockedLocationState[]> {
  const locked = await selectLocationStatesForUpdate(tx, keys);
  if (locked.length === keys.length) return locked;
  const present = new Set(locked.map((row) => `${row.probe}\0${row.location}`));
  const missing = keys.filter((key) => !present.has(`${key.probe}\0${key.location}`));
  const { unnest, params } = columns(missing.map((key) => [key.probe, key.location, key.kind, key.at]), ['text', 'text', 'text', 'float8']);
  await tx.query(
    `insert into probes_location_status (probe, location, kind, labels, state, since, consecutive_failures, consecutive_successes, updated_at)
     select probe, location, kind, '{}'::jsonb, 'unknown', ${fromMs('at')}, 0, 0, ${fromMs('at')} from ${unnest} as v (probe, location, kind, at)
     on conflict (probe, location) do nothing`,
    params,
  );
  return [...locked, ...(await selectLocationStatesForUpdate(tx, missing))];
}

function selectLocationStatesForUpdate(tx: Queryable, keys: readonly LocationKey[]): Promise<LockedLocationState[]> {
  const { unnest, params } = columns(keys.map((key) => [key.probe, key.location]), ['text', 'text']);
  return tx.query<LockedLocationState>(
    `select s.probe, s.location, s.state, ${epochMs('s.since')} as "since",
            s.consecutive_failures as "consecutiveFailures", s.consecutive_successes as "consecutiveSuccesses", s.last_result is not null as "reported"
       from probes_location_status s join ${unnest} as k (probe, location) on k.probe = s.probe and k.location = s.location
      order by s.probe, s.location
        for update of s`,
    params,
  );
}

export async function saveLocationStates(tx: Queryable, states: readonly StoredLocationState[]): Promise<void> {
  const rows = states.map((state) => [
    state.probe, state.location, state.kind, JSON.stringify(state.labels), state.state, state.since, state.consecutiveFailures, state.consecutiveSuccesses,
    JSON.stringify(state.lastResult), state.updatedAt, state.silentAfter,
  ]);
  const { unnest, params } = columns(rows, ['text', 'text', 'text', 'jsonb', 'text', 'float8', 'int', 'int', 'jsonb', 'float8', 'float8']);
  await tx.query(
    `insert into probes_location_status as s (probe, location, kind, labels, state, since, consecutive_failures, consecutive_successes, last_result, updated_at, silent_after)
     select probe, location, kind, labels, state, ${fromMs('since')}, consecutive_failures, consecutive_successes, last_result, ${fromMs('updated_at')}, ${fromMs('silent_after')}
       from ${unnest} as v (probe, location, kind, labels, state, since, consecutive_failures, consecutive_successes, last_result, updated_at, silent_after)
     on conflict (probe, location) do update set kind = excluded.kind, labels = excluded.labels, state = excluded.state, since = excluded.since,
       consecutive_failures = excluded.consecutive_failures, consecutive_successes = excluded.consecutive_successes,
       last_result = excluded.last_result, updated_at = excluded.updated_at, silent_after = excluded.silent_after`,
    params,
  );
}

export interface QuorumRow {
  probe: string;
  state: ProbeState;
  since: number;
}

/** Creates the missing quorum rows and locks them, so two agents recording the same probe decide one after the other. */
export async function lockProbeStates(tx: Queryable, probes: readonly string[], at: number): Promise<QuorumRow[]> {
  const sorted = [...new Set(probes)].sort();
  await tx.query(
    `insert into probes_status (probe, state, since) select probe, 'unknown', ${toTime('$2')} from unnest($1::text[]) as p (probe) on conflict (probe) do nothing`,
    [sorted, at],
  );
  return tx.query<QuorumRow>(
    `select probe, state, ${epochMs('since')} as "since" from probes_status where probe = any($1::text[]) order by probe for update`,
    [sorted],
  );
}

export interface LocationVote {
  probe: string;
  location: string;
  state: ProbeState;
  silentAfter: number | null;
}

export function selectLocationVotes(tx: Queryable, probes: readonly string[]): Promise<LocationVote[]> {
  return tx.query<LocationVote>(
    `select probe, location, state, ${epochMs('silent_after')} as "silentAfter" from probes_location_status where probe = any($1::text[]) and last_result is not null`,
    [[...new Set(probes)]],
  );
}

export async function saveProbeStates(tx: Queryable, rows: readonly QuorumRow[]): Promise<void> {
  if (rows.length === 0) return;
  const { unnest, params } = columns(rows.map((row) => [row.probe, row.state, row.since]), ['text', 'text', 'float8']);
  await tx.query(
    `update probes_status p set state = v.state, since = ${fromMs('v.since')}
       from ${unnest} as v (probe, state, since)
      where p.probe = v.probe`,
    params,
  );
}

/** Every location that has reported, with the time after which it counts as silent. */
export function selectLocationSilence(db: Queryable): Promise<Array<LocationKey & { silentAfter: number | null }>> {
  return db.query(`select probe, location, ${epochMs('silent_after')} as "silentAfter" from probes_location_status where last_result is not null`);
}

export interface UptimeBucket {
  probe: string;
  location: string;
  hour: number;
  checks: number;
  successes: number;
}

export async function addUptime(tx: Queryable, buckets: readonly UptimeBucket[]): Promise<void> {
  if (buckets.length === 0) return;
  const sorted = [...buckets].sort((a, b) => byProbeAndLocation(a, b) || a.hour - b.hour);
  const { unnest, params } = columns(sorted.map((b) => [b.probe, b.location, b.hour, b.checks, b.successes]), ['text', 'text', 'float8', 'int', 'int']);
  await tx.query(
    `insert into probes_uptime_hourly as u (probe, location, hour, checks, successes)
     select probe, location, ${fromMs('hour')}, checks, successes from ${unnest} as b (probe, location, hour, checks, successes)
     on conflict (probe, location, hour) do update set checks = u.checks + excluded.checks, successes = u.successes + excluded.successes`,
    params,
  );
}

export interface StatusRow extends Omit<StoredLocationState, 'since'> {
  quorumState: ProbeState | null;
  quorumSince: number | null;
}

export function selectStatuses(db: Queryable): Promise<StatusRow[]> {
  return db.query<StatusRow>(
    `select l.probe, l.location, l.kind, l.labels, l.state, l.consecutive_failures as "consecutiveFailures", l.consecutive_successes as "consecutiveSuccesses",
            l.last_result as "lastResult", ${epochMs('l.updated_at')} as "updatedAt", ${epochMs('l.silent_after')} as "silentAfter",
            p.state as "quorumState", ${epochMs('p.since')} as "quorumSince"
       from probes_location_status l left join probes_status p on p.probe = l.probe
      where l.last_result is not null
      order by l.probe, l.location`,
  );
}

export function selectDailyUptime(db: Queryable, probe: string, firstDay: string, lastDay: string): Promise<Array<{ day: string; checks: number; successes: number }>> {
  return db.query(
    `select to_char(${UTC_DAY}, 'YYYY-MM-DD') as day, sum(checks)::int as checks, sum(successes)::int as successes from probes_uptime_hourly
      where probe = $1 and hour >= $2::date at time zone 'UTC' and hour < ($3::date + 1) at time zone 'UTC' group by 1`,
    [probe, firstDay, lastDay],
  );
}

interface ResultRow extends Omit<ProbeResult, 'degraded' | 'reason' | 'timings' | 'details' | 'traceId'> {
  degraded: boolean;
  reason: string | null;
  timings: Record<string, number> | null;
  details: Record<string, unknown> | null;
  traceId: string | null;
}

export async function selectRecentResults(db: Queryable, probe: string, limit: number): Promise<ProbeResult[]> {
  const rows = await db.query<ResultRow>(
    `select probe, kind, location, ${epochMs('started_at')} as "startedAt", duration_ms as "durationMs", success, degraded, reason, timings, details, trace_id as "traceId"
       from probes_results where probe = $1 order by started_at desc, id desc limit $2`,
    [probe, limit],
  );
  // Absent rather than null, as the run produced them.
  return rows.map(({ degraded, reason, timings, details, traceId, ...row }) => ({
    ...row,
    ...(degraded ? { degraded } : {}),
    ...(reason ? { reason } : {}),
    ...(timings ? { timings } : {}),
    ...(details ? { details } : {}),
    ...(traceId ? { traceId } : {}),
  }));
}

/** Inserts the claims; returns those this process won. */
export async function insertClaims(db: Queryable, location: string, slots: ReadonlyArray<{ probe: string; slot: number }>): Promise<Array<{ probe: string; slot: number }>> {
  const { unnest, params } = columns(slots.map(({ probe, slot }) => [probe, slot]), ['text', 'float8'], 2);
  return db.query(
    `insert into probes_claims (probe, location, slot) select probe, $1::text, ${fromMs('slot')} from ${unnest} as c (probe, slot)
     on conflict do nothing returning probe, ${epochMs('slot')} as slot`,
    [location, ...params],
  );
}

export async function deleteResultsBefore(db: Queryable, before: number): Promise<void> {
  await db.query(`delete from probes_results where started_at < ${toTime('$1')}`, [before]);
}

/** Keeps the newest `keep` raw results; returns the details of the deleted ones that name a screenshot. */
export async function deleteResultsBeyond(db: Queryable, keep: number): Promise<string[]> {
  const rows = await db.query<{ screenshot: string | null }>(
    `delete from probes_results where id <= (select id from probes_results order by id desc offset $1 limit 1) returning details->>'screenshot' as screenshot`,
    [keep],
  );
  return rows.flatMap((row) => (row.screenshot ? [row.screenshot] : []));
}

export async function screenshotsBefore(db: Queryable, before: number): Promise<string[]> {
  const rows = await db.query<{ screenshot: string }>(
    `select details->>'screenshot' as screenshot from probes_results where started_at < ${toTime('$1')} and details ? 'screenshot'`,
    [before],
  );
  return rows.map((row) => row.screenshot);
}

export async function deleteRollupsBefore(db: Queryable, before: number): Promise<void> {
  await db.query(`delete from probes_uptime_hourly where hour < ${toTime('$1')}`, [before]);
}

export async function deleteClaimsBefore(db: Queryable, before: number): Promise<void> {
  await db.query(`delete from probes_claims where slot < ${toTime('$1')}`, [before]);
}

export interface HeartbeatRecord {
  armedAt: number;
  lastPing: number | null;
  lastStart: number | null;
  lastFail: number | null;
  failMessage: string | null;
}

export type HeartbeatEvent = 'ping' | 'start' | 'fail';

const HEARTBEAT_COLUMN: Record<HeartbeatEvent, string> = { ping: 'last_ping', start: 'last_start', fail: 'last_fail' };

export async function upsertHeartbeat(db: Queryable, tokenKey: string, event: HeartbeatEvent, at: number, message: string | null): Promise<void> {
  const column = HEARTBEAT_COLUMN[event];
  await db.query(
    `insert into probes_heartbeats (token, armed_at, ${column}, fail_message) values ($1, ${toTime('$2')}, ${toTime('$2')}, $3)
     on conflict (token) do update set ${column} = ${toTime('$2')}, fail_message = coalesce($3, probes_heartbeats.fail_message)`,
    [tokenKey, at, message],
  );
}

/** The token's record, created (armed at `now`) on first sight. */
export async function armAndReadHeartbeat(db: Queryable, tokenKey: string, now: number): Promise<HeartbeatRecord> {
  await db.query(`insert into probes_heartbeats (token, armed_at) values ($1, ${toTime('$2')}) on conflict (token) do nothing`, [tokenKey, now]);
  const [row] = await db.query<HeartbeatRecord>(
    `select ${epochMs('armed_at')} as "armedAt", ${epochMs('last_ping')} as "lastPing", ${epochMs('last_start')} as "lastStart",
            ${epochMs('last_fail')} as "lastFail", fail_message as "failMessage"
       from probes_heartbeats where token = $1`,
    [tokenKey],
  );
  return row!;
}

// ---- the read side of the admin API and the console: results paged by id, uptime by hour or day, each location's state.

export interface StoredResult extends ProbeResult {
  id: number;
}

export interface ResultFilter {
  probe: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  success?: boolean;
  /** Only results older than this id (the previous page's last). */
  beforeId?: number;
  limit: number;
}

interface ResultRow {
  id: string | number;
  probe: string;
  kind: string;
  location: string;
  started_at: string | number;
  duration_ms: number;
  success: boolean;
  reason: string | null;
  timings: Record<string, number> | null;
  details: Record<string, unknown> | null;
  trace_id: string | null;
}

/** Newest first by id: rows inserted while a client pages have higher ids, so they never shift a later page. */
export async function selectResultsPage(db: Queryable, filter: ResultFilter): Promise<StoredResult[]> {
  const rows = await db.query<ResultRow>(
    `select id, probe, kind, location, ${epochMs('started_at', 'started_at')}, duration_ms, success, reason, timings, details, trace_id
       from probes_results
      where probe = $1 and ($2::float8 is null or started_at >= ${toTime('$2')}) and ($3::float8 is null or started_at < ${toTime('$3')})
        and ($4::boolean is null or success = $4) and ($5::bigint is null or id < $5)
      order by id desc limit $6`,
    [filter.probe, filter.from ?? null, filter.to ?? null, filter.success ?? null, filter.beforeId ?? null, filter.limit],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    probe: row.probe,
    kind: row.kind,
    location: row.location,
    startedAt: Number(row.started_at),
    durationMs: row.duration_ms,
    success: row.success,
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.timings ? { timings: row.timings } : {}),
    ...(row.details ? { details: row.details } : {}),
    ...(row.trace_id ? { traceId: row.trace_id } : {}),
  }));
}

export interface UptimeTotal {
  /** Epoch ms of the bucket's start (an hour, or a UTC day). */
  start: number;
  checks: number;
  successes: number;
}

/** Checks and successes over all locations per hour (or UTC day) since `from`, oldest first; buckets without checks are absent. */
export async function selectUptime(db: Queryable, probe: string, resolution: 'hour' | 'day', from: number): Promise<UptimeTotal[]> {
  const rows =
    resolution === 'hour'
      ? await db.query<{ start: string | number; checks: string | number; successes: string | number }>(
          `select ${epochMs('hour', 'start')}, sum(checks) as checks, sum(successes) as successes from probes_uptime_hourly
            where probe = $1 and hour >= ${toTime('$2')} group by hour order by hour`,
          [probe, from],
        )
      : await db.query<{ start: string; checks: string | number; successes: string | number }>(
          `select to_char(${UTC_DAY}, 'YYYY-MM-DD') as start, sum(checks) as checks, sum(successes) as successes from probes_uptime_hourly
            where probe = $1 and hour >= $2::date at time zone 'UTC' group by 1 order by 1`,
          [probe, new Date(from).toISOString().slice(0, 10)],
        );
  return rows.map((row) => ({
    start: typeof row.start === 'string' && row.start.includes('-') ? Date.parse(`${row.start}T00:00:00Z`) : Number(row.start),
    checks: Number(row.checks),
    successes: Number(row.successes),
  }));
}

export interface LocationReading {
  probe: string;
  location: string;
  state: ProbeState;
  since: number;
  lastResult: ProbeResult;
}

/** The state after each location's thresholds, with that location's last result. */
export async function selectLocationReadings(db: Queryable): Promise<LocationReading[]> {
  const rows = await db.query<{ probe: string; location: string; state: ProbeState; since: string | number; last_result: ProbeResult }>(
    `select probe, location, state, ${epochMs('since', 'since')}, last_result from probes_location_status where last_result is not null order by probe, location`,
  );
  return rows.map((row) => ({ probe: row.probe, location: row.location, state: row.state, since: Number(row.since), lastResult: row.last_result }));
}
