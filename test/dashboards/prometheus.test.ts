// Vigil with a config shaped like vigil.config.ts, a real Prometheus (Debian package) scraping it every second with
// the exported rules and relabelling, and traffic: a published upload, a failed one, an end-to-end video probe, a
// failing probe that fires an incident (webhook notification, restart hook), https and dns probes. Then every panel
// query must return data through Prometheus' HTTP API, and name only what /metrics exposes.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { component, dns, http, tcp, videoE2E } from '../../app/index.ts';
import { MODULES } from '../../app/modules.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { startTracing } from '../../core/telemetry/tracing.ts';
import { exportFiles, PROBE_TO_INSTANCE, RULE_GROUPS, writeExport } from '../../dashboards/files.ts';
import { generateTestClip } from '../../processing/index.ts';
import { testConfig, type TestStore } from '../support/backends.ts';
import { parsePrometheusText } from '../support/prometheus.ts';
import { freePort, startDnsServer } from '../support/network.ts';
import { waitFor } from '../support/wait.ts';
import { TEST_KEY, upload, withKey } from '../processing/support.ts';
import { analyse, expand, exposedNames, panelQueries, ruleQueries } from './promql.ts';

const PROMETHEUS = '/usr/bin/prometheus';
/** What Grafana's $__rate_interval comes to at a 1 s scrape interval, with room for a late scrape. */
const RATE_INTERVAL = '10s';
/** Labels Prometheus adds to every series (target labels) or that name histogram buckets. */
const PROMETHEUS_LABELS = ['job', 'instance', 'environment', 'le', '__name__'];
const tracing = await startTracing();
const temp = mkdtempSync(path.join(os.tmpdir(), 'vigil-prometheus-'));
const store: TestStore = { dataDir: path.join(temp, 'data'), tempDir: temp, cleanup: async () => {} };
const servers: Array<Server | dgram.Socket> = [];
const webhookBodies: string[] = [];
let vigil: Vigil;
let prometheus: ChildProcess;
let prometheusUrl: string;
let prometheusLog = '';

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function query(expr: string): Promise<unknown[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data!.result;
}

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', path.join(temp, 'key.pem'), '-out', path.join(temp, 'cert.pem')], { stdio: 'ignore' });
  const httpsPort = await listen(createHttpsServer({ key: readFileSync(path.join(temp, 'key.pem')), cert: readFileSync(path.join(temp, 'cert.pem')) }, (_request, response) => response.end('fine')));
  const webhookPort = await listen(createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      webhookBodies.push(body);
      response.end('ok');
    });
  }));
  const dnsServer = await startDnsServer();
  servers.push(dnsServer.socket);
  const closedPort = await freePort();

  const config = testConfig(store, {
    processing: { storageDir: path.join(temp, 'storage'), gc: { interval: '2s' }, keys: [{ name: 'test', scopes: ['upload', 'read', 'delete'], key: TEST_KEY }] },
    probes: [
      http({ name: 'vigil-ready', url: '/readyz', schedule: '2s', jitter: '0s', timeout: '2s', expect: { status: 200 } }),
      http({ name: 'secure-site', url: `https://localhost:${httpsPort}/`, schedule: '2s', jitter: '0s', timeout: '2s', tls: { insecure: true } }),
      http({ name: 'broken-api', url: `http://127.0.0.1:${closedPort}/`, schedule: '2s', jitter: '0s', timeout: '1s', labels: { service: 'broken-api' } }),
      tcp({ name: 'tls-port', host: 'localhost', port: httpsPort, tls: true, insecure: true, schedule: '2s', jitter: '0s', timeout: '2s' }),
      dns({ name: 'zone', query: 'www.vigil.test', server: dnsServer.address, schedule: '2s', jitter: '0s', timeout: '2s' }),
      videoE2E({ name: 'video-e2e', apiKey: TEST_KEY, schedule: '15s', jitter: '0s', timeout: '60s', clip: { seconds: 1, width: 160, height: 120 }, deadlines: { queued: '30s', processing: '45s', published: '50s' } }),
    ],
    alerts: {
      evaluationInterval: '1s',
      rules: [
        { name: 'broken-api-down', kind: 'probe', probe: 'broken-api', labels: { service: 'broken-api', severity: 'warning' } },
        { name: 'video-failures', kind: 'failure-rate', window: '10m', minSamples: 1, trigger: 0.5, clear: 0.2 },
      ],
      receivers: {
        hook: { type: 'webhook', url: `http://127.0.0.1:${webhookPort}/hook`, secret: 'webhook-secret-1' },
        fixer: { type: 'restart', services: { 'broken-api': { command: [process.execPath, '-e', 'process.exit(0)'] } }, backoff: '1s', timeout: '5s' },
      },
      routes: [{ receivers: ['hook', 'fixer'] }],
    },
    statusPage: { components: [component({ name: 'Public API', from: { probes: ['broken-api'] } })] },
  });
  vigil = await startVigil({ config, modules: MODULES });

  // Prometheus with the exported rules and the documented relabelling, scraping every second.
  await writeExport(path.join(temp, 'export'), exportFiles());
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  const prometheusConfig = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: [path.join(temp, 'export/prometheus/rules/vigil.rules.yml')],
    scrape_configs: [{ job_name: 'vigil', static_configs: [{ targets: [new URL(vigil.url).host], labels: { environment: 'test' } }], metric_relabel_configs: [PROBE_TO_INSTANCE] }],
  };
  writeFileSync(path.join(temp, 'prometheus.yml'), stringify(prometheusConfig));
  prometheus = spawn(PROMETHEUS, [`--config.file=${path.join(temp, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(temp, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--enable-feature=exemplar-storage', '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  prometheus.stderr!.on('data', (chunk) => (prometheusLog += chunk));
  await waitFor('Prometheus ready', async () => (await fetch(`${prometheusUrl}/-/ready`)).ok, 30_000, 200);

  // Traffic: one upload that publishes and one that fails.
  const clip = path.join(temp, 'clip.mp4');
  await generateTestClip(clip, { seconds: 1, width: 160, height: 120 });
  expect((await upload(vigil.url, clip)).status).toBe(202);
  expect((await upload(vigil.url, Buffer.from('this is not a video at all'), {}, 'notes.mp4')).status).toBe(202);
  expect((await fetch(`${vigil.url}/api/v1/videos/no-such-video`, { headers: withKey() })).status).toBe(404);
}, 120_000);

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  await vigil?.stop();
  for (const server of servers) server.close();
  await tracing.shutdown();
  rmSync(temp, { recursive: true, force: true });
});

describe('dashboards against a real Prometheus scraping a running Vigil', () => {
  it('names only metrics and labels /metrics exposes (histogram suffixes included), and promtool check metrics finds nothing in vigil_* or probe_*', async () => {
    // A scrape after the first runs, so every family is there.
    const text = await waitFor('probe and processing series', async () => {
      const body = await (await fetch(`${vigil.url}/metrics`)).text();
      return /probe_dns_answer_rrs\{/.test(body) && /vigil_processing_videos_total\{/.test(body) && /probe_video_stage_duration_seconds\{/.test(body) && body;
    }, 90_000, 500);
    const { samples, types } = parsePrometheusText(text);
    const names = new Set([...types].flatMap(([name, type]) => exposedNames(name, type)));
    const labels = new Set([...PROMETHEUS_LABELS, ...samples.flatMap((sample) => Object.keys(sample.labels))]);
    const recorded = new Set(RULE_GROUPS.flatMap((group) => group.rules.flatMap((rule) => ('record' in rule ? [rule.record] : []))));
    const unknown = [...panelQueries(), ...ruleQueries()].flatMap(({ where, expr }) => {
      const { metrics, labels: used } = analyse(expr);
      return [
        ...metrics.filter((name) => !names.has(name) && !recorded.has(name) && name !== 'up').map((name) => `${where}: metric ${name}`),
        ...used.filter((label) => !labels.has(label)).map((label) => `${where}: label ${label}`),
      ];
    });
    expect(unknown).toEqual([]);

    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const ours = `${lint.stdout}${lint.stderr}`.split('\n').filter((line) => /^(vigil_|probe_)/.test(line));
    expect(ours).toEqual([]);
  }, 120_000);

  it('returns data for every panel query, the recording rules included', async () => {
    await waitFor('the failing probe to notify', () => webhookBodies.some((body) => body.includes('broken-api')), 60_000, 200);
    const queries = panelQueries().map((panel) => ({ ...panel, promql: expand(panel.expr, RATE_INTERVAL) }));
    let empty: string[] = [];
    await waitFor('every panel query to return data', async () => {
      empty = [];
      for (const { where, promql } of queries) if ((await query(promql)).length === 0) empty.push(`${where}: ${promql}`);
      return empty.length === 0;
    }, 90_000, 1000).catch(() => undefined);
    expect(empty, prometheusLog).toEqual([]);
  }, 200_000);

  it('gives probe_* series the instance label community blackbox dashboards select on (probe → instance)', async () => {
    const result = (await query('probe_success{instance="broken-api"}')) as Array<{ metric: Record<string, string>; value: [number, string] }>;
    expect(result).toEqual([expect.objectContaining({ metric: expect.objectContaining({ probe: 'broken-api', instance: 'broken-api', job: 'vigil' }), value: [expect.any(Number), '0'] })]);
    // vigil_* series keep the scrape target as their instance.
    const build = (await query('vigil_build_info')) as Array<{ metric: Record<string, string> }>;
    expect(build[0]!.metric.instance).toBe(new URL(vigil.url).host);
  });

  it('scrapes OpenMetrics with exemplars carrying trace ids on the stage, probe and delivery histograms', async () => {
    const openMetrics = await (await fetch(`${vigil.url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } })).text();
    expect(openMetrics.endsWith('# EOF\n')).toBe(true);
    expect(openMetrics).toMatch(/^vigil_probe_runs_total\{/m);
    expect(openMetrics).toMatch(/^# TYPE vigil_probe_runs counter$/m);
    for (const histogram of ['vigil_processing_stage_duration_seconds', 'vigil_probe_run_duration_seconds', 'vigil_alerts_delivery_latency_seconds']) {
      const exemplars = await waitFor(`exemplars of ${histogram} in Prometheus`, async () => {
        const response = await fetch(`${prometheusUrl}/api/v1/query_exemplars?query=${encodeURIComponent(`${histogram}_bucket`)}&start=${Date.now() / 1000 - 600}&end=${Date.now() / 1000 + 60}`);
        const body = (await response.json()) as { data: Array<{ exemplars: Array<{ labels: Record<string, string> }> }> };
        const found = body.data.flatMap((series) => series.exemplars);
        return found.length > 0 && found;
      }, 30_000, 500);
      expect(exemplars[0]!.labels.trace_id, histogram).toMatch(/^[0-9a-f]{32}$/);
    }
  }, 60_000);
});
