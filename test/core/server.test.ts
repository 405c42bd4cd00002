import { renameSync } from 'node:fs';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { EmbeddedDb } from '../../core/db/index.ts';
import type { VigilModule } from '../../core/lifecycle/module.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { createLogger } from '../../core/telemetry/logger.ts';
import { startTracing } from '../../core/telemetry/tracing.ts';
import { describeEachBackend, testConfig, type TestStore } from '../support/backends.ts';
import { parsePrometheusText } from '../support/prometheus.ts';
import { proxyPostgres, type TcpProxy } from '../support/tcp-proxy.ts';
import { waitFor } from '../support/wait.ts';

const spans = new InMemorySpanExporter();
const tracing = await startTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
afterAll(() => tracing.shutdown());

// A module of the test's own: one route that logs from inside the request, one that fails.
const probeRoutes: VigilModule = {
  name: 'test-routes',
  migrations: [],
  setup(ctx) {
    ctx.http.get('/test/items/:id', async (request) => {
      request.log.info({ item: (request.params as { id: string }).id }, 'inside the handler');
      return { ok: true };
    });
    ctx.http.get('/test/explode', async () => {
      throw new Error('database password is hunter2');
    });
    return [];
  },
};

describeEachBackend('HTTP server, readiness and telemetry', (backend) => {
  let store: TestStore;
  let vigil: Vigil;
  let proxy: TcpProxy | undefined;
  const logLines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    store = await backend.createStore();
    let databaseUrl = store.databaseUrl;
    if (databaseUrl) ({ proxy, url: databaseUrl } = await proxyPostgres(databaseUrl));
    const config = testConfig(store, databaseUrl ? { database: { url: databaseUrl } } : {});
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        done();
      },
    });
    vigil = await startVigil({ config, modules: [probeRoutes], logger: createLogger({ level: 'info', destination }) });
  });

  afterAll(async () => {
    await vigil?.stop(2000);
    await proxy?.close();
    await store?.cleanup();
  });

  afterEach(() => spans.reset());

  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${vigil.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${vigil.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; checks: Array<{ name: string; ok: boolean }> };
    expect(body.status).toBe('ready');
    expect(body.checks).toContainEqual({ name: 'database', ok: true });
    // The embedded store's directory is checked for writes and free space; PostgreSQL's disk is its server's.
    expect(body.checks.some((check) => check.name === 'data directory')).toBe(backend.name === 'PGlite');
  });

  it('turns /readyz 503 with the reason while the database is gone, and 200 when it is back', async () => {
    let restore: () => Promise<void>;
    if (proxy) {
      await proxy.cut();
      restore = () => proxy!.restore();
    } else {
      const db = vigil.db as EmbeddedDb;
      await db.engine.close();
      renameSync(db.directory, `${db.directory}.away`);
      restore = async () => renameSync(`${db.directory}.away`, db.directory);
    }
    const down = await waitFor('readyz to report 503', async () => {
      const response = await fetch(`${vigil.url}/readyz`);
      return response.status === 503 ? ((await response.json()) as { reason: string }) : undefined;
    });
    expect(down.reason).toMatch(/^database: /);
    expect((await fetch(`${vigil.url}/healthz`)).status).toBe(200);
    await restore();
    await waitFor('readyz to recover', async () => (await fetch(`${vigil.url}/readyz`)).status === 200);
  });

  it('serves /metrics as Prometheus text with process metrics, build info, and route templates as labels', async () => {
    for (let i = 0; i < 20; i++) {
      await fetch(`${vigil.url}/test/items/${crypto.randomUUID()}`);
      await fetch(`${vigil.url}/no/such/path/${crypto.randomUUID()}`);
    }
    const text = await (await fetch(`${vigil.url}/metrics`)).text();
    const { samples, types } = parsePrometheusText(text);
    expect(types.get('process_cpu_seconds_total')).toBe('counter');
    expect(samples.find((sample) => sample.name === 'vigil_build_info')?.labels).toMatchObject({ version: expect.any(String), node_version: process.version });
    const routes = new Set(samples.filter((sample) => sample.name === 'vigil_http_request_duration_seconds_count').map((sample) => sample.labels.route));
    expect(routes).toContain('/test/items/:id');
    expect(routes).toContain('unmatched');
    // 40 distinct raw paths were requested; no label may carry any of them.
    for (const sample of samples) {
      for (const value of Object.values(sample.labels)) expect(value).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    }
    expect(routes.size).toBeLessThan(10);
  });

  it('makes a server span per request that joins the caller trace, and logs carry its ids', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(`${vigil.url}/test/items/42`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(response.status).toBe(200);
    const span = await waitFor('the request span', () => spans.getFinishedSpans().find((candidate) => candidate.name === 'GET /test/items/:id'));
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.attributes['http.response.status_code']).toBe(200);
    const line = logLines.find((entry) => entry.msg === 'inside the handler' && entry.item === '42');
    expect(line).toMatchObject({ trace_id: traceId, span_id: span.spanContext().spanId, service: 'vigil' });
  });

  it('answers errors as JSON a person can act on, without leaking internals', async () => {
    const missing = await fetch(`${vigil.url}/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'No route for GET /nothing-here' } });
    const failed = await fetch(`${vigil.url}/test/explode`);
    expect(failed.status).toBe(500);
    const body = await failed.text();
    expect(body).toContain('Internal error');
    expect(body).not.toContain('hunter2');
    const span = await waitFor('the failed span', () => spans.getFinishedSpans().find((candidate) => candidate.name === 'GET /test/explode'));
    expect(span.status.code).toBe(2);
  });
});
