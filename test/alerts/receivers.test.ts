import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { addMaintenance } from '../../alerts/admin.ts';
import { hookAttempts } from '../../alerts/hooks.ts';
import { describeEachBackend, storePer } from '../support/backends.ts';
import { waitFor } from '../support/wait.ts';
import { startAlertHarness } from './support.ts';

const SECRET = 'whsec-0123456789';

/** A webhook endpoint that records requests and answers with the statuses it is given, then 200. */
async function startWebhook(statuses: number[]) {
  const requests: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      requests.push({ headers: request.headers, body });
      response.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { requests, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) };
}

describeEachBackend('alert receivers', (backend) => {
  const perTest = storePer('test', backend);
  const cleanups: Array<() => Promise<unknown>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const harness = async (receivers: Record<string, unknown>, routes: unknown[]) => {
    const h = await startAlertHarness(perTest.store, { alerts: { evaluationInterval: '5s', rules: [{ name: 'api-down', kind: 'probe', probe: 'api', labels: { service: 'api' } }], receivers, routes } });
    cleanups.push(h.stop);
    return h;
  };

  it('webhook: a signed JSON payload; a 5xx is retried', async () => {
    const webhook = await startWebhook([503]);
    cleanups.push(webhook.close);
    const h = await harness({ hook: { type: 'webhook', url: webhook.url, secret: SECRET } }, [{ receivers: ['hook'] }]);
    h.observe('api-down', true, { service: 'api', probe: 'api' });
    await h.run(30_000);
    expect(webhook.requests).toHaveLength(2);
    const { headers, body } = webhook.requests[1]!;
    const [, timestamp, signature] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(headers['x-vigil-signature']))!;
    expect(signature).toBe(createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex'));
    expect(headers['idempotency-key']).toBe('1:hook:warning');
    const payload = JSON.parse(body);
    expect(payload).toMatchObject({ version: 1, event: 'warning', key: '1:hook:warning', incidents: [{ id: 1, rule: 'api-down', state: 'firing', labels: { service: 'api', probe: 'api' } }] });
    expect(body).not.toContain(SECRET);

  });

  it('webhook: a 4xx is not retried; the route fallback takes it and the failure is alerted', async () => {
    const rejecting = await startWebhook([400]);
    cleanups.push(rejecting.close);
    const other = await startWebhook([]);
    cleanups.push(other.close);
    const h2 = await harness({ bad: { type: 'webhook', url: rejecting.url, secret: SECRET }, spare: { type: 'webhook', url: other.url, secret: SECRET } }, [{ receivers: ['bad'], fallback: 'spare' }]);
    h2.observe('api-down', true, { service: 'api', probe: 'api' });
    await h2.run(60_000);
    expect(rejecting.requests).toHaveLength(1);
    expect((await h2.notifications()).find((row) => row.receiver === 'bad')).toMatchObject({ status: 'failed', attempts: 0 });
    expect(other.requests.map((request) => JSON.parse(request.body).key).sort()).toEqual(['1:bad:warning:fallback', '2:spare:warning']);
  });

  it('restart hook: never runs inside a maintenance window; audits why', async () => {
    const marker = path.join(perTest.store.tempDir, 'restarted');
    const h = await harness(
      { fixer: { type: 'restart', services: { api: { command: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '1')`] } }, backoff: '1s' } },
      [{ receivers: ['fixer'] }],
    );
    await addMaintenance(h.db, { title: 'API upgrade', matchers: { service: 'api' }, startsAt: h.clock.now(), endsAt: h.clock.now() + 3_600_000, author: 'ana', comment: '' }, h.clock.now());
    h.observe('api-down', true, { service: 'api', probe: 'api' });
    await h.run(60_000, 5000);
    expect(existsSync(marker)).toBe(false);
    expect(await hookAttempts(h.db)).toEqual([]);
    expect((await h.notifications()).map((row) => row.muted_by)).toEqual([expect.stringMatching(/^maintenance #\d+$/)]);
  });

  it('scale hook: a queue-load incident runs the service\'s scale action once, audited', async () => {
    const marker = path.join(perTest.store.tempDir, 'scaled');
    const h = await startAlertHarness(perTest.store, {
      alerts: {
        evaluationInterval: '5s',
        rules: [{ name: 'transcode-backlog', kind: 'queue', queue: 'processing.transcode', maxDepth: 100, for: '30s', labels: { service: 'transcode' } }],
        receivers: { more: { type: 'scale', services: { transcode: { command: [process.execPath, '-e', `require('fs').appendFileSync(${JSON.stringify(marker)}, 'x')`] } }, backoff: '1s' } },
        routes: [{ match: { service: 'transcode' }, receivers: ['more'] }],
      },
    });
    cleanups.push(h.stop);
    h.observe('transcode-backlog', true, { service: 'transcode', queue: 'processing.transcode' });
    await h.run(20_000, 5000);
    expect(existsSync(marker)).toBe(false); // still pending: the backlog must last 30 s
    // The action is a real process: each fake second gets a bounded real wait for it.
    for (let second = 0; second < 60; second++) {
      const fixed = await waitFor('the scale action', async () => (await hookAttempts(h.db)).some((attempt) => attempt.outcome === 'fixed'), 50, 5).catch(() => false);
      if (fixed) break;
      await h.clock.advance(1000);
    }
    expect((await hookAttempts(h.db)).map((attempt) => [attempt.receiver, attempt.service, attempt.outcome])).toEqual([['more', 'transcode', 'fixed']]);
    expect(readFileSync(marker, 'utf8')).toBe('x');
  });
});
