import { afterEach, beforeEach, expect, it } from 'vitest';
import { migrate, openDb, type Db } from '../../core/db/index.ts';
import { probesMigrations } from '../../probes/migrations.ts';
import { claimSlots, getProbeStatuses, getRecentResults, getUptime, prune, recordResults, type Thresholds } from '../../probes/results.ts';
import type { ProbeResult } from '../../probes/types.ts';
import { describeEachBackend, testConfig, type TestStore } from '../support/backends.ts';

const T0 = Date.UTC(2026, 2, 10, 12);
const thresholds: Thresholds = { failureThreshold: 2, successThreshold: 2, quorum: 1, labels: { component: 'api', severity: 'critical' } };

function result(success: boolean, startedAt: number, location = 'local', probe = 'api'): ProbeResult {
  return { probe, kind: 'http', location, success, startedAt, durationMs: 12.5, ...(success ? {} : { reason: 'expected status 2xx or 3xx, got 500' }), timings: { total: 12.5 } };
}

describeEachBackend('probe results and state', (backend) => {
  let store: TestStore;
  let db: Db;

  beforeEach(async () => {
    store = await backend.createStore();
    db = await openDb(testConfig(store).database);
    await migrate(db, probesMigrations);
  });

  afterEach(async () => {
    await db.close();
    await store.cleanup();
  });

  it('turns down after the failure threshold and up after the success threshold, remembering since when', async () => {
    const states: Array<[string, number, number, number]> = [];
    const sequence = [true, true, false, false, false, true, true];
    for (const [index, success] of sequence.entries()) {
      await recordResults(db, [{ result: result(success, T0 + index * 60_000), thresholds }]);
      const [status] = await getProbeStatuses(db);
      states.push([status!.state, (status!.since - T0) / 60_000, status!.consecutiveFailures, status!.consecutiveSuccesses]);
    }
    expect(states).toEqual([
      ['unknown', 0, 0, 1],
      ['up', 1, 0, 2],
      ['up', 1, 1, 0],
      ['down', 3, 2, 0],
      ['down', 3, 3, 0],
      ['down', 3, 0, 1],
      ['up', 6, 0, 2],
    ]);
    const [status] = await getProbeStatuses(db);
    expect(status).toMatchObject({ probe: 'api', kind: 'http', labels: { component: 'api', severity: 'critical' }, locations: [{ location: 'local', state: 'up' }] });
    expect(status!.lastResult).toMatchObject({ success: true, startedAt: T0 + 6 * 60_000 });
    expect((await getRecentResults(db, 'api', 3)).map((row) => row.success)).toEqual([true, true, false]);
  });

  it('is down only when the quorum of locations is down', async () => {
    const quorum = { ...thresholds, failureThreshold: 1, successThreshold: 1, quorum: 2 };
    await recordResults(db, [{ result: result(true, T0, 'eu'), thresholds: quorum }, { result: result(true, T0, 'us'), thresholds: quorum }]);
    await recordResults(db, [{ result: result(false, T0 + 60_000, 'eu'), thresholds: quorum }]);
    let [status] = await getProbeStatuses(db);
    expect(status).toMatchObject({ state: 'up', since: T0, locations: [{ location: 'eu', state: 'down' }, { location: 'us', state: 'up' }] });
    await recordResults(db, [{ result: result(false, T0 + 90_000, 'us'), thresholds: quorum }]);
    [status] = await getProbeStatuses(db);
    expect(status).toMatchObject({ state: 'down', since: T0 + 90_000, lastResult: { location: 'us' } });
    await recordResults(db, [{ result: result(true, T0 + 120_000, 'eu'), thresholds: quorum }]);
    [status] = await getProbeStatuses(db);
    expect(status).toMatchObject({ state: 'up', since: T0 + 120_000 });
  });

  it('rolls results up into daily uptime over every location', async () => {
    const day = 86_400_000;
    await recordResults(db, [
      { result: result(true, T0 - 2 * day), thresholds },
      { result: result(false, T0 - 2 * day + 1000, 'eu'), thresholds },
      { result: result(true, T0), thresholds },
      { result: result(true, T0 + 1000), thresholds },
      { result: result(true, T0 + 2000, 'eu'), thresholds },
      { result: result(false, T0 + 3000), thresholds },
    ]);
    expect(await getUptime(db, 'api', { days: 3, now: T0 })).toEqual([
      { day: '2026-03-08', checks: 2, uptimeRatio: 0.5 },
      { day: '2026-03-09', checks: 0, uptimeRatio: null },
      { day: '2026-03-10', checks: 4, uptimeRatio: 0.75 },
    ]);
    await prune(db, T0 + 15 * day);
    expect(await getRecentResults(db, 'api')).toHaveLength(0);
    expect((await getUptime(db, 'api', { days: 1, now: T0 }))[0]!.checks).toBe(4);
  });

  it('lets one agent per location claim a scheduled run', async () => {
    const first = await claimSlots(db, 'eu', [{ probe: 'api', slot: T0 }, { probe: 'db', slot: T0 }]);
    const second = await claimSlots(db, 'eu', [{ probe: 'api', slot: T0 }, { probe: 'api', slot: T0 + 60_000 }]);
    const elsewhere = await claimSlots(db, 'us', [{ probe: 'api', slot: T0 }]);
    expect([...first].sort()).toEqual([`api\0${T0}`, `db\0${T0}`]);
    expect([...second]).toEqual([`api\0${T0 + 60_000}`]);
    expect([...elsewhere]).toEqual([`api\0${T0}`]);
  });
});
