import type { Migration } from '../core/db/index.ts';

// Times are timestamptz (the first tables held epoch milliseconds as double precision until 014-018 converted them).
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
  // Subscriptions and what is sent to subscribers: times are timestamptz.
  {
    // The HMAC key of subscription links (confirmation, unsubscribe) and webhook secrets: made once, read by every process.
    id: 'status-page/006_signing_secret',
    sql: `create table status_signing_secret (id integer primary key check (id = 1), secret text not null)`,
  },
  {
    // An email address or webhook URL, for every component (components null), some, or one incident until it resolves.
    id: 'status-page/007_subscribers',
    sql: `create table status_subscribers (
      id serial primary key,
      channel text not null check (channel in ('email', 'webhook')),
      address text not null,
      contact text,
      components jsonb,
      incident_id integer,
      created_at timestamptz not null,
      confirmed_at timestamptz,
      ended_at timestamptz,
      ended_reason text
    )`,
  },
  {
    id: 'status-page/008_subscribers_active',
    sql: `create unique index status_subscribers_active on status_subscribers (channel, address, coalesce(incident_id, 0)) where ended_at is null`,
  },
  {
    // Each subscription request: its confirmation token (only a SHA-256 of it), what it asks for, and who asked (for the rate limits).
    id: 'status-page/009_subscription_requests',
    sql: `create table status_subscription_requests (
      token_hash text primary key,
      subscriber_id integer not null references status_subscribers (id) on delete cascade,
      components jsonb,
      address text not null,
      client_hash text not null,
      created_at timestamptz not null,
      expires_at timestamptz not null,
      used_at timestamptz
    )`,
  },
  {
    // Every email or webhook call to a subscriber, keyed by what it is about, so each is composed and sent once.
    id: 'status-page/010_deliveries',
    sql: `create table status_deliveries (
      id serial primary key,
      key text not null unique,
      subscriber_id integer not null references status_subscribers (id) on delete cascade,
      message jsonb not null,
      created_at timestamptz not null,
      attempts integer not null default 0,
      last_error text,
      sent_at timestamptz,
      dropped_at timestamptz
    )`,
  },
  {
    // The maintenance emails already handed to the subscribers: one row per maintenance, event and announcement.
    id: 'status-page/011_maintenance_mails',
    sql: `create table status_maintenance_mails (
      maintenance_id integer not null,
      event text not null,
      sent_at timestamptz not null,
      primary key (maintenance_id, event)
    )`,
  },
  {
    // Bumped on each reschedule: the .ics SEQUENCE, and which announcement the reminders follow.
    id: 'status-page/012_maintenance_sequence',
    sql: `alter table status_maintenances add column sequence integer not null default 0`,
  },
  {
    // Alert incidents the banner receiver was handed: raised on an opening notification, ended on UP.
    id: 'status-page/013_banner_alerts',
    sql: `create table status_banner_alerts (
      alert_incident_id integer primary key,
      rule text not null,
      labels jsonb not null,
      started_at timestamptz not null,
      resolved_at timestamptz
    )`,
  },
  { id: 'status-page/014_incidents_time', sql: 'alter table status_incidents alter column created_at type timestamptz using to_timestamp(created_at / 1000), alter column updated_at type timestamptz using to_timestamp(updated_at / 1000), alter column monitoring_at type timestamptz using to_timestamp(monitoring_at / 1000), alter column resolved_at type timestamptz using to_timestamp(resolved_at / 1000)' },
  { id: 'status-page/015_incident_updates_time', sql: 'alter table status_incident_updates alter column created_at type timestamptz using to_timestamp(created_at / 1000)' },
  { id: 'status-page/016_maintenances_time', sql: 'alter table status_maintenances alter column created_at type timestamptz using to_timestamp(created_at / 1000), alter column cancelled_at type timestamptz using to_timestamp(cancelled_at / 1000)' },
  { id: 'status-page/017_settings_time', sql: 'alter table status_settings alter column updated_at type timestamptz using to_timestamp(updated_at / 1000)' },
  { id: 'status-page/018_alert_notices_time', sql: 'alter table status_alert_notices alter column at type timestamptz using to_timestamp(at / 1000), alter column published_at type timestamptz using to_timestamp(published_at / 1000)' },
  {
    // When an incident update was handed to the subscribers (each once); the ones from before are not sent now.
    id: 'status-page/019_incident_updates_announced',
    sql: 'alter table status_incident_updates add column announced_at timestamptz',
  },
  { id: 'status-page/020_incident_updates_announced_before', sql: 'update status_incident_updates set announced_at = created_at' },
];
