import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../../app/index.ts';
import { FakeClock } from '../../core/clock.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { probesModule } from '../../probes/index.ts';
import { testConfig } from '../support/backends.ts';
import { freePort, startTarget } from '../support/http-target.ts';
import { privatePostgresUnavailable, startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.ts';
import { waitFor } from '../support/wait.ts';

const PROBES = 10;
const PERIOD = 5000;

/** The sum of a metric's samples whose labels include `match`. */
async function metricSum(vigil: Vigil, name: string, match: Record<string, string> = {}): Promise<number> {
  const metric = vigil.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((sample) => Object.entries(match).every(([label, value]) => sample.labels[label] === value)).reduce((sum, sample) => sum + sample.value, 0);
}

describe.skipIf(Boolean(privatePostgresUnavailable))(`probes while the store is stopped${privatePostgresUnavailable ? ` [skipped: ${privatePostgresUnavailable}]` : ''}`, () => {
  let postgres: PrivatePostgres;
  let vigil: Vigil;
  let clock: FakeClock;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let tempDir: string;

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-probe-outage-'));
    const port = await freePort();
    target = await startTarget(port);
    clock = new FakeClock(Date.UTC(2026, 0, 1));
    const probes = Array.from({ length: PROBES }, (_, index) => http({ name: `site-${index}`, url: `http://127.0.0.1:${port}/`, schedule: '5s', timeout: '2s' }));
    const config = testConfig({ databaseUrl: postgres.url, dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => {} }, { probes });
    vigil = await startVigil({ config, roles: ['probes'], clock, modules: [probesModule] });
  }, 120_000);

  afterAll(async () => {
    await vigil?.stop(2000);
    await target?.down();
    await postgres?.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  /** One period of fake time, then the real wait for every probe's run of it to finish. */
  const period = async () => {
    const before = await metricSum(vigil, 'vigil_probe_runs_total');
    await clock.advance(PERIOD);
    await waitFor('every probe to run once', async () => (await metricSum(vigil, 'vigil_probe_runs_total')) >= before + PROBES && (await metricSum(vigil, 'vigil_probe_runs_in_flight')) === 0, 20_000);
  };

  const stored = async () => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ probe: string; startedAt: Date }>(`select probe, started_at as "startedAt" from probes_results order by id`);
      return rows;
    } finally {
      await client.end();
    }
  };

  it('keeps running probes on schedule through a 3-minute outage and writes every result once, in order, when the store returns', async () => {
    for (let i = 0; i < 3; i++) await period();
    const before = (await stored()).length;
    expect(before).toBe(3 * PROBES);

    await postgres.stop();
    const outageStart = clock.now();
    const runsBefore = await metricSum(vigil, 'vigil_probe_runs_total');
    for (let i = 0; i < 36; i++) await period();
    const runsDuring = (await metricSum(vigil, 'vigil_probe_runs_total')) - runsBefore;
    expect(runsDuring).toBe(36 * PROBES);
    // Claimed by this agent alone, still exported as probe_* metrics, held in memory.
    expect(await metricSum(vigil, 'vigil_probe_runs_claimed_locally_total')).toBe(36 * PROBES);
    expect(await metricSum(vigil, 'probe_success')).toBe(PROBES);
    expect(await metricSum(vigil, 'vigil_probe_results_buffered')).toBe(36 * PROBES);
    expect(await metricSum(vigil, 'vigil_probe_results_dropped_total')).toBe(0);

    const outageEnd = clock.now();
    await postgres.start();
    await waitFor('the buffered results to be written', async () => {
      await clock.advance(1000);
      return (await metricSum(vigil, 'vigil_probe_results_buffered')) === 0;
    }, 60_000, 200);
    const rows = await stored();
    const during = rows.slice(before);
    const persisted = during.filter((row) => row.startedAt.getTime() >= outageStart && row.startedAt.getTime() < outageEnd).length;
    console.log(`store outage of 3 min with ${PROBES} probes at 5 s: ${runsDuring} probe runs during the outage, ${persisted} of their results persisted after it`);
    expect(persisted).toBe(runsDuring);
    // Once each, and each probe's results in the order they ran (its state machine reads them so).
    expect(new Set(rows.map((row) => `${row.probe}@${row.startedAt.toISOString()}`)).size).toBe(rows.length);
    for (let index = 0; index < PROBES; index++) {
      const times = rows.filter((row) => row.probe === `site-${index}`).map((row) => row.startedAt.getTime());
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    expect(await metricSum(vigil, 'vigil_probe_runs_possibly_doubled_total')).toBe(0);
    // Scheduling goes back to the store's claims.
    const claimedLocally = await metricSum(vigil, 'vigil_probe_runs_claimed_locally_total');
    await period();
    expect(await metricSum(vigil, 'vigil_probe_runs_claimed_locally_total')).toBe(claimedLocally);
  }, 300_000);
});
