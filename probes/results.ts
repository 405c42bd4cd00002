import type { Db, Queryable } from '../core/db/index.ts';
import type { ProbeResult, ProbeState, ProbeStatus, UptimeDay } from './types.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** How long raw results and rollups are kept. */
export const RETENTION = { resultsMs: 14 * DAY, rollupsMs: 90 * DAY, claimsMs: DAY };

/** What the state machine needs from the definition that produced a result. */
export interface Thresholds {
  failureThreshold: number;
  successThreshold: number;
  quorum: number;
  labels: Record<string, string>;
}

export interface Recorded {
  result: ProbeResult;
  thresholds: Thresholds;
}

/** Stores a batch of results in one transaction: raw rows, per-location state, quorum state, hourly and daily uptime. */
export async function recordResults(db: Db, batch: readonly Recorded[]): Promise<void> {
  if (batch.length === 0) return;
  await db.transaction(async (tx) => {
    await insertResults(tx, batch.map((item) => item.result));
    for (const item of batch) await updateLocationState(tx, item);
    const quorums = new Map(batch.map((item) => [item.result.probe, { quorum: item.thresholds.quorum, at: item.result.startedAt }]));
    for (const [probe, { quorum, at }] of quorums) await updateProbeState(tx, probe, quorum, at);
    await rollUp(tx, batch.map((item) => item.result));
  });
}

async function insertResults(tx: Queryable, results: readonly ProbeResult[]): Promise<void> {
  const params: unknown[] = [];
  const rows = results.map((result) => {
    const base = params.length;
    params.push(
      result.probe, result.kind, result.location, result.startedAt, result.durationMs, result.success,
      result.reason ?? null, result.timings ? JSON.stringify(result.timings) : null, result.details ? JSON.stringify(result.details) : null, result.traceId ?? null,
    );
    return `(${Array.from({ length: 10 }, (_, i) => `$${base + i + 1}`).join(', ')})`;
  });
  await tx.query(
    `insert into probes_results (probe, kind, location, started_at, duration_ms, success, reason, timings, details, trace_id) values ${rows.join(', ')}`,
    params,
  );
}

// One statement, so several processes recording for the same probe and location never lose a count.
const UPSERT_LOCATION_STATE = `
  insert into probes_location_status as s (probe, location, kind, labels, state, since, consecutive_failures, consecutive_successes, last_result, updated_at)
  values ($1, $2, $3, $4::jsonb,
          case when $5::boolean then (case when $6::int <= 1 then 'up' else 'unknown' end) else (case when $7::int <= 1 then 'down' else 'unknown' end) end,
          $8::bigint, case when $5::boolean then 0 else 1 end, case when $5::boolean then 1 else 0 end, $9::jsonb, $8::bigint)
  on conflict (probe, location) do update set
    kind = excluded.kind,
    labels = excluded.labels,
    consecutive_failures = case when $5::boolean then 0 else s.consecutive_failures + 1 end,
    consecutive_successes = case when $5::boolean then s.consecutive_successes + 1 else 0 end,
    state = case
      when $5::boolean and s.consecutive_successes + 1 >= $6::int then 'up'
      when not $5::boolean and s.consecutive_failures + 1 >= $7::int then 'down'
      else s.state end,
    since = case
      when ($5::boolean and s.consecutive_successes + 1 >= $6::int and s.state <> 'up')
        or (not $5::boolean and s.consecutive_failures + 1 >= $7::int and s.state <> 'down') then $8::bigint
      else s.since end,
    last_result = excluded.last_result,
    updated_at = $8::bigint`;

async function updateLocationState(tx: Queryable, { result, thresholds }: Recorded): Promise<void> {
  await tx.query(UPSERT_LOCATION_STATE, [
    result.probe, result.location, result.kind, JSON.stringify(thresholds.labels), result.success,
    thresholds.successThreshold, thresholds.failureThreshold, result.startedAt, JSON.stringify(result),
  ]);
}

/** Down when at least `quorum` locations are down; up when fewer are and one is up; unknown otherwise. */
export function quorumState(states: readonly ProbeState[], quorum: number): ProbeState {
  if (states.filter((state) => state === 'down').length >= quorum) return 'down';
  return states.includes('up') ? 'up' : 'unknown';
}

async function updateProbeState(tx: Queryable, probe: string, quorum: number, at: number): Promise<void> {
  const rows = await tx.query<{ state: ProbeState }>('select state from probes_location_status where probe = $1', [probe]);
  const state = quorumState(rows.map((row) => row.state), quorum);
  await tx.query(
    `insert into probes_status as p (probe, state, since) values ($1, $2, $3::bigint)
     on conflict (probe) do update set since = case when p.state = excluded.state then p.since else excluded.since end, state = excluded.state`,
    [probe, state, at],
  );
}

