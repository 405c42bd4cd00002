import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { alertsModule } from '../../alerts/index.ts';
import { FakeClock } from '../../core/clock.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { http as httpProbe } from '../../app/index.ts';
import { getProbeStatuses, probesModule } from '../../probes/index.ts';
import { describeEachBackend, testConfig } from '../support/backends.ts';
import { freePort, startTarget } from '../support/http-target.ts';
import { waitFor } from '../support/wait.ts';
import { startSlackDouble, storeAndSmtpPerTest } from './support.ts';

const SERVICE = path.join(import.meta.dirname, 'fixtures/service.ts');

describeEachBackend('alerts end to end with real probes', (backend) => {
  const perTest = storeAndSmtpPerTest(backend);
  let slack: Awaited<ReturnType<typeof startSlackDouble>>;
  let vigil: Vigil | undefined;
  let clock: FakeClock;
  const cleanups: Array<() => unknown> = [];

  beforeEach(async () => {
    slack = await startSlackDouble();
    clock = new FakeClock(Date.UTC(2026, 0, 1));
  });

  afterEach(async () => {
    await vigil?.stop();
    vigil = undefined;
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await slack.close();
  });

  const start = async (probes: unknown[], alerts: Record<string, unknown>) => {
    const config = testConfig(perTest.store, {
      probes,
      alerts: { evaluationInterval: '5s', ...alerts },
      smtp: { url: perTest.smtp.url },
      slack: { token: 'xoxb-e2e-token', apiUrl: slack.url },
      server: { adminToken: 'admin-token-e2e' },
    });
    vigil = await startVigil({ config, roles: ['api', 'probes', 'alerts'], clock, modules: [probesModule, alertsModule] });
    return vigil;
  };

  /** Moves the fake clock a second at a time until `check` holds, giving the real I/O of each second a bounded wait. */
  const until = async <T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, maxFakeMs = 600_000): Promise<T> => {
    for (let elapsed = 0; elapsed <= maxFakeMs; elapsed += 1000) {
      const value = await waitFor(what, check, 20, 5).catch(() => undefined);
      if (value !== undefined) return value;
      await clock.advance(1000);
    }
    throw new Error(`still waiting for ${what} after ${maxFakeMs / 1000} s of fake time`);
  };
  /** Waits (bounded) until the outbox holds nothing pending, so "nothing more was sent" is a fact, not a pause. */
  // The outbox passes run on the fake clock: nudge it while waiting, so a pass that was not already under way runs.
  const drained = () =>
    waitFor(
      'the outbox to drain',
      async () => {
        const pending = await vigil!.db.query(`select 1 from alerts_notifications where status = 'pending' and next_attempt_at <= to_timestamp($1::float8 / 1000)`, [clock.now()]);
        if (pending.length > 0) await clock.advance(250);
        return pending.length === 0;
      },
      30_000,
    );

  it('a probe goes down: after its threshold one WARNING email and one Slack post; back up: the post updated, an UP reply and one UP email; nothing else', async () => {
    const port = await freePort();
    const target = await startTarget(port);
    cleanups.push(target.down);
    await start([httpProbe({ name: 'api', url: `http://127.0.0.1:${port}/`, schedule: '10s', jitter: '0s', timeout: '2s', failureThreshold: 2 })], {
      rules: [{ name: 'api-down', kind: 'probe', probe: 'api', labels: { service: 'api', component: 'http', severity: 'critical' } }],
      receivers: { ops: { type: 'email', to: ['ops@example.com'] }, chat: { type: 'slack', channel: '#ops' } },
      routes: [{ receivers: ['ops', 'chat'] }],
    });
    await until('the probe to be up', async () => (await getProbeStatuses(vigil!.db)).find((status) => status.probe === 'api' && status.state === 'up'));
    await clock.advance(60_000);
    expect(perTest.smtp.mails).toHaveLength(0);

    await target.down();
    await until('the WARNING email', () => perTest.smtp.mails.length > 0);
    const status = (await getProbeStatuses(vigil!.db)).find((candidate) => candidate.probe === 'api')!;
    expect(status.consecutiveFailures).toBeGreaterThanOrEqual(2);
    await until('the Slack post', () => slack.calls.length > 0);
    expect(perTest.smtp.mails.map((mail) => mail.subject)).toEqual([expect.stringMatching(/^\[CRITICAL\] FIRING api: api down — /)]);
    expect(slack.calls.map((call) => call.method)).toEqual(['chat.postMessage']);

    await target.up();
    await until('the UP email', () => perTest.smtp.mails.length > 1);
    await until('the UP reply', () => slack.calls.length > 2);
    await clock.advance(120_000);
    await drained();
    expect(perTest.smtp.mails.map((mail) => mail.subject.slice(0, 5))).toEqual(['[CRIT', '[RESO']);
    expect(slack.calls.map((call) => call.method)).toEqual(['chat.postMessage', 'chat.update', 'chat.postMessage']);
    expect(slack.calls[1]!.args.ts).toBe(slack.calls[0] && '1000.000100');
    expect(slack.calls[2]!.args.thread_ts).toBe('1000.000100');
    expect(String(slack.calls[2]!.args.text)).toMatch(/^RESOLVED: api back up after /);
  });

  it('a killed service is restarted by the hook, a fresh probe run confirms it, UP follows; a hook that cannot fix stops after its budget with EMERGENCY until reset', async () => {
    const [apiPort, workerPort] = [await freePort(), await freePort()];
    const pidFile = path.join(perTest.store.tempDir, 'api.pid');
    execFileSync(process.execPath, [SERVICE, 'start', String(apiPort), pidFile]);
    const kill = () => {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    };
    cleanups.push(kill);
    const labels = (service: string) => ({ service, severity: 'critical' });
    const v = await start(
      [
        httpProbe({ name: 'api', url: `http://127.0.0.1:${apiPort}/`, schedule: '10s', jitter: '0s', timeout: '2s' }),
        httpProbe({ name: 'worker', url: `http://127.0.0.1:${workerPort}/`, schedule: '10s', jitter: '0s', timeout: '2s' }),
      ],
      {
        rules: [
          { name: 'api-down', kind: 'probe', probe: 'api', labels: labels('api') },
          { name: 'worker-down', kind: 'probe', probe: 'worker', labels: labels('worker') },
        ],
        receivers: {
          ops: { type: 'email', to: ['ops@example.com'] },
          fixer: {
            type: 'restart',
            services: { api: { command: [process.execPath, SERVICE, 'start', String(apiPort), pidFile] }, worker: { command: [process.execPath, '-e', 'process.exit(0)'] } },
            budget: 2,
            budgetWindow: '1h',
            backoff: '3s',
            timeout: '15s',
          },
        },
        routes: [{ receivers: ['ops', 'fixer'] }],
      },
    );
    await until('api up and worker down', async () => {
      const statuses = await getProbeStatuses(v.db);
      return statuses.some((s) => s.probe === 'api' && s.state === 'up') && statuses.some((s) => s.probe === 'worker' && s.state === 'down');
    });

    kill();
    const subjects = () => perTest.smtp.mails.map((mail) => mail.subject);
    await until('the api UP email', () => subjects().some((subject) => subject.startsWith('[RESOLVED] api')), 300_000);
    expect(subjects().filter((subject) => subject.includes('api'))).toEqual([expect.stringMatching(/^\[CRITICAL\] FIRING api/), expect.stringMatching(/^\[RESOLVED\] api/)]);
    type IncidentView = { id: number; rule: string; state: string };
    const admin = async <T,>(method: string, url: string, body?: unknown) => {
      const response = await fetch(`${v.url}/admin/api/v1${url}`, {
        method,
        headers: { authorization: 'Bearer admin-token-e2e', ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: response.status, body: (await response.json()) as T };
    };
    const incidents = (await admin<{ incidents: IncidentView[] }>('GET', '/incidents?all=true')).body.incidents;
    const apiIncident = incidents.find((incident) => incident.rule === 'api-down')!;
    const attemptsOf = async (id: number) => (await admin<{ attempts: Array<{ outcome: string; detail: string }> }>('GET', `/incidents/${id}/hook-attempts`)).body.attempts;
    const apiAttempts = await until('the api restart to be judged', async () => {
      const attempts = await attemptsOf(apiIncident.id);
      return attempts.every((attempt) => attempt.outcome !== 'running') && attempts;
    });
    expect(apiAttempts.map((attempt) => attempt.outcome)).toEqual(['fixed']);
    expect(apiAttempts[0]!.detail).toBe('exit 0; check passed');

    await until('the worker EMERGENCY', () => subjects().some((subject) => subject.startsWith('[CRITICAL] EMERGENCY worker')), 300_000);
    const workerIncident = (await admin<{ incidents: IncidentView[] }>('GET', '/incidents')).body.incidents.find((incident) => incident.rule === 'worker-down')!;
    expect(workerIncident.state).toBe('escalated');
    const outcomes = async () => (await attemptsOf(workerIncident.id)).map((attempt) => attempt.outcome);
    expect(await outcomes()).toEqual(['not-fixed', 'not-fixed', 'budget-spent']);
    await clock.advance(30 * 60_000);
    await drained();
    expect(await outcomes()).toEqual(['not-fixed', 'not-fixed', 'budget-spent']);

    expect((await admin('POST', `/incidents/${workerIncident.id}/reset`, {})).status).toBe(400);
    expect((await admin('POST', `/incidents/${workerIncident.id}/reset`, { author: 'ana' })).status).toBe(200);
    await until('an attempt after the reset', async () => (await outcomes()).length > 3, 120_000);
    expect((await outcomes())[3]).toMatch(/^(running|not-fixed)$/);
  });
});
