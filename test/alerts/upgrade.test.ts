import { expect } from 'vitest';
import { alertsMigrations } from '../../alerts/migrations.ts';
import { incidentById, listSilences, maintenancesOverlapping, notificationHistory, signalState } from '../../alerts/store.ts';
import { describeStoreUpgrade } from '../support/backends.ts';

// A store made by the version that kept times as epoch milliseconds (migrations up to 013) starts on this one with
// its incidents, notifications, silences, maintenance windows, flapping history and resets intact.
const T = Date.UTC(2026, 0, 1, 12, 0, 0, 250);

describeStoreUpgrade('alerts store upgrade', 'converts epoch-millisecond columns to timestamptz without losing a row or a millisecond', {
  migrations: alertsMigrations,
  from: 'alerts/013_notifications_sending',
  async seed(db) {
    await db.query(`insert into alerts_incidents (fingerprint, rule, labels, summary, state, started_at, fired_at, acked_by, acked_at) values ('f', 'api-down', '{"service":"api"}', 'down', 'firing', $1, $2, 'ana', $3)`, [T, T + 1000, T + 2000]);
    await db.query(`insert into alerts_notifications (key, incident_id, receiver, event, group_key, status, created_at, next_attempt_at, delivered_at, sending_since) values ('1:ops:warning', 1, 'ops', 'warning', '0:#1', 'delivered', $1, $1, $2, null)`, [T + 1000, T + 1500]);
    await db.query(`insert into alerts_silences (matchers, starts_at, ends_at, author, comment, created_at) values ('{"service":"db"}', $1, $2, 'ana', 'deploy', $1)`, [T, T + 3_600_000]);
    await db.query(`insert into alerts_maintenances (title, matchers, starts_at, ends_at, author, comment, created_at) values ('upgrade', '{"service":"db"}', $1, $2, 'ana', '', $1)`, [T, T + 7_200_000]);
    await db.query(`insert into alerts_signal_states (fingerprint, active, flips, flapping) values ('f', true, $1, false)`, [JSON.stringify([T, T + 60_000])]);
    await db.query(`insert into alerts_audit (at, actor, action, detail) values ($1, 'ana', 'incident.reset', '{"incident":1,"service":"api"}'), ($1, 'ana', 'incident.reset', '{"incident":1,"service":"api"}')`, [T]);
  },
  async check(db) {
    expect(await incidentById(db, 1)).toMatchObject({ rule: 'api-down', labels: { service: 'api' }, startedAt: T, firedAt: T + 1000, ackedAt: T + 2000, ackedBy: 'ana', resets: 2, lastSummary: null });
    expect(await notificationHistory(db, 1)).toEqual([{ id: 1, key: '1:ops:warning', receiver: 'ops', onBehalfOf: null, event: 'warning', status: 'delivered', route: 0, deliveredAt: T + 1500 }]);
    expect((await listSilences(db, T, { all: true })).map((silence) => [silence.startsAt, silence.endsAt, silence.comment])).toEqual([[T, T + 3_600_000, 'deploy']]);
    expect((await maintenancesOverlapping(db, { from: T, to: T })).map((window) => [window.title, window.startsAt, window.endsAt])).toEqual([['upgrade', T, T + 7_200_000]]);
    expect(await signalState(db, 'f')).toEqual({ active: true, flapping: false, flips: [T, T + 60_000] });
  },
});