async function rollUp(tx: Queryable, results: readonly ProbeResult[]): Promise<void> {
  const buckets = new Map<string, { probe: string; location: string; hour: number; day: string; checks: number; successes: number }>();
  for (const result of results) {
    const hour = Math.floor(result.startedAt / HOUR) * HOUR;
    const key = `${result.probe}\0${result.location}\0${hour}`;
    const bucket = buckets.get(key) ?? { probe: result.probe, location: result.location, hour, day: dayOf(hour), checks: 0, successes: 0 };
    bucket.checks += 1;
    bucket.successes += result.success ? 1 : 0;
    buckets.set(key, bucket);
  }
  for (const bucket of buckets.values()) {
    for (const [table, column, value] of [['probes_uptime_hourly', 'hour', bucket.hour], ['probes_uptime_daily', 'day', bucket.day]] as const) {
      await tx.query(
        `insert into ${table} as u (probe, location, ${column}, checks, successes) values ($1, $2, $3, $4, $5)
         on conflict (probe, location, ${column}) do update set checks = u.checks + excluded.checks, successes = u.successes + excluded.successes`,
        [bucket.probe, bucket.location, value, bucket.checks, bucket.successes],
      );
    }
  }
}

function dayOf(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

interface LocationRow {
  probe: string;
  location: string;
  kind: string;
  labels: Record<string, string>;
  state: ProbeState;
  consecutive_failures: number;
  consecutive_successes: number;
  last_result: ProbeResult;
  updated_at: string | number;
  quorum_state: ProbeState | null;
  quorum_since: string | number | null;
}

/** Every probe that has results, with its quorum state and each location's state. */
export async function getProbeStatuses(db: Db): Promise<ProbeStatus[]> {
  const rows = await db.query<LocationRow>(
    `select l.probe, l.location, l.kind, l.labels, l.state, l.consecutive_failures, l.consecutive_successes, l.last_result, l.updated_at,
            p.state as quorum_state, p.since as quorum_since
       from probes_location_status l left join probes_status p on p.probe = l.probe
      order by l.probe, l.location`,
  );
  const statuses = new Map<string, ProbeStatus & { updatedAt: number }>();
  for (const row of rows) {
    const updatedAt = Number(row.updated_at);
    const current = statuses.get(row.probe);
    const latest = !current || updatedAt >= current.updatedAt;
    const status = current ?? {
      probe: row.probe,
      kind: row.kind,
      labels: row.labels,
      state: row.quorum_state ?? 'unknown',
      since: Number(row.quorum_since ?? updatedAt),
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      locations: [],
      updatedAt,
    };
    status.locations.push({ location: row.location, state: row.state });
    if (latest) {
      // The counters and last result shown for the probe are those of the location that reported last.
      Object.assign(status, {
        kind: row.kind,
        labels: row.labels,
        consecutiveFailures: row.consecutive_failures,
        consecutiveSuccesses: row.consecutive_successes,
        lastResult: row.last_result,
        updatedAt,
      });
    }
    statuses.set(row.probe, status);
  }
  return [...statuses.values()].map(({ updatedAt: _updatedAt, ...status }) => status);
}

/** Daily uptime over all locations for the `days` UTC days ending with the day of `now`, oldest first. */
export async function getUptime(db: Db, probe: string, options: { days: number; now: number }): Promise<UptimeDay[]> {
  const days = Array.from({ length: options.days }, (_, i) => dayOf(options.now - (options.days - 1 - i) * DAY));
  const rows = await db.query<{ day: string; checks: string | number; successes: string | number }>(
    `select day, sum(checks) as checks, sum(successes) as successes from probes_uptime_daily
      where probe = $1 and day >= $2 and day <= $3 group by day`,
    [probe, days[0], days[days.length - 1]],
  );
  const byDay = new Map(rows.map((row) => [row.day, { checks: Number(row.checks), successes: Number(row.successes) }]));
  return days.map((day) => {
    const found = byDay.get(day);
    return { day, checks: found?.checks ?? 0, uptimeRatio: found && found.checks > 0 ? found.successes / found.checks : null };
  });
}

/** The latest results of one probe, newest first. */
export async function getRecentResults(db: Db, probe: string, limit = 20): Promise<ProbeResult[]> {
  const rows = await db.query<{ probe: string; kind: string; location: string; started_at: string; duration_ms: number; success: boolean; reason: string | null; timings: Record<string, number> | null; details: Record<string, unknown> | null; trace_id: string | null }>(
    'select * from probes_results where probe = $1 order by started_at desc, id desc limit $2',
    [probe, limit],
  );
  return rows.map((row) => ({
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

/** Claims scheduled slots for this location; returns the keys ("probe\0slot") this process won. */
export async function claimSlots(db: Db, location: string, slots: ReadonlyArray<{ probe: string; slot: number }>): Promise<Set<string>> {
  if (slots.length === 0) return new Set();
  const params: unknown[] = [location];
  const values = slots.map(({ probe, slot }) => {
    params.push(probe, slot);
    return `($${params.length - 1}, $1, $${params.length}::bigint)`;
  });
  const rows = await db.query<{ probe: string; slot: string | number }>(
    `insert into probes_claims (probe, location, slot) values ${values.join(', ')} on conflict do nothing returning probe, slot`,
    params,
  );
  return new Set(rows.map((row) => `${row.probe}\0${Number(row.slot)}`));
}

/** Deletes raw results, rollups and claims past their retention. */
export async function prune(db: Db, now: number): Promise<void> {
  await db.query('delete from probes_results where started_at < $1', [now - RETENTION.resultsMs]);
  await db.query('delete from probes_uptime_hourly where hour < $1', [now - RETENTION.rollupsMs]);
  await db.query('delete from probes_uptime_daily where day < $1', [dayOf(now - RETENTION.rollupsMs)]);
  await db.query('delete from probes_claims where slot < $1', [now - RETENTION.claimsMs]);
}
