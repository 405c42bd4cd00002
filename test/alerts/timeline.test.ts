import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.ts';
import { startAlertHarness, startSlackDouble, storeAndSmtpPerTest } from './support.ts';

const RULES = [{ name: 'api-down', kind: 'probe', probe: 'api', labels: { service: 'api', component: 'http', severity: 'critical' } }];
const RECEIVERS = { ops: { type: 'email', to: ['ops@example.com'] }, chat: { type: 'slack', channel: '#ops' } };
const DOWN = { service: 'api', component: 'http', severity: 'critical', probe: 'api' };

describeEachBackend('alert timelines', (backend) => {
  const perTest = storeAndSmtpPerTest(backend);
  let slack: Awaited<ReturnType<typeof startSlackDouble>>;
  const stops: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    slack = await startSlackDouble();
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await slack.close();
  });

  const harness = async (alerts: Record<string, unknown>, extra: { holder?: string; smtpUrl?: string } = {}) => {
    const started = await startAlertHarness(perTest.store, {
      alerts: { evaluationInterval: '5s', rules: RULES, receivers: RECEIVERS, ...alerts },
      smtp: { url: extra.smtpUrl ?? perTest.smtp.url, from: 'Vigil <vigil@example.com>' },
      slack: { token: 'xoxb-secret-token', apiUrl: slack.url },
      ...(extra.holder ? { holder: extra.holder } : {}),
    });
    stops.push(started.stop);
    return started;
  };

  it('a probe goes down: one WARNING email and one Slack post; back up: the post is updated, a thread reply and one email say UP', async () => {
    const h = await harness({ routes: [{ receivers: ['ops', 'chat'] }], outbox: { pollInterval: '5s' } });
    h.observe('api-down', false, DOWN);
    await h.run(10_000);
    expect(perTest.smtp.mails).toHaveLength(0);

    h.observe('api-down', true, DOWN, 'probe api is down: HTTP 503');
    await h.run(10_000);
    expect(perTest.smtp.mails.map((mail) => mail.subject)).toEqual(['[CRITICAL] FIRING api: probe api is down: HTTP 503']);
    expect(perTest.smtp.mails[0]!.to).toBe('ops@example.com');
    expect(perTest.smtp.mails[0]!.text).toContain('Firing: this needs a look.');
    expect(perTest.smtp.mails[0]!.html).toContain('<h1');
    expect(slack.calls.map((call) => call.method)).toEqual(['chat.postMessage']);
    expect(slack.calls[0]!.args.channel).toBe('#ops');
    expect(slack.calls[0]!.authorization).toBe('Bearer xoxb-secret-token');
    expect(JSON.stringify(slack.calls[0]!.args.blocks)).toContain('CRITICAL');
    const postedTs = '1000.000100';

    await h.run(60_000);
    expect(perTest.smtp.mails).toHaveLength(1);
    expect(slack.calls).toHaveLength(1);

    h.observe('api-down', false, DOWN, 'probe api is up');
    await h.run(10_000);
    expect(perTest.smtp.mails.map((mail) => mail.subject)).toEqual(['[CRITICAL] FIRING api: probe api is down: HTTP 503', expect.stringMatching(/^\[RESOLVED\] api: api back up after (\d+ m )?\d+ s$/)]);
    expect(slack.calls.map((call) => [call.method, call.args.ts ?? call.args.thread_ts ?? null])).toEqual([
      ['chat.postMessage', null],
      ['chat.update', postedTs],
      ['chat.postMessage', postedTs],
    ]);
    expect(slack.calls[2]!.args.text).toMatch(/^RESOLVED: api back up after /);
    expect(String(slack.calls[2]!.args.reply_broadcast)).toBe('true');

    await h.run(3_600_000, 60_000);
    expect(perTest.smtp.mails).toHaveLength(2);
    expect(slack.calls).toHaveLength(3);
    expect((await h.notifications()).map((row) => `${row.receiver}:${row.event}:${row.status}`)).toEqual([
      'ops:warning:delivered',
      'chat:warning:delivered',
      'ops:up:delivered',
      'chat:up:delivered',
    ]);
  });

  it('Slack answers 429 with Retry-After, then 500s for a while: every message arrives once, in order', async () => {
    const h = await harness({ routes: [{ receivers: ['chat'] }], outbox: { retryInitial: '2s', retryMax: '20s' } });
    slack.script.push({ status: 429, retryAfter: 7 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    h.observe('api-down', true, DOWN);
    await h.run(5000);
    expect(slack.attempts).toHaveLength(1);
    await h.run(5000);
    // Retry-After 7 s is honoured: nothing before it.
    expect(slack.attempts).toHaveLength(1);
    h.observe('api-down', false, DOWN);
    await h.run(120_000);
    expect(slack.attempts.length).toBeGreaterThanOrEqual(8);
    expect(slack.calls.map((call) => call.method)).toEqual(['chat.postMessage', 'chat.update', 'chat.postMessage']);
    expect(slack.calls[0]!.args.text).toMatch(/^\[CRITICAL\] FIRING/);
    expect(slack.calls[2]!.args.text).toMatch(/^RESOLVED: api back up after /);
    expect((await h.notifications()).map((row) => row.status)).toEqual(['delivered', 'delivered']);
  });

  it('killed between the incident firing and its delivery: after restart the notification goes out exactly once', async () => {
    // The first process's SMTP connection is refused, so the notification is still pending when it dies.
    const first = await harness({ routes: [{ receivers: ['ops'] }], evaluationInterval: '1s', lease: { ttl: '15s', renewEvery: '5s' } }, { holder: 'first', smtpUrl: 'smtp://127.0.0.1:9' });
    first.observe('api-down', true, DOWN);
    await first.run(3000);
    expect((await first.notifications()).map((row) => row.status)).toEqual(['pending']);
    expect(perTest.smtp.mails).toHaveLength(0);
    // "Kill": no graceful stop, so the lease is not released; only the store survives.
    await first.service.stop(0).catch(() => {});
    await first.db.query(`update alerts_leader set expires_at = to_timestamp($1::float8 / 1000)`, [first.clock.now() + 15_000]);
    await first.db.close();
    stops.length = 0;

    const second = await harness({ routes: [{ receivers: ['ops'] }], evaluationInterval: '1s', lease: { ttl: '15s', renewEvery: '5s' } }, { holder: 'second' });
    second.clock.set(first.clock.now() + 1000);
    second.observe('api-down', true, DOWN);
    await second.run(10_000);
    expect(perTest.smtp.mails).toHaveLength(0); // the dead holder's lease has not expired yet
    await second.run(20_000);
    expect(perTest.smtp.mails.map((mail) => mail.subject)).toEqual(['[CRITICAL] FIRING api: api-down failing']);
    await second.run(60_000);
    expect(perTest.smtp.mails).toHaveLength(1);
    expect((await second.notifications()).map((row) => `${row.event}:${row.status}`)).toEqual(['warning:delivered']);
  });

  it('SMTP down for an hour: email falls back to Slack, and the failed delivery is itself alerted', async () => {
    await perTest.smtp.close();
    const h = await harness({ routes: [{ receivers: ['ops'], fallback: 'chat' }], outbox: { maxAge: '30m', retryInitial: '10s', retryMax: '5m' }, lease: { ttl: '2m', renewEvery: '10s' } });
    h.observe('api-down', true, DOWN);
    await h.run(3_600_000, 20_000);
    const rows = await h.notifications();
    const email = rows.find((row) => row.receiver === 'ops')!;
    expect(email.status).toBe('failed');
    expect(email.attempts).toBeGreaterThan(3);
    const posts = slack.calls.filter((call) => call.method === 'chat.postMessage').map((call) => String(call.args.text).split('\n')[0]);
    expect(posts, JSON.stringify(rows)).toHaveLength(2);
    expect(posts).toContain('[CRITICAL] FIRING api: api-down failing');
    expect(posts.find((text) => text!.startsWith('[CRITICAL] FIRING vigil:'))).toMatch(/notifications to ops fail: SMTP send failed/);
    expect(JSON.stringify(rows)).not.toContain('xoxb-secret-token');
  });
});
