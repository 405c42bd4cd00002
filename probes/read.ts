import type { Queryable } from '../core/db/index.ts';
import type { ProbeResult, ProbeState } from './types.ts';

// The read side of the admin API and the console: results paged by id, uptime by hour or day, each location's state.

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
    `select id, probe, kind, location, (extract(epoch from started_at) * 1000)::float8 as started_at, duration_ms, success, reason, timings, details, trace_id
       from probes_results
      where probe = $1 and ($2::float8 is null or started_at >= to_timestamp($2::float8 / 1000)) and ($3::float8 is null or started_at < to_timestamp($3::float8 / 1000))
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

export interface UptimeBucket {
  /** Epoch ms of the bucket's start (an hour, or a UTC day). */
  start: number;
  checks: number;
  successes: number;
}

/** Checks and successes over all locations per hour (or UTC day) since `from`, oldest first; buckets without checks are absent. */
export async function selectUptime(db: Queryable, probe: string, resolution: 'hour' | 'day', from: number): Promise<UptimeBucket[]> {
  const rows =
    resolution === 'hour'
      ? await db.query<{ start: string | number; checks: string | number; successes: string | number }>(
          `select (extract(epoch from hour) * 1000)::float8 as start, sum(checks) as checks, sum(successes) as successes from probes_uptime_hourly
            where probe = $1 and hour >= to_timestamp($2::float8 / 1000) group by hour order by hour`,
          [probe, from],
        )
      : await db.query<{ start: string; checks: string | number; successes: string | number }>(
          `select to_char(day, 'YYYY-MM-DD') as start, sum(checks) as checks, sum(successes) as successes from probes_uptime_daily
            where probe = $1 and day >= $2::date group by day order by day`,
          [probe, new Date(from).toISOString().slice(0, 10)],
        );
  return rows.map((row) => ({
    start: typeof row.start === 'string' && row.start.includes('-') ? Date.parse(`${row.start}T00:00:00Z`) : Number(row.start),
    checks: Number(row.checks),
    successes: Number(row.successes),
  }));
}

export interface LocationState {
  probe: string;
  location: string;
  state: ProbeState;
  since: number;
  lastResult: ProbeResult;
}

/** The state after each location's thresholds, with that location's last result. */
export async function selectLocationStates(db: Queryable): Promise<LocationState[]> {
  const rows = await db.query<{ probe: string; location: string; state: ProbeState; since: string | number; last_result: ProbeResult }>(
    'select probe, location, state, (extract(epoch from since) * 1000)::float8 as since, last_result from probes_location_status where last_result is not null order by probe, location',
  );
  return rows.map((row) => ({ probe: row.probe, location: row.location, state: row.state, since: Number(row.since), lastResult: row.last_result }));
}
