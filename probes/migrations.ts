import type { Migration } from '../core/db/index.ts';

// One statement per migration (PGlite runs each as one prepared statement). The first tables kept times as epoch
// milliseconds (bigint); 010-016 turn every one into timestamptz in place, keeping the rows.
export const probesMigrations: readonly Migration[] = [
  { id: 'probes/001_results', sql: `create table probes_results (
      id bigserial primary key,
      probe text not null,
      kind text not null,
      location text not null,
      started_at bigint not null,
      duration_ms double precision not null,
      success boolean not null,
      reason text,
      timings jsonb,
      details jsonb,
      trace_id text
    )` },
  { id: 'probes/002_results_probe_started', sql: `create index probes_results_probe_started on probes_results (probe, started_at desc)` },
  { id: 'probes/003_results_started', sql: `create index probes_results_started on probes_results (started_at)` },
  // One row per probe and location: the state after that location's thresholds.
  { id: 'probes/004_location_status', sql: `create table probes_location_status (
      probe text not null,
      location text not null,
      kind text not null,
      labels jsonb not null,
      state text not null,
      since bigint not null,
      consecutive_failures integer not null,
      consecutive_successes integer not null,
      last_result jsonb not null,
      updated_at bigint not null,
      primary key (probe, location)
    )` },
  // One row per probe: the state after the location quorum, with the time it last changed.
  { id: 'probes/005_status', sql: `create table probes_status (
      probe text primary key,
      state text not null,
      since bigint not null
    )` },
  { id: 'probes/006_uptime_hourly', sql: `create table probes_uptime_hourly (
      probe text not null,
      location text not null,
      hour bigint not null,
      checks integer not null,
      successes integer not null,
      primary key (probe, location, hour)
    )` },
  { id: 'probes/007_uptime_daily', sql: `create table probes_uptime_daily (
      probe text not null,
      location text not null,
      day text not null,
      checks integer not null,
      successes integer not null,
      primary key (probe, location, day)
    )` },
  // A scheduled run is claimed once per location, so agents sharing a location do not both run it.
  { id: 'probes/008_claims', sql: `create table probes_claims (
      probe text not null,
      location text not null,
      slot bigint not null,
      primary key (probe, location, slot)
    )` },
  { id: 'probes/009_heartbeats', sql: `create table probes_heartbeats (
      token text primary key,
      armed_at bigint not null,
      last_ping bigint,
      last_start bigint,
      last_fail bigint,
      fail_message text
    )` },
  { id: 'probes/010_results_time', sql: `alter table probes_results alter column started_at type timestamptz using to_timestamp(started_at / 1000.0)` },
  { id: 'probes/011_location_status_time', sql: `alter table probes_location_status alter column since type timestamptz using to_timestamp(since / 1000.0), alter column updated_at type timestamptz using to_timestamp(updated_at / 1000.0)` },
  { id: 'probes/012_status_time', sql: `alter table probes_status alter column since type timestamptz using to_timestamp(since / 1000.0)` },
  { id: 'probes/013_uptime_hourly_time', sql: `alter table probes_uptime_hourly alter column hour type timestamptz using to_timestamp(hour / 1000.0)` },
  { id: 'probes/014_uptime_daily_date', sql: `alter table probes_uptime_daily alter column day type date using day::date` },
  { id: 'probes/015_claims_time', sql: `alter table probes_claims alter column slot type timestamptz using to_timestamp(slot / 1000.0)` },
  { id: 'probes/016_heartbeats_time', sql: `alter table probes_heartbeats alter column armed_at type timestamptz using to_timestamp(armed_at / 1000.0), alter column last_ping type timestamptz using to_timestamp(last_ping / 1000.0), alter column last_start type timestamptz using to_timestamp(last_start / 1000.0), alter column last_fail type timestamptz using to_timestamp(last_fail / 1000.0)` },
  // A location row exists (and is locked) before its first result is recorded; it stops voting in the quorum after silent_after.
  { id: 'probes/017_location_status_silence', sql: `alter table probes_location_status alter column last_result drop not null, add column silent_after timestamptz` },
  { id: 'probes/018_results_degraded', sql: `alter table probes_results add column degraded boolean not null default false` },
  // Each run carries an id made when it finished, so a batch written again after a commit whose answer was lost (the
  // store went away mid-write) adds no second row and moves no state twice.
  { id: 'probes/019_results_run_id', sql: `alter table probes_results add column run_id uuid` },
  { id: 'probes/020_results_run_id_unique', sql: `create unique index probes_results_run_id on probes_results (run_id)` },
  // Daily uptime is summed from the hourly rows (kept as long), so each batch writes one rollup instead of two.
  { id: 'probes/021_uptime_daily_from_hourly', sql: `drop table probes_uptime_daily` },
];
