import type { Migration } from '../core/db/index.ts';

// Times are epoch milliseconds from the injected clock (double precision reads back as a number on both stores).
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
];
