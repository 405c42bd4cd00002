import { afterEach, beforeEach, expect, it } from 'vitest';
import { FakeClock, HOUR } from '../../core/clock.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { heartbeat, http, tcp } from '../../app/index.ts';
import { getProbeStatuses, getRecentResults, probesModule, runProbeNow } from '../../probes/index.ts';
import type { ProbeRunContext } from '../../probes/types.ts';
import { parsePrometheusText } from '../support/prometheus.ts';
import { describeEachBackend, testConfig, type TestStore } from '../support/backends.ts';
import { waitFor } from '../support/wait.ts';

const TOKEN = 'nightly_backup_0123456789';

describeEachBackend('probes in a running Vigil', (backend) => {
  let store: TestStore;
  let vigil: Vigil;
  let clock: FakeClock;
  let context: ProbeRunContext;

  beforeEach(async () => {
    store = await backend.createStore();
    clock = new FakeClock(Date.UTC(2026, 0, 1));
    const probes = [
      heartbeat({ name: 'nightly-backup', token: TOKEN, period: '1h', grace: '5m', schedule: '1m', failureThreshold: 2, labels: { component: 'backups' } }),
      http({ name: 'broken', url: 'definitely not a url' }),
      tcp({ name: 'only-elsewhere', host: '127.0.0.1', port: 1, locations: ['mars'] }),
    ];
    const config = testConfig(store, { probes });
    vigil = await startVigil({ config, roles: ['api', 'probes'], clock, modules: [probesModule] });
    context = { config, db: vigil.db, clock, logger: vigil.logger, registry: vigil.registry, location: 'local', publicUrl: vigil.url, queue: vigil.queue };
  });

  afterEach(async () => {
    await vigil.stop();
    await store.cleanup();
  });

  const post = (path: string, body?: string) => fetch(`${vigil.url}${path}`, { method: 'POST', ...(body ? { body, headers: { 'content-type': 'text/plain' } } : {}) });
  /** Moves on a minute at a time until a run scheduled after now is recorded (runs do real I/O, so a slot that came
   * while an earlier run was still going is skipped as an overlap; the next one is taken). */
  const nextScheduledRun = async () => {
    const from = clock.now();
    for (let minute = 0; minute < 5; minute++) {
      await clock.advance(60_000);
      const recorded = await waitFor('the scheduled run', async () => (await getRecentResults(vigil.db, 'nightly-backup', 1)).find((result) => result.startedAt > from), 10_000, 20).catch(() => undefined);
      if (recorded) return recorded;
    }
    throw new Error('no scheduled run was recorded in five minutes of fake time');
  };
  const nightly = async () => (await getProbeStatuses(vigil.db)).find((status) => status.probe === 'nightly-backup');

  it('takes heartbeats on the api and judges silence, failure reports and recovery on the fake clock', async () => {
    expect((await post('/api/v1/heartbeats/not-a-known-token')).status).toBe(404);
    expect((await post(`/api/v1/heartbeats/${TOKEN}`)).status).toBe(200);
    expect(await runProbeNow(context, 'nightly-backup')).toMatchObject({ success: true, kind: 'heartbeat', location: 'local' });

    await clock.advance(HOUR + 5 * 60_000);
    expect((await nextScheduledRun()).success).toBe(false);
    if ((await nightly())!.consecutiveFailures < 2) expect((await nextScheduledRun()).success).toBe(false);
    const down = await nightly();
    expect(down).toMatchObject({ state: 'down', labels: { component: 'backups' } });
    expect(down!.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(down!.lastResult!.reason).toMatch(/^no heartbeat since 2026-01-01T00:00:00.000Z; expected every 1h \+ 5m grace$/);
    expect(down!.since).toBeGreaterThan(Date.UTC(2026, 0, 1) + HOUR + 5 * 60_000);

    expect((await fetch(`${vigil.url}/api/v1/heartbeats/${TOKEN}`)).status).toBe(200);
    expect((await fetch(`${vigil.url}/api/v1/heartbeats/${TOKEN}`, { method: 'HEAD' })).status).toBe(200);
    expect((await runProbeNow(context, 'nightly-backup')).success).toBe(true);
    expect((await post(`/api/v1/heartbeats/${TOKEN}/fail`, 'disk full')).status).toBe(200);
    const failed = await runProbeNow(context, 'nightly-backup');
    expect(failed.reason).toMatch(/^the job reported a failure at .*: disk full$/);
    expect(JSON.stringify(await getProbeStatuses(vigil.db))).not.toContain(TOKEN);
  });

  it('runs the valid definitions, reports the invalid one and exposes blackbox metrics', async () => {
    expect(probesModule.validate!(context.config)).toEqual([expect.stringMatching(/vigil\.test\.ts:\d+: http probe "broken": url: /)]);
    await runProbeNow(context, 'nightly-backup');
    await expect(runProbeNow(context, 'broken')).rejects.toThrow(/probe "broken" is invalid/);
    await expect(runProbeNow(context, 'nope')).rejects.toThrow('no probe named "nope" in the configuration (probes: nightly-backup, only-elsewhere)');
    for (let i = 0; i < 3; i++) await nextScheduledRun();
    expect((await nightly())!.consecutiveSuccesses).toBeGreaterThanOrEqual(3);
    expect((await getProbeStatuses(vigil.db)).map((status) => status.probe)).toEqual(['nightly-backup']);
    const { samples } = parsePrometheusText(await (await fetch(`${vigil.url}/metrics`)).text());
    const labels = { probe: 'nightly-backup', kind: 'heartbeat', location: 'local' };
    expect(samples).toContainEqual({ name: 'probe_success', labels, value: 1 });
    expect(samples.find((sample) => sample.name === 'probe_duration_seconds' && sample.labels.probe === 'nightly-backup')).toBeDefined();
    expect(((await (await fetch(`${vigil.url}/readyz`)).json()) as { checks: unknown[] }).checks).toContainEqual({ name: 'probe-scheduler', ok: true });
  });
});
