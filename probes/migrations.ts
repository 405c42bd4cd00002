import type { Migration } from '../core/db/index.ts';

// One statement per migration (PGlite runs each as one prepared statement). Times are epoch milliseconds (bigint),
// so the injected clock, PGlite and PostgreSQL agree exactly.
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
];
