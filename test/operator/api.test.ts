import { Validator } from '@seriousme/openapi-schema-validator';
import { expect, it } from 'vitest';
import { MODULES } from '../../app/modules.ts';
import { startVigil } from '../../core/lifecycle/start.ts';
import { recordResults } from '../../probes/results.ts';
import type { ProbeResult } from '../../probes/types.ts';
import { describeEachBackend, testConfig, vigilPer } from '../support/backends.ts';

const TOKEN = 'read-api-token-0123456789';
const PREFIX = '/admin/api/v1';

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>>;
}

describeEachBackend('the read API', (backend) => {
  const suite = vigilPer('suite', backend, async (store) => {
    const config = testConfig(store, {
      server: { adminToken: TOKEN },
      probes: [(await import('../../app/index.ts')).http({ name: 'site', url: 'http://127.0.0.1:1/', schedule: '1h' })],
    });
    return startVigil({ config, roles: ['api'], modules: MODULES, version: '1.2.3' });
  });

  const call = async <T = { error: { message: string } }>(method: string, url: string, options: { token?: string | null; authorization?: string; body?: string } = {}) => {
    const token = options.token === undefined ? TOKEN : options.token;
    const authorization = options.authorization ?? (token ? `Bearer ${token}` : undefined);
    const response = await fetch(`${suite.vigil.url}${url}`, {
      method,
      headers: { ...(authorization ? { authorization } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    return { status: response.status, body: (await response.json()) as T };
  };

  it('publishes a valid OpenAPI document of every admin route', async () => {
    const { status, body } = await call<OpenApi>('GET', `${PREFIX}/openapi.json`);
    expect(status).toBe(200);
    const result = await new Validator().validate(body as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const paths = Object.keys(body.paths);
    for (const path of ['/probes', '/probes/{name}/results', '/probes/{name}/uptime', '/incidents', '/incidents/{id}', '/silences', '/maintenances', '/audit', '/videos', '/videos/{id}', '/videos/{id}/workflow', '/queues']) {
      expect(paths).toContain(`${PREFIX}${path}`);
    }
    expect(paths.every((path) => path.startsWith(PREFIX))).toBe(true);
    expect(body.paths[`${PREFIX}/probes/{name}/results`]!.get!.parameters!.map((parameter) => parameter.name)).toEqual(expect.arrayContaining(['limit', 'cursor', 'from', 'to', 'outcome']));
  });

  it('answers 401 on every admin route without the token, before reading any body; "bearer" in any case works', async () => {
    const { body } = await call<OpenApi>('GET', `${PREFIX}/openapi.json`);
    const routes = Object.entries(body.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), url: path.replace(/\{[^}]+\}/g, '1') })));
    expect(routes.length).toBeGreaterThan(15);
    for (const route of [...routes, { method: 'GET', url: `${PREFIX}/openapi.json` }]) {
      const response = await call(route.method, route.url, { token: null, ...(route.method === 'POST' ? { body: '{}' } : {}) });
      expect([route.url, response.status]).toEqual([route.url, 401]);
    }
    // A body over the limit would be 413 if it were read first.
    const huge = await call('POST', `${PREFIX}/silences`, { token: 'wrong', body: JSON.stringify({ comment: 'x'.repeat(2 * 1024 * 1024) }) });
    expect(huge.status).toBe(401);
    expect((await call('GET', `${PREFIX}/probes`, { authorization: `bearer ${TOKEN}` })).status).toBe(200);
    expect((await call('GET', `${PREFIX}/probes`, { authorization: `BEARER ${suite.vigil.localToken.reveal()}` })).status).toBe(200);
  });

  it.each([
    ['/probes/site/results?limit=0', 'limit'],
    ['/probes/site/results?limit=abc', 'limit'],
    ['/probes/site/results?outcome=maybe', 'outcome'],
    ['/probes/site/results?from=yesterday', 'from'],
    ['/probes/site/results?cursor=not-a-cursor', 'cursor'],
    ['/probes/site/uptime?days=91', 'days'],
    ['/probes/site/uptime?resolution=weekly', 'resolution'],
    ['/incidents?state=burning', 'state'],
    ['/incidents/abc', 'id'],
    ['/audit?limit=501', 'limit'],
    ['/videos?state=lost', 'state'],
    ['/videos?label=novalue', 'label'],
  ])('GET %s is a 400 naming %s', async (url, field) => {
    const { status, body } = await call('GET', `${PREFIX}${url}`);
    expect(status).toBe(400);
    expect(body.error.message).toContain(field);
  });

  it('404 names what is missing', async () => {
    const probe = await call('GET', `${PREFIX}/probes/nope/results`);
    expect(probe.status).toBe(404);
    expect(probe.body.error.message).toContain('no probe named "nope" in the configuration (probes: site)');
    expect((await call('GET', `${PREFIX}/incidents/4242`)).body.error.message).toContain('no incident #4242');
  });

  it('pages results by cursor, newest first, stable while results are inserted, filtered by outcome and time', async () => {
    const base = Date.parse('2026-03-01T00:00:00Z');
    const result = (index: number): ProbeResult => ({ probe: 'site', kind: 'http', location: 'local', success: index % 3 !== 0, startedAt: base + index * 60_000, durationMs: index, ...(index % 3 === 0 ? { reason: `failure ${index}` } : {}) });
    const thresholds = { failureThreshold: 1, successThreshold: 1, quorum: 1, labels: {}, silentAfterMs: 3_600_000 };
    await recordResults(suite.vigil.db, Array.from({ length: 25 }, (_, index) => ({ result: result(index), thresholds })));

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: { results: ProbeResult[]; nextCursor: string | null } } = await call('GET', `${PREFIX}/probes/site/results?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.results.map((entry) => entry.durationMs));
      cursor = page.body.nextCursor;
      // New results arrive between pages; they belong before the first page and never shift the later ones.
      if (pages++ === 0) await recordResults(suite.vigil.db, Array.from({ length: 5 }, (_, index) => ({ result: result(100 + index), thresholds })));
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, index) => 24 - index));

    const failures = await call<{ results: ProbeResult[] }>('GET', `${PREFIX}/probes/site/results?outcome=failure&from=${new Date(base).toISOString()}&to=${new Date(base + 12 * 60_000).toISOString()}`);
    expect(failures.body.results.map((entry) => entry.reason)).toEqual(['failure 9', 'failure 6', 'failure 3', 'failure 0']);
  });

  it('gives uptime per day and hour over at most 90 days', async () => {
    const daily = await call<{ buckets: Array<{ start: string; checks: number }> }>('GET', `${PREFIX}/probes/site/uptime`);
    expect(daily.body.buckets).toHaveLength(90);
    const hourly = await call<{ buckets: unknown[] }>('GET', `${PREFIX}/probes/site/uptime?resolution=hourly&days=2`);
    expect(hourly.body.buckets.length).toBeGreaterThanOrEqual(25);
    expect(hourly.body.buckets.length).toBeLessThanOrEqual(48);
  });

  it('lists probes with state and per-location state, incidents, audit, videos and queues', async () => {
    const probes = await call<{ probes: Array<{ name: string; state: string; locationStates: Array<{ location: string; lastResult: ProbeResult }> }> }>('GET', `${PREFIX}/probes`);
    expect(probes.body.probes).toMatchObject([{ name: 'site', locationStates: [{ location: 'local', lastResult: { probe: 'site' } }] }]);
    expect((await call('GET', `${PREFIX}/incidents?state=open`)).body).toEqual({ incidents: [], nextCursor: null });
    await call('POST', `${PREFIX}/silences`, { body: JSON.stringify({ matchers: { service: 'api' }, duration: '1h', author: 'ana', comment: 'deploy' }) });
    const audit = await call<{ entries: Array<{ action: string; actor: string }> }>('GET', `${PREFIX}/audit`);
    expect(audit.body.entries[0]).toMatchObject({ action: 'silence.add', actor: 'ana' });
    expect((await call('GET', `${PREFIX}/videos?state=failed&label=synthetic=true`)).body).toEqual({ videos: [], nextCursor: null });
    const queues = await call<{ queues: Array<{ name: string }> }>('GET', `${PREFIX}/queues`);
    expect(queues.body.queues.map((queue) => queue.name)).toContain('processing.transcode');
  });
});
