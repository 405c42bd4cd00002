import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { migrate, openDb, type Db } from '../../core/db/index.ts';
import { createRegistry } from '../../core/telemetry/metrics.ts';
import { http } from '../../app/index.ts';
import { loadProbes } from '../../probes/loader.ts';
import { createLogDigest } from '../../probes/log-digest.ts';
import { probeMetrics } from '../../probes/metrics.ts';
import { probesMigrations } from '../../probes/migrations.ts';
import type { Run } from '../../probes/runner.ts';
import { createScheduler } from '../../probes/scheduler.ts';
import { timetable } from '../../probes/schedule.ts';
import { startBlackHole, type BlackHole } from '../support/black-hole.ts';
import { testConfig } from '../support/backends.ts';
import { environment } from './support.ts';

const START = Date.UTC(2026, 0, 1);
let healthy: Server;
let healthyUrl: string;
let hung: BlackHole;
let db: Db;
let tempDir: string;

beforeAll(async () => {
  healthy = createServer((_request, response) => response.end('ok'));
  await new Promise<void>((resolve) => healthy.listen(0, '127.0.0.1', resolve));
  healthyUrl = `http://127.0.0.1:${(healthy.address() as net.AddressInfo).port}/`;
  hung = await startBlackHole();
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-isolation-'));
  db = await openDb(testConfig({ dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => {} }).database);
  await migrate(db, probesMigrations);
});

afterAll(async () => {
  await db.close();
  healthy.closeAllConnections();
  await new Promise((resolve) => healthy.close(resolve));
  await hung.close();
  rmSync(tempDir, { recursive: true, force: true });
});

it('keeps 10 healthy probes on schedule while 200 probes wait on a target that never answers', async () => {
  const clock = new FakeClock(START);
  const definitions = [
    ...Array.from({ length: 200 }, (_, i) => http({ name: `hung-${i}`, url: `http://127.0.0.1:${hung.port}/`, schedule: '1s', timeout: '3s' })),
    ...Array.from({ length: 10 }, (_, i) => http({ name: `healthy-${i}`, url: healthyUrl, schedule: '1s', timeout: '3s' })),
  ];
  const { probes } = loadProbes(definitions);
  const registry = createRegistry();
  const runs: Run[] = [];
  const scheduler = createScheduler({
    probes,
    environment: environment({ clock, db, location: 'local' }),
    db,
    metrics: probeMetrics(registry),
    record: async (_loaded, run) => void runs.push(run),
    // Each step below waits for the claims it asked for: a 5 ms window instead of 200 ms of real time per step.
    claimWindowMs: 5,
  });
  await scheduler.start!();
  // 20 s of schedule in 50 ms steps; after each step the scheduler's claims settle, so lateness is the scheduler's alone.
  for (let step = 0; step < 400; step++) {
    await clock.advance(50);
    await scheduler.settled();
  }
  await scheduler.stop!(Date.now() + 5000);

  const healthyRuns = runs.filter((run) => run.result.probe.startsWith('healthy-'));
  const lateness = healthyRuns.map((run) => run.result.startedAt - timetable(run.result.probe, { every: 1000 }).next(run.result.startedAt - 500)).sort((a, b) => a - b);
  const p99 = lateness[Math.floor((lateness.length - 1) * 0.99)]!;
  expect(healthyRuns.length).toBeGreaterThanOrEqual(190);
  expect(p99).toBeLessThan(250);
  expect(healthyRuns.every((run) => run.result.success)).toBe(true);
  const hungRuns = runs.filter((run) => run.result.probe.startsWith('hung-'));
  expect(hungRuns.length).toBeGreaterThan(0);
  expect(hungRuns.every((run) => !run.result.success)).toBe(true);
  const skipped = (await registry.getSingleMetric('vigil_probe_runs_skipped_total')!.get()).values;
  const total = (reason: string) => skipped.filter((value) => value.labels.reason === reason).reduce((sum, value) => sum + value.value, 0);
  expect(total('queued')).toBeGreaterThan(0);
  expect(skipped.filter((value) => String(value.labels.probe).startsWith('healthy-') && value.value > 0)).toEqual([]);
}, 120_000);

it('logs the first of a repeated line at once and sums the repeats once a minute', async () => {
  const clock = new FakeClock(START);
  const lines: Array<{ msg: string; skipped?: number }> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const digest = createLogDigest(clock, logger);
  const describe = (count: number) => ({ message: `${count} slot(s) of probe p skipped`, fields: { skipped: count } });
  for (let i = 0; i < 12; i++) digest.note('p', describe);
  digest.note('q', describe);
  expect(lines.map((line) => line.msg)).toEqual(['1 slot(s) of probe p skipped', '1 slot(s) of probe p skipped']);
  await clock.advance(60_000);
  expect(lines.slice(2)).toMatchObject([{ msg: '11 slot(s) of probe p skipped', skipped: 11 }]);
  digest.note('p', describe);
  expect(lines).toHaveLength(4);
});
