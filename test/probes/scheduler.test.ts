import { createServer, type Server } from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { createRegistry } from '../../core/telemetry/metrics.ts';
import { http, tcp } from '../../app/index.ts';
import type { AnyProbeDefinition } from '../../probes/define.ts';
import { loadProbes } from '../../probes/loader.ts';
import { probeMetrics } from '../../probes/metrics.ts';
import { createRecorder } from '../../probes/record.ts';
import { getProbeStatuses, getRecentResults } from '../../probes/results.ts';
import { createScheduler } from '../../probes/scheduler.ts';
import { timetable } from '../../probes/schedule.ts';
import { databasePerTest, pgliteBackend } from '../support/backends.ts';
import { waitFor } from '../support/wait.ts';
import { environment, quietLogger } from './support.ts';

const START = Date.UTC(2026, 0, 1);
let target: Server;
let baseUrl: string;
let slowArrived = 0;

beforeAll(async () => {
  target = createServer((request, response) => {
    if (request.url === '/slow') {
      slowArrived += 1;
      return;
    }
    response.end('ok');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(target.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  target.closeAllConnections();
  await new Promise((resolve) => target.close(resolve));
});

describe('probe scheduler (fake clock)', () => {
  const scratch = databasePerTest(pgliteBackend);

  function scheduler(definitions: AnyProbeDefinition[], options: { clock: FakeClock; location?: string; concurrency?: number; alone?: boolean }) {
    const registry = createRegistry();
    const metrics = probeMetrics(registry);
    const recorder = createRecorder({ db: scratch.db, metrics, logger: quietLogger, ...(options.alone ? { alone: true } : {}) });
    const { probes } = loadProbes(definitions);
    const component = createScheduler({
      probes,
      environment: environment({ clock: options.clock, db: scratch.db, location: options.location ?? 'local' }),
      db: scratch.db,
      metrics,
      record: (loaded, run) => recorder.record(loaded, run),
      ...(options.concurrency ? { limits: { concurrency: options.concurrency, perTarget: options.concurrency } } : {}),
      ...(options.alone ? { alone: true } : {}),
    });
    return { component, registry, recorder };
  }

  const count = async (probe: string) => (await getRecentResults(scratch.db, probe, 100)).length;

  it('runs each probe at its scheduled slots, with no lateness on the fake clock', async () => {
    const clock = new FakeClock(START);
    const { component, registry, recorder } = scheduler([http({ name: 'every-10s', url: `${baseUrl}/`, schedule: '10s' })], { clock });
    await component.start!();
    const first = timetable('every-10s', { every: 10_000 }).next(START);
    for (let i = 0; i < 3; i++) {
      await clock.advance(i === 0 ? first - START : 10_000);
      await waitFor('the run to be recorded', async () => (await count('every-10s')) === i + 1, 10_000, 10);
    }
    await component.stop!(Date.now() + 5000);
    await recorder.idle();
    const results = await getRecentResults(scratch.db, 'every-10s', 10);
    expect(results.map((result) => result.startedAt).reverse()).toEqual([first, first + 10_000, first + 20_000]);
    const lateness = (await registry.getSingleMetric('vigil_probe_schedule_lateness_seconds')!.get()).values.find((value) => (value as { metricName?: string }).metricName === 'vigil_probe_schedule_lateness_seconds_sum');
    expect(lateness?.value).toBe(0);
  });

  it('alone (the embedded store) runs its slots without claiming them, and its states follow the runs without being read back', async () => {
    const clock = new FakeClock(START);
    const definition = tcp({ name: 'closed', host: '127.0.0.1', port: 1, schedule: '10s', jitter: '0ms', failureThreshold: 2 });
    const { component, recorder } = scheduler([definition], { clock, alone: true });
    await component.start!();
    for (let i = 1; i <= 3; i++) {
      await clock.advance(10_000);
      await waitFor(`run ${i} to be recorded`, async () => {
        await recorder.idle();
        return (await count('closed')) === i;
      }, 10_000, 10);
    }
    await component.stop!(Date.now() + 5000);
    await recorder.idle();
    expect(await scratch.db.query('select * from probes_claims')).toEqual([]);
    const [status] = await getProbeStatuses(scratch.db);
    expect(status).toMatchObject({ state: 'down', consecutiveFailures: 3, locations: [{ location: 'local', state: 'down' }] });
  });

  it('runs a probe with runAtStart within 30 s of starting instead of at its first hourly slot', async () => {
    const clock = new FakeClock(START + 12_345);
    const { component } = scheduler([http({ name: 'hourly', url: `${baseUrl}/`, schedule: '1h', runAtStart: true })], { clock });
    await component.start!();
    await clock.advance(30_000);
    const [result] = await waitFor('the start run', async () => {
      const results = await getRecentResults(scratch.db, 'hourly');
      return results.length === 1 && results;
    }, 10_000, 10);
    expect(result!.startedAt - (START + 12_345)).toBeLessThanOrEqual(30_000);
    expect(result!.success).toBe(true);
    await component.stop!(Date.now() + 5000);
  });

  it('never overlaps runs of one probe, and aborts a run at its timeout', async () => {
    const clock = new FakeClock(START);
    const { component, registry } = scheduler([http({ name: 'slow', url: `${baseUrl}/slow`, schedule: '10s', timeout: '25s', jitter: '0ms' })], { clock });
    await component.start!();
    const before = slowArrived;
    await clock.advance(10_000);
    await waitFor('the slow request', () => slowArrived === before + 1, 10_000, 10);
    await clock.advance(10_000);
    await clock.advance(10_000);
    expect(slowArrived).toBe(before + 1);
    const skipped = (await registry.getSingleMetric('vigil_probe_runs_skipped_total')!.get()).values;
    expect(skipped).toEqual([
      expect.objectContaining({ labels: { probe: 'slow', reason: 'overlap' }, value: 2 }),
      expect.objectContaining({ labels: { probe: 'slow', reason: 'queued' }, value: 0 }),
      expect.objectContaining({ labels: { probe: 'slow', reason: 'claimed' }, value: 0 }),
    ]);
    const inFlight = (await registry.getSingleMetric('vigil_probe_runs_in_flight')!.get()).values;
    expect(inFlight).toEqual([expect.objectContaining({ labels: { probe: 'slow' }, value: 1 })]);
    await clock.advance(5000);
    await waitFor('the aborted run to be recorded', async () => (await count('slow')) === 1, 10_000, 10);
    const [result] = await getRecentResults(scratch.db, 'slow');
    expect(result).toMatchObject({ success: false, reason: 'timed out after 25s', startedAt: START + 10_000 });
    await component.stop!(Date.now() + 5000);
  });

  it('runs at most `concurrency` probes at once', async () => {
    const clock = new FakeClock(START);
    const definitions = ['a', 'b', 'c'].map((name) => http({ name, url: `${baseUrl}/slow`, schedule: '60s', timeout: '5s', jitter: '0ms' }));
    const { component } = scheduler(definitions, { clock, concurrency: 1 });
    await component.start!();
    const before = slowArrived;
    await clock.advance(60_000);
    await waitFor('one slow request', () => slowArrived === before + 1, 10_000, 10);
    expect((component as unknown as { inFlight(): number }).inFlight()).toBe(1);
    await clock.advance(5000);
    await waitFor('the second request after the first timed out', () => slowArrived === before + 2, 10_000, 10);
    expect((component as unknown as { inFlight(): number }).inFlight()).toBe(1);
    await clock.advance(5000);
    await waitFor('the third', () => slowArrived === before + 3, 10_000, 10);
    await clock.advance(5000);
    await waitFor('all three recorded', async () => (await Promise.all(['a', 'b', 'c'].map(count))).every((n) => n === 1), 10_000, 10);
    await component.stop!(Date.now() + 5000);
  });

  it('runs a probe once per slot per location, and two failing locations reach the quorum', async () => {
    const clock = new FakeClock(START);
    const definition = tcp({ name: 'closed-port', host: '127.0.0.1', port: 1, schedule: '30s', jitter: '0ms', locations: ['eu', 'us'], quorum: 2 });
    const agents = [
      scheduler([definition], { clock, location: 'eu' }),
      scheduler([definition], { clock, location: 'eu' }),
      scheduler([definition], { clock, location: 'us' }),
      scheduler([definition], { clock, location: 'asia' }),
    ];
    for (const agent of agents) await agent.component.start!();
    await clock.advance(30_000);
    await waitFor('both locations to record', async () => (await count('closed-port')) === 2, 10_000, 10);
    await clock.advance(1000);
    for (const agent of agents) await agent.component.stop!(Date.now() + 5000);
    for (const agent of agents) await agent.recorder.idle();
    const results = await getRecentResults(scratch.db, 'closed-port');
    expect(results.map((result) => result.location).sort()).toEqual(['eu', 'us']);
    const [status] = await getProbeStatuses(scratch.db);
    expect(status).toMatchObject({ state: 'down', locations: [{ location: 'eu', state: 'down' }, { location: 'us', state: 'down' }] });
  });
});
