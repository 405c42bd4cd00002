import { afterEach, expect, it } from 'vitest';
import { alertsModule } from '../../alerts/index.ts';
import { http as httpProbe } from '../../app/index.ts';
import { FakeClock } from '../../core/clock.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { getProbeStatuses, probesModule } from '../../probes/index.ts';
import { describeEachBackend, testConfig } from '../support/backends.ts';
import { freePort, startTarget } from '../support/http-target.ts';
import { waitFor } from '../support/wait.ts';
import { storeAndSmtpPerTest } from './support.ts';

// Push evaluation: the probe run that decides a probe is down (or up) is evaluated as soon as the store has it, and
// the notification it queues goes out at once. The evaluation tick is an hour here, so only the push can send it.
describeEachBackend('alerts evaluated when a deciding probe result arrives', (backend) => {
  const perTest = storeAndSmtpPerTest(backend);
  let vigil: Vigil | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];


  afterEach(async () => {
    await vigil?.stop();
    vigil = undefined;
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('the second failed run sends the WARNING without waiting for the evaluation tick; the first success after it sends the UP', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const port = await freePort();
    const target = await startTarget(port);
    cleanups.push(target.down);
    const config = testConfig(perTest.store, {
      probes: [httpProbe({ name: 'api', url: `http://127.0.0.1:${port}/`, schedule: '10s', jitter: '0s', timeout: '2s', failureThreshold: 2 })],
      alerts: {
        evaluationInterval: '1h',
        outbox: { pollInterval: '1h' },
        rules: [{ name: 'api-down', kind: 'probe', probe: 'api', labels: { service: 'api', severity: 'critical' } }],
        receivers: { ops: { type: 'email', to: ['ops@example.com'] } },
        routes: [{ receivers: ['ops'] }],
      },
      smtp: { url: perTest.smtp.url },
    });
    vigil = await startVigil({ config, roles: ['probes', 'alerts'], clock, modules: [probesModule, alertsModule] });
    const db = vigil.db;
    /** One probe period of fake time, then the real wait for its run to be in the store. */
    const run = async (state: string, failures: number) => {
      await clock.advance(10_000);
      await waitFor(`the probe ${state} after ${failures} failure(s)`, async () => {
        const status = (await getProbeStatuses(db)).find((candidate) => candidate.probe === 'api');
        return status?.state === state && status.consecutiveFailures === failures;
      }, 10_000);
    };
    await run('up', 0);
    await target.down();
    await run('up', 1);
    expect(perTest.smtp.mails).toHaveLength(0);
    await run('down', 2);
    // No more fake time passes: the deciding result alone sends it.
    await waitFor('the WARNING email', () => perTest.smtp.mails.length === 1, 10_000);
    expect(perTest.smtp.mails[0]!.subject).toMatch(/^\[CRITICAL\] FIRING api: api down/);
    const [opened] = await db.query<{ firedAt: number; createdAt: number }>(
      `select (extract(epoch from i.fired_at) * 1000)::float8 as "firedAt", (extract(epoch from n.created_at) * 1000)::float8 as "createdAt" from alerts_incidents i join alerts_notifications n on n.incident_id = i.id`,
    );
    expect(opened).toEqual({ firedAt: clock.now(), createdAt: clock.now() });

    await target.up();
    await run('up', 0);
    await waitFor('the UP email', () => perTest.smtp.mails.length === 2, 10_000);
    expect(perTest.smtp.mails[1]!.subject).toMatch(/^\[RESOLVED\] api: api back up/);
  });
});
