import { afterEach, beforeEach, expect, it } from 'vitest';
import { metricRule } from '../../alerts/define.ts';
import { createRuleSource, ruleSchema } from '../../alerts/rules/index.ts';
import { FakeClock } from '../../core/clock.ts';
import { createRegistry } from '../../core/telemetry/metrics.ts';
import { locationSilenceMetric } from '../../probes/metrics.ts';
import { migrate, openDb, type Db } from '../../core/db/index.ts';
import { probesMigrations } from '../../probes/migrations.ts';
import { claimSlots, getProbeStatuses, getRecentResults, getUptime, prune, recordResults, writtenStates, type Thresholds, type WrittenStates } from '../../probes/results.ts';
import type { ProbeResult } from '../../probes/types.ts';
import { describeEachBackend, testConfig, type TestStore } from '../support/backends.ts';

const T0 = Date.UTC(2026, 2, 10, 12);
const thresholds: Thresholds = { failureThreshold: 2, successThreshold: 2, quorum: 1, labels: { component: 'api', severity: 'critical' }, silentAfterMs: 3_600_000 };

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

  // The embedded store's sole writer keeps the states it wrote instead of reading them back: the decisions are the same.
  const readings: Array<[string, () => WrittenStates | undefined]> = [['read back from the store', () => undefined], ['kept by the sole writer', writtenStates]];

  it.each(readings)('turns down after the failure threshold and up after the success threshold, remembering since when (states %s)', async (_reading, kept) => {
    const written = kept();
    const states: Array<[string, number, number, number]> = [];
    const sequence = [true, true, false, false, false, true, true];
    for (const [index, success] of sequence.entries()) {
      await recordResults(db, [{ result: result(success, T0 + index * 60_000), thresholds }], written);
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

  it.each(readings)('is down only when the quorum of locations is down (states %s)', async (_reading, kept) => {
    const written = kept();
    const quorum = { ...thresholds, failureThreshold: 1, successThreshold: 1, quorum: 2 };
    await recordResults(db, [{ result: result(true, T0, 'eu'), thresholds: quorum }, { result: result(true, T0, 'us'), thresholds: quorum }], written);
    await recordResults(db, [{ result: result(false, T0 + 60_000, 'eu'), thresholds: quorum }], written);
    let [status] = await getProbeStatuses(db);
    expect(status).toMatchObject({ state: 'up', since: T0, locations: [{ location: 'eu', state: 'down' }, { location: 'us', state: 'up' }] });
    await recordResults(db, [{ result: result(false, T0 + 90_000, 'us'), thresholds: quorum }], written);
    [status] = await getProbeStatuses(db);
    expect(status).toMatchObject({ state: 'down', since: T0 + 90_000, lastResult: { location: 'us' } });
    await recordResults(db, [{ result: result(true, T0 + 120_000, 'eu'), thresholds: quorum }], written);
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

  it('keeps the rows of a store made before times were timestamptz', async () => {
    await db.close();
    const fresh = await backend.createStore({ empty: true });
    const old = await openDb(testConfig(fresh).database);
    try {
      await migrate(old, probesMigrations.slice(0, 9));
      await old.query(`insert into probes_results (probe, kind, location, started_at, duration_ms, success, reason) values ('api', 'http', 'eu', $1, 12.5, false, 'refused')`, [T0 + 123]);
      await old.query(`insert into probes_location_status values ('api', 'eu', 'http', '{}', 'down', $1, 3, 0, $2, $3)`, [T0, JSON.stringify(result(false, T0 + 123, 'eu')), T0 + 123]);
      await old.query(`insert into probes_status values ('api', 'down', $1)`, [T0]);
      await old.query(`insert into probes_uptime_daily values ('api', 'eu', '2026-03-10', 4, 3)`);
      await old.query(`insert into probes_uptime_hourly values ('api', 'eu', $1, 4, 3)`, [T0]);
      await old.query(`insert into probes_heartbeats (token, armed_at, last_ping) values ('k', $1, $2)`, [T0, T0 + 5]);
      await migrate(old, probesMigrations);
      expect(await getRecentResults(old, 'api')).toEqual([{ probe: 'api', kind: 'http', location: 'eu', startedAt: T0 + 123, durationMs: 12.5, success: false, reason: 'refused' }]);
      const [status] = await getProbeStatuses(old, T0 + 1000);
      expect(status).toMatchObject({ state: 'down', since: T0, consecutiveFailures: 3, locations: [{ location: 'eu', state: 'down' }] });
      expect(await getUptime(old, 'api', { days: 1, now: T0 })).toEqual([{ day: '2026-03-10', checks: 4, uptimeRatio: 0.75 }]);
      expect(await old.query(`select (extract(epoch from hour) * 1000)::float8 as hour from probes_uptime_hourly`)).toEqual([{ hour: T0 }]);
      expect(await old.query(`select (extract(epoch from last_ping) * 1000)::float8 as ping from probes_heartbeats`)).toEqual([{ ping: T0 + 5 }]);
    } finally {
      await old.close();
      await fresh.cleanup();
      db = await openDb(testConfig(store).database);
    }
  });

  it('stops counting a location in the quorum once it is silent past its schedule and grace', async () => {
    const quorum = { ...thresholds, failureThreshold: 1, successThreshold: 1, quorum: 1, silentAfterMs: 90_000 };
    await recordResults(db, [{ result: result(true, T0, 'eu'), thresholds: quorum }, { result: result(true, T0, 'us'), thresholds: quorum }]);
    await recordResults(db, [{ result: result(false, T0 + 60_000, 'eu'), thresholds: quorum }]);
    expect((await getProbeStatuses(db, T0 + 60_000))[0]).toMatchObject({ state: 'down' });
    // us last reported at T0: it is silent after T0 + 90 s and no longer votes up.
    await recordResults(db, [{ result: result(true, T0 + 120_000, 'eu'), thresholds: quorum }]);
    const [status] = await getProbeStatuses(db, T0 + 120_000);
    expect(status).toMatchObject({ state: 'up', locations: [{ location: 'eu', state: 'up' }, { location: 'us', state: 'up', silent: true }] });
    await recordResults(db, [{ result: result(false, T0 + 180_000, 'eu'), thresholds: { ...quorum, quorum: 2 } }]);
    expect((await getProbeStatuses(db, T0 + 180_000))[0]).toMatchObject({ state: 'unknown' });
  });

  it('reports a location that stopped reporting as silent, and a metric rule fires on it', async () => {
    const quick = { ...thresholds, silentAfterMs: 90_000 };
    await recordResults(db, [{ result: result(true, T0, 'eu'), thresholds: quick }, { result: result(true, T0, 'us'), thresholds: quick }, { result: result(true, T0, 'eu', 'removed'), thresholds: quick }]);
    const clock = new FakeClock(T0 + 60_000);
    const registry = createRegistry();
    locationSilenceMetric(registry, db, clock, new Set(['api']));
    const rule = ruleSchema.parse(metricRule({ name: 'probe-location-silent', metric: 'vigil_probe_location_silent', above: 0, labels: { severity: 'warning' } }));
    const evaluate = createRuleSource([rule], { registry, probeStatuses: () => Promise.resolve([]), processingSignals: () => {
        throw new Error('not read');
      },
    });
    const silence = async () => Object.fromEntries((await registry.getSingleMetric('vigil_probe_location_silent')!.get()).values.map((sample) => [`${sample.labels.probe}/${sample.labels.location}`, sample.value]));

    expect(await silence()).toEqual({ 'api/eu': 0, 'api/us': 0 });
    expect((await evaluate(clock.now()))[0]).toMatchObject({ rule: 'probe-location-silent', active: false });
    await recordResults(db, [{ result: result(true, T0 + 60_000, 'eu'), thresholds: quick }]);
    // us last reported at T0: past T0 + 90 s it is silent; eu reported at T0 + 60 s and is not yet.
    await clock.advance(40_000);
    expect(await silence()).toEqual({ 'api/eu': 0, 'api/us': 1 });
    expect((await evaluate(clock.now()))[0]).toMatchObject({ rule: 'probe-location-silent', active: true });
    await recordResults(db, [{ result: result(true, T0 + 100_000, 'us'), thresholds: quick }]);
    expect(await silence()).toEqual({ 'api/eu': 0, 'api/us': 0 });
  });

  it('decides the quorum once per commit when two agents record the same slot at once', async () => {
    if (backend.name !== 'PostgreSQL') return;
    const other = await openDb(testConfig(store).database);
    try {
      const quorum = { ...thresholds, failureThreshold: 1, successThreshold: 1, quorum: 2 };
      for (let round = 0; round < 25; round++) {
        const probe = `race-${round}`;
        await recordResults(db, [{ result: result(true, T0, 'eu', probe), thresholds: quorum }, { result: result(true, T0, 'us', probe), thresholds: quorum }]);
        await Promise.all([
          recordResults(db, [{ result: result(false, T0 + 60_000, 'eu', probe), thresholds: quorum }]),
          recordResults(other, [{ result: result(false, T0 + 60_000, 'us', probe), thresholds: quorum }]),
        ]);
      }
      const statuses = await getProbeStatuses(db, T0 + 60_000);
      expect(statuses.filter((status) => status.state !== 'down').map((status) => status.probe)).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
