import type { Migration } from '../core/db/index.ts';

// Times are timestamptz (the first tables held epoch milliseconds as double precision; 014 to 025 convert them).
// One statement per migration: the PostgreSQL driver runs each as a prepared statement.
export const alertsMigrations: Migration[] = [
  {
    id: 'alerts/001_incidents',
    sql: `create table alerts_incidents (
      id serial primary key,
      fingerprint text not null,
      rule text not null,
      labels jsonb not null,
      summary text not null,
      state text not null check (state in ('pending', 'firing', 'escalated', 'resolved')),
      flapping boolean not null default false,
      started_at double precision not null,
      fired_at double precision,
      escalated_at double precision,
      resolved_at double precision,
      acked_by text,
      acked_at double precision
    )`,
  },
  {
    id: 'alerts/002_incidents_one_open',
    sql: `create unique index alerts_incidents_one_open on alerts_incidents (fingerprint) where state <> 'resolved'`,
  },
  {
    id: 'alerts/003_signal_states',
    sql: `create table alerts_signal_states (
      fingerprint text primary key,
      active boolean not null,
      flips jsonb not null default '[]',
      flapping boolean not null default false
    )`,
  },
  {
    id: 'alerts/004_notifications',
    sql: `create table alerts_notifications (
      id serial primary key,
      key text not null unique,
      incident_id integer not null references alerts_incidents (id),
      receiver text not null,
      event text not null,
      fallback text,
      group_key text not null,
      status text not null check (status in ('pending', 'delivered', 'muted', 'failed', 'skipped')),
      muted_by text,
      attempts integer not null default 0,
      created_at double precision not null,
      next_attempt_at double precision not null,
      delivered_at double precision,
      last_error text,
      result jsonb
    )`,
  },
  {
    id: 'alerts/005_notifications_due',
    sql: `create index alerts_notifications_due on alerts_notifications (status, next_attempt_at)`,
  },
  {
    id: 'alerts/006_notifications_incident',
    sql: `create index alerts_notifications_incident on alerts_notifications (incident_id, receiver)`,
  },
  {
    id: 'alerts/007_silences',
    sql: `create table alerts_silences (
      id serial primary key,
      matchers jsonb not null,
      starts_at double precision not null,
      ends_at double precision not null,
      author text not null,
      comment text not null,
      created_at double precision not null
    )`,
  },
  {
    id: 'alerts/008_maintenances',
    sql: `create table alerts_maintenances (
      id serial primary key,
      title text not null,
      matchers jsonb not null,
      starts_at double precision not null,
      ends_at double precision not null,
      author text not null,
      comment text not null,
      created_at double precision not null
    )`,
  },
  {
    id: 'alerts/009_leader',
    sql: `create table alerts_leader (
      name text primary key,
      holder text not null,
      token integer not null,
      expires_at double precision not null
    )`,
  },
  {
    id: 'alerts/010_hook_attempts',
    sql: `create table alerts_hook_attempts (
      id serial primary key,
      receiver text not null,
      service text not null,
      incident_id integer not null,
      started_at double precision not null,
      finished_at double precision,
      action text not null,
      outcome text not null,
      detail text not null default ''
    )`,
  },
  {
    id: 'alerts/011_hook_state',
    sql: `create table alerts_hook_state (
      receiver text not null,
      service text not null,
      locked_at double precision,
      reset_at double precision,
      primary key (receiver, service)
    )`,
  },
  {
    id: 'alerts/012_audit',
    sql: `create table alerts_audit (
      id serial primary key,
      at double precision not null,
      actor text not null,
      action text not null,
      detail jsonb not null
    )`,
  },
  {
    // Set while a send is under way: a row found with it set was being sent by a process that died (in doubt).
    id: 'alerts/013_notifications_sending',
    sql: 'alter table alerts_notifications add column sending_since double precision',
  },
  {
    id: 'alerts/014_incidents_timestamptz',
    sql: 'alter table alerts_incidents alter column started_at type timestamptz using to_timestamp(started_at / 1000), alter column fired_at type timestamptz using to_timestamp(fired_at / 1000), alter column escalated_at type timestamptz using to_timestamp(escalated_at / 1000), alter column resolved_at type timestamptz using to_timestamp(resolved_at / 1000), alter column acked_at type timestamptz using to_timestamp(acked_at / 1000)',
  },
  {
    id: 'alerts/015_notifications_timestamptz',
    sql: 'alter table alerts_notifications alter column created_at type timestamptz using to_timestamp(created_at / 1000), alter column next_attempt_at type timestamptz using to_timestamp(next_attempt_at / 1000), alter column delivered_at type timestamptz using to_timestamp(delivered_at / 1000), alter column sending_since type timestamptz using to_timestamp(sending_since / 1000)',
  },
  {
    id: 'alerts/016_silences_timestamptz',
    sql: 'alter table alerts_silences alter column starts_at type timestamptz using to_timestamp(starts_at / 1000), alter column ends_at type timestamptz using to_timestamp(ends_at / 1000), alter column created_at type timestamptz using to_timestamp(created_at / 1000)',
  },
  {
    id: 'alerts/017_maintenances_timestamptz',
    sql: 'alter table alerts_maintenances alter column starts_at type timestamptz using to_timestamp(starts_at / 1000), alter column ends_at type timestamptz using to_timestamp(ends_at / 1000), alter column created_at type timestamptz using to_timestamp(created_at / 1000)',
  },
  {
    id: 'alerts/018_leader_timestamptz',
    sql: 'alter table alerts_leader alter column expires_at type timestamptz using to_timestamp(expires_at / 1000)',
  },
  {
    id: 'alerts/019_hook_attempts_timestamptz',
    sql: 'alter table alerts_hook_attempts alter column started_at type timestamptz using to_timestamp(started_at / 1000), alter column finished_at type timestamptz using to_timestamp(finished_at / 1000)',
  },
  {
    id: 'alerts/020_hook_state_timestamptz',
    sql: 'alter table alerts_hook_state alter column locked_at type timestamptz using to_timestamp(locked_at / 1000), alter column reset_at type timestamptz using to_timestamp(reset_at / 1000)',
  },
  {
    id: 'alerts/021_audit_timestamptz',
    sql: 'alter table alerts_audit alter column at type timestamptz using to_timestamp(at / 1000)',
  },
  {
    id: 'alerts/022_signal_flips_column',
    sql: `alter table alerts_signal_states add column flip_times timestamptz[] not null default '{}'`,
  },
  {
    id: 'alerts/023_signal_flips_convert',
    sql: `update alerts_signal_states set flip_times = coalesce((select array_agg(to_timestamp(flip::float8 / 1000) order by flip::float8) from jsonb_array_elements_text(flips) flip), '{}')`,
  },
  {
    id: 'alerts/024_signal_flips_drop_ms',
    sql: 'alter table alerts_signal_states drop column flips',
  },
  {
    id: 'alerts/025_signal_flips_rename',
    sql: 'alter table alerts_signal_states rename column flip_times to flips',
  },
  {
    id: 'alerts/026_incident_resets',
    sql: 'alter table alerts_incidents add column resets integer not null default 0',
  },
  {
    id: 'alerts/027_incident_resets_from_audit',
    sql: `update alerts_incidents set resets = (select count(*) from alerts_audit where action = 'incident.reset' and (detail->>'incident')::int = alerts_incidents.id)`,
  },
  {
    id: 'alerts/028_notification_route',
    sql: 'alter table alerts_notifications add column route integer, add column on_behalf_of text',
  },
  {
    id: 'alerts/029_notification_route_from_group',
    sql: `update alerts_notifications set route = split_part(group_key, ':', 1)::int where group_key ~ '^[0-9]+:'`,
  },
  {
    id: 'alerts/030_receiver_health',
    sql: 'create table alerts_receiver_health (receiver text primary key, failure text, changed_at timestamptz not null)',
  },
  {
    id: 'alerts/031_installation',
    sql: 'create table alerts_installation (singleton boolean primary key default true check (singleton), id text not null default gen_random_uuid()::text, created_at timestamptz not null default now())',
  },
  {
    id: 'alerts/032_notifications_receiver_fifo',
    sql: `create index alerts_notifications_pending on alerts_notifications (receiver, id) where status = 'pending'`,
  },
  {
    id: 'alerts/033_incidents_resolved_at',
    sql: `create index alerts_incidents_resolved on alerts_incidents (resolved_at) where state = 'resolved'`,
  },
  {
    id: 'alerts/034_incidents_open',
    sql: `create index alerts_incidents_open on alerts_incidents (state) where state <> 'resolved'`,
  },
  {
    id: 'alerts/035_audit_at',
    sql: 'create index alerts_audit_at on alerts_audit (at)',
  },
  {
    id: 'alerts/036_hook_attempts_service',
    sql: 'create index alerts_hook_attempts_service on alerts_hook_attempts (receiver, service, started_at)',
  },
  {
    id: 'alerts/037_hook_attempts_incident',
    sql: 'create index alerts_hook_attempts_incident on alerts_hook_attempts (incident_id)',
  },
  {
    id: 'alerts/038_incident_last_summary',
    sql: 'alter table alerts_incidents add column last_summary text',
  },
  {
    id: 'alerts/039_hook_attempt_escalation',
    sql: 'alter table alerts_hook_attempts add column escalation text, add column resets integer not null default 0',
  },
  {
    id: 'alerts/040_hook_jobs',
    sql: `create table alerts_hook_jobs (
      id serial primary key,
      receiver text not null,
      service text not null,
      notification_key text not null,
      incident_ids integer[] not null,
      created_at timestamptz not null,
      due_at timestamptz not null,
      finished_at timestamptz,
      outcome text,
      unique (receiver, service, notification_key)
    )`,
  },
  {
    id: 'alerts/041_hook_jobs_open',
    sql: 'create index alerts_hook_jobs_open on alerts_hook_jobs (receiver, service, id) where finished_at is null',
  },
];
