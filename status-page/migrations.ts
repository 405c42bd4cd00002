import type { Migration } from '../core/db/index.ts';

// Times are epoch milliseconds (double precision), as in the alerts tables these rows sit beside.
// One statement per migration: the PostgreSQL driver runs each as a prepared statement.
export const statusPageMigrations: Migration[] = [
  {
    id: 'status-page/001_incidents',
    sql: `create table status_incidents (
      id serial primary key,
      name text not null,
      status text not null check (status in ('investigating', 'identified', 'monitoring', 'resolved', 'postmortem')),
      impact text not null check (impact in ('none', 'minor', 'major', 'critical')),
      components jsonb not null default '{}',
      postmortem text,
      alert_incident_id integer unique,
      alert_source text,
      created_at double precision not null,
      updated_at double precision not null,
      monitoring_at double precision,
      resolved_at double precision
    )`,
  },
  {
    id: 'status-page/002_incident_updates',
    sql: `create table status_incident_updates (
      id serial primary key,
      incident_id integer not null references status_incidents (id),
      status text not null,
      body text not null,
      affected jsonb not null default '[]',
      created_at double precision not null
    )`,
  },
  {
    // The public side of an alerts maintenance window (the same object, which mutes alerts and holds restart hooks).
    id: 'status-page/003_maintenances',
    sql: `create table status_maintenances (
      maintenance_id integer primary key,
      body text not null default '',
      components jsonb not null default '[]',
      time_zone text not null,
      created_at double precision not null,
      cancelled_at double precision
    )`,
  },
  {
    // Run-time changes from the admin API: branding fields and component overrides, each one JSON value.
    id: 'status-page/004_settings',
    sql: `create table status_settings (
      key text primary key,
      value jsonb not null,
      updated_at double precision not null
    )`,
  },
  {
    // What the statusPage alert receiver handed over, published by the status page in order (the receiver's inbox).
    id: 'status-page/005_alert_notices',
    sql: `create table status_alert_notices (
      id serial primary key,
      event text not null,
      alert_incident_id integer not null,
      rule text not null,
      fingerprint text not null,
      labels jsonb not null,
      at double precision not null,
      published_at double precision
    )`,
  },
  {
    // Alert incidents the banner receiver was handed: raised on an opening notification, ended on UP.
    id: 'status-page/006_banner_alerts',
    sql: `create table status_banner_alerts (
      alert_incident_id integer primary key,
      rule text not null,
      labels jsonb not null,
      started_at double precision not null,
      resolved_at double precision
    )`,
  },
];
