import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsModule } from '../../alerts/index.ts';
import { emailReceiver, http, probeRule, route, slackReceiver } from '../../app/index.ts';
import { FakeClock } from '../../core/clock.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { probesModule } from '../../probes/index.ts';
import { startSlackDouble, startSmtp, type SlackCall } from '../alerts/support.ts';
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

describe.skipIf(Boolean(privatePostgresUnavailable))(`probes and alerts while the store is stopped${privatePostgresUnavailable ? ` [skipped: ${privatePostgresUnavailable}]` : ''}`, () => {
  let postgres: PrivatePostgres;
  let vigil: Vigil;
  let clock: FakeClock;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let api: Awaited<ReturnType<typeof startTarget>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let slack: Awaited<ReturnType<typeof startSlackDouble>>;
  let tempDir: string;

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-probe-outage-'));
    const port = await freePort();
    const apiPort = await freePort();
    target = await startTarget(port);
    api = await startTarget(apiPort);
    smtp = await startSmtp();
    slack = await startSlackDouble();
    clock = new FakeClock(Date.UTC(2026, 0, 1));
    const probes = [
      ...Array.from({ length: PROBES - 1 }, (_, index) => http({ name: `site-${index}`, url: `http://127.0.0.1:${port}/`, schedule: '5s', timeout: '2s' })),
      http({ name: 'api', url: `http://127.0.0.1:${apiPort}/`, schedule: '5s', timeout: '2s', failureThreshold: 2, labels: { service: 'api' } }),
    ];
    const alerts = {
      rules: [probeRule({ name: 'api-down', probe: 'api', labels: { severity: 'critical' } })],
      // No receiver is marked outOfBand: email and Slack reach people, so both hear from memory by default.
      receivers: { oncall: emailReceiver({ to: ['oncall@example.com'] }), chat: slackReceiver({ channel: '#ops' }) },
      routes: [route({ receivers: ['oncall', 'chat'] })],
    };
    const config = testConfig({ databaseUrl: postgres.url, dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => {} }, { probes, alerts, smtp: { url: smtp.url }, slack: { token: 'xoxb-outage-token', apiUrl: slack.url } });
    vigil = await startVigil({ config, roles: ['probes', 'alerts'], clock, modules: [probesModule, alertsModule] });
  }, 120_000);

  afterAll(async () => {
    await vigil?.stop(2000);
    await target?.down();
    await api?.down();
    await smtp?.close();
    await slack?.close();
    await postgres?.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  /** One period of fake time, then the real wait for every probe's run of it to finish. */
  const period = async () => {
    const before = await metricSum(vigil, 'vigil_probe_runs_total');
    await clock.advance(PERIOD);
    await waitFor('every probe to run once', async () => (await metricSum(vigil, 'vigil_probe_runs_total')) >= before + PROBES && (await metricSum(vigil, 'vigil_probe_runs_in_flight')) === 0, 20_000);
  };

  const storedIncidents = async () => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ rule: string; state: string; startedAt: Date }>(`select rule, state, started_at as "startedAt" from alerts_incidents order by id`);
      return rows;
    } finally {
      await client.end();
    }
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

  const subjects = () => smtp.mails.map((mail) => mail.subject);
  /** The top-level Slack posts about the store's own incident. */
  const storePosts = () => slack.calls.filter((call) => call.method === 'chat.postMessage' && call.args.thread_ts === undefined && /^\[\w+\] \w+ vigil:/.test(String(call.args.text)));
  /** The ts the Slack double answered a top-level post with (it numbers every chat.postMessage in turn). */
  const slackTs = (post: SlackCall) => `${1000 + slack.calls.filter((call) => call.method === 'chat.postMessage').indexOf(post)}.000100`;

  it('keeps running probes and alerting through a 3-minute outage, and writes every result and incident once, in order, when the store returns', async () => {
    for (let i = 0; i < 3; i++) await period();
    // Results are written in batches a second apart (real time), after their runs finish.
    const before = await waitFor('the first three periods stored', async () => {
      const count = (await stored()).length;
      return count === 3 * PROBES && count;
    }, 10_000, 100);

    await postgres.stop();
    const outageStart = clock.now();
    const runsBefore = await metricSum(vigil, 'vigil_probe_runs_total');
    let storeMailAt: number | undefined;
    for (let i = 0; i < 36; i++) {
      if (i === 12) await api.down();
      await period();
      // Once the alerts role has found the store away for the grace, the pass of this tick sends from memory: its
      // real I/O (the first SMTP connection, the first Slack call) is waited for before fake time moves on.
      if (storeMailAt === undefined && (await metricSum(vigil, 'vigil_alerts_store_unavailable_seconds')) >= 30) {
        await waitFor('the store-unavailable email and Slack post', () => subjects().some((subject) => subject.includes('store')) && storePosts().length > 0, 10_000);
        storeMailAt = clock.now();
      }
    }
    // The store's own incident went out after the grace, and the probe that went down during the outage was told from memory.
    expect(storeMailAt).toBeDefined();
    const storeDelay = (storeMailAt! - outageStart) / 1000;
    expect(storeDelay).toBeGreaterThanOrEqual(30);
    expect(storeDelay).toBeLessThanOrEqual(40);
    expect(subjects().filter((subject) => subject.startsWith('[CRITICAL] FIRING vigil'))).toHaveLength(1);
    expect(subjects().filter((subject) => subject.startsWith('[CRITICAL] FIRING api'))).toHaveLength(1);
    expect(smtp.mails.find((mail) => mail.subject.startsWith('[CRITICAL] FIRING api'))!.text).toContain('not recorded yet');
    // Slack heard the same from memory: one post for the store, during the outage, with nothing in a thread yet.
    expect(storePosts()).toHaveLength(1);
    expect(String(storePosts()[0]!.args.text)).toMatch(/FIRING vigil/);
    expect(storePosts()[0]!.args.channel).toBe('#ops');
    expect(storePosts()[0]!.authorization).toBe('Bearer xoxb-outage-token');
    expect(slack.calls.filter((call) => call.args.thread_ts !== undefined || call.method === 'chat.update')).toHaveLength(0);
    const runsDuring = (await metricSum(vigil, 'vigil_probe_runs_total')) - runsBefore;
    expect(runsDuring).toBe(36 * PROBES);
    // Claimed by this agent alone, still exported as probe_* metrics, held in memory.
    expect(await metricSum(vigil, 'vigil_probe_runs_claimed_locally_total')).toBe(36 * PROBES);
    expect(await metricSum(vigil, 'probe_success')).toBe(PROBES - 1);
    expect(await metricSum(vigil, 'vigil_probe_results_buffered')).toBe(36 * PROBES);
    expect(await metricSum(vigil, 'vigil_probe_results_dropped_total')).toBe(0);

    const outageEnd = clock.now();
    await postgres.start();
    // The runs go on while the held results are written, so the buffer is seldom empty at the moment it is looked at:
    // wait for the outage's results in the store instead.
    const persistedDuring = (rows: Awaited<ReturnType<typeof stored>>) => rows.slice(before).filter((row) => row.startedAt.getTime() >= outageStart && row.startedAt.getTime() < outageEnd).length;
    await waitFor('the buffered results to be written', async () => {
      await clock.advance(1000);
      return persistedDuring(await stored()) >= runsDuring;
    }, 60_000, 200);
    const rows = await stored();
    const persisted = persistedDuring(rows);
    console.log(`store outage of 3 min with ${PROBES} probes at 5 s: ${runsDuring} probe runs during the outage, ${persisted} of their results persisted after it`);
    expect(persisted).toBe(runsDuring);
    // Once each, and each probe's results in the order they ran (its state machine reads them so).
    expect(new Set(rows.map((row) => `${row.probe}@${row.startedAt.toISOString()}`)).size).toBe(rows.length);
    for (let index = 0; index < PROBES; index++) {
      const times = rows.filter((row) => row.probe === `site-${index}`).map((row) => row.startedAt.getTime());
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    expect(await metricSum(vigil, 'vigil_probe_runs_possibly_doubled_total')).toBe(0);

    // The incidents are in the store with their times; the store's is resolved through the outbox with how long it was down.
    const resolved = await waitFor('the store incident resolved by email', async () => {
      await clock.advance(1000);
      return smtp.mails.find((mail) => mail.subject.startsWith('[RESOLVED] vigil'));
    }, 60_000, 200);
    expect(resolved.subject).toMatch(/the store is reachable again after 3 m( \d+ s)? down/);
    // In Slack the UP is that post updated and a reply in its thread, broadcast to the channel, once each; no second post.
    await waitFor('the store incident resolved in Slack', async () => {
      await clock.advance(1000);
      return slack.calls.some((call) => call.method === 'chat.postMessage' && /reachable again/.test(String(call.args.text)));
    }, 60_000, 200);
    const storeTs = slackTs(storePosts()[0]!);
    expect(storePosts()).toHaveLength(1);
    const onStoreThread = slack.calls.filter((call) => call.args.thread_ts === storeTs || (call.method === 'chat.update' && call.args.ts === storeTs));
    expect(onStoreThread.map((call) => call.method)).toEqual(['chat.update', 'chat.postMessage']);
    expect(String(onStoreThread[1]!.args.reply_broadcast)).toBe('true');
    expect(String(onStoreThread[1]!.args.text)).toMatch(/^RESOLVED: the store is reachable again after 3 m( \d+ s)? down/);
    const stillDown = await storedIncidents();
    expect(stillDown.map((row) => [row.rule, row.state])).toEqual([['vigil.store-unavailable', 'resolved'], ['api-down', 'firing']]);
    // Seen by the first look at the store after it stopped (one per evaluation interval).
    expect(stillDown[0]!.startedAt.getTime() - outageStart).toBeGreaterThanOrEqual(0);
    expect(stillDown[0]!.startedAt.getTime() - outageStart).toBeLessThanOrEqual(5000);
    // The api probe's WARNING reached the engineer from memory and is not sent again; its UP goes the normal way.
    await api.up();
    await waitFor('the api incident resolved by email', async () => {
      await clock.advance(1000);
      return smtp.mails.find((mail) => mail.subject.startsWith('[RESOLVED] api'));
    }, 60_000, 200);
    expect(subjects().filter((subject) => subject.startsWith('[CRITICAL] FIRING'))).toHaveLength(2);
    expect(storePosts()).toHaveLength(1);
    expect(slack.calls.filter((call) => call.args.thread_ts === storeTs || (call.method === 'chat.update' && call.args.ts === storeTs))).toHaveLength(2);
    console.log(`store-down notification ${storeDelay} s after the store stopped (grace 30 s, evaluation every 5 s)`);
    // Scheduling goes back to the store's claims.
    const claimedLocally = await metricSum(vigil, 'vigil_probe_runs_claimed_locally_total');
    await period();
    expect(await metricSum(vigil, 'vigil_probe_runs_claimed_locally_total')).toBe(claimedLocally);
  }, 300_000);
});
