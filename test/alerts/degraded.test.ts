import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPostgresDatabase, pgliteBackend, type TestStore } from '../support/backends.ts';
import { proxyPostgres, type TcpProxy } from '../support/tcp-proxy.ts';
import { waitFor } from '../support/wait.ts';
import { startAlertHarness, startSlackDouble, startSmtp } from './support.ts';

// Alerting from memory while the store is away calls the out-of-band receivers itself: a Slack API that never answers
// must hold back neither the email nor the next look at the store, and its retry looks before posting again. The
// store goes away by cutting a TCP proxy in front of PostgreSQL (PGlite lives in the process and cannot be taken away).
const postgresUnavailable = inject('postgresUnavailable');
describe.skipIf(Boolean(postgresUnavailable))(`alerts while the store is unreachable [PostgreSQL${postgresUnavailable ? `: skipped, ${postgresUnavailable}` : ''}]`, () => {
  let proxy: TcpProxy;
  let store: TestStore;
  let drop: () => Promise<void>;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    const database = await createPostgresDatabase();
    drop = database.drop;
    let url: string;
    ({ proxy, url } = await proxyPostgres(database.url));
    // A temporary directory of its own; the database is the one behind the proxy.
    store = { ...(await pgliteBackend.createStore()), databaseUrl: url };
  });

  afterEach(async () => {
    await proxy.restore().catch(() => {});
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await proxy.close();
    await store.cleanup();
    await drop();
  });

  it('a Slack API that never answers holds back neither the email from memory nor the next pass', async () => {
    const smtp = await startSmtp();
    cleanups.push(smtp.close);
    const slack = await startSlackDouble();
    cleanups.push(slack.close);
    const h = await startAlertHarness(store, {
      alerts: {
        evaluationInterval: '5s',
        storeOutageGrace: '5s',
        // Slack first: before, the email from memory waited out Slack's 20 s.
        receivers: { chat: { type: 'slack', channel: '#ops', timeout: '20s' }, ops: { type: 'email', to: ['ops@example.com'] } },
        routes: [{ receivers: ['chat', 'ops'] }],
      },
      smtp: { url: smtp.url },
      slack: { token: 'xoxb-token', apiUrl: slack.url },
    });
    cleanups.push(h.stop);
    slack.hang = true;
    await proxy.cut();
    const failedSlack = async () => {
      const { values } = await h.registry.getSingleMetric('vigil_alerts_out_of_band_notifications_total')!.get();
      return values.find((sample) => sample.labels.receiver === 'chat' && sample.labels.outcome === 'failed')?.value ?? 0;
    };
    // The outage is seen at one look at the store and spoken about once the grace has passed.
    await waitFor('the store incident by email while Slack hangs', async () => {
      await h.clock.advance(1000);
      return smtp.mails.some((mail) => mail.subject.startsWith('[CRITICAL] FIRING vigil'));
    }, 10_000, 200);
    expect(await failedSlack()).toBe(0);
    // The Slack call is given up within its timeout, and the outage pass goes on.
    await waitFor('the hung Slack delivery given up', async () => (await failedSlack()) >= 1, 30_000);
    expect(smtp.mails.filter((mail) => mail.subject.startsWith('[CRITICAL] FIRING vigil'))).toHaveLength(1);
    // Slack answers again: the attempt after one in doubt looks in the channel before posting.
    slack.hang = false;
    await waitFor('the Slack post from memory', async () => {
      await h.clock.advance(1000);
      return slack.calls.some((call) => call.method === 'chat.postMessage');
    }, 30_000, 200);
    expect(slack.attempts.map((call) => call.method)).toEqual(['conversations.history', 'chat.postMessage']);
  }, 60_000);
});
