import { expect } from 'vitest';
import { statusPageMigrations } from '../../status-page/migrations.ts';
import { getIncident, getMaintenanceDetails, unpublishedAlertNotices } from '../../status-page/store.ts';
import { describeStoreUpgrade } from '../support/backends.ts';

// A store made by the version that kept the status page's first tables in epoch milliseconds (migrations up to 013)
// starts on this one with its incidents, updates, maintenance details and alert notices intact, to the millisecond.
const T = Date.UTC(2026, 0, 1, 12, 0, 0, 250);

describeStoreUpgrade('status page store upgrade', 'converts epoch-millisecond columns to timestamptz without losing a row or a millisecond', {
  migrations: statusPageMigrations,
  from: 'status-page/013_banner_alerts',
  async seed(db) {
    await db.query(
      `insert into status_incidents (name, status, impact, components, created_at, updated_at, monitoring_at, resolved_at) values ('Uploads slow', 'resolved', 'minor', '{"uploads":"degraded_performance"}', $1, $2, $3, $4)`,
      [T, T + 4000, T + 2000, T + 4000],
    );
    await db.query(`insert into status_incident_updates (incident_id, status, body, affected, created_at) values (1, 'investigating', 'Looking.', '[]', $1)`, [T]);
    await db.query(`insert into status_maintenances (maintenance_id, body, components, time_zone, created_at, cancelled_at) values (7, 'Network', '["website"]', 'Europe/Paris', $1, $2)`, [T, T + 60_000]);
    await db.query(`insert into status_settings (key, value, updated_at) values ('branding', '{"name":"Videos"}', $1)`, [T]);
    await db.query(`insert into status_alert_notices (event, alert_incident_id, rule, fingerprint, labels, at) values ('warning', 3, 'api-down', 'f', '{}', $1)`, [T + 1000]);
  },
  async check(db) {
    expect(await getIncident(db, 1)).toMatchObject({ name: 'Uploads slow', createdAt: T, updatedAt: T + 4000, monitoringAt: T + 2000, resolvedAt: T + 4000, updates: [{ body: 'Looking.', createdAt: T }] });
    expect((await getMaintenanceDetails(db, [7])).get(7)).toMatchObject({ timeZone: 'Europe/Paris', createdAt: T, cancelledAt: T + 60_000 });
    expect(await unpublishedAlertNotices(db)).toEqual([{ id: 1, event: 'warning', incident: { id: 3, rule: 'api-down', fingerprint: 'f', labels: {} }, at: T + 1000 }]);
  },
});
