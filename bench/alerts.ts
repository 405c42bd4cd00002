// Alert latency and outbox throughput. Prints figures; never passes or fails on time.
//   node bench/alerts.ts [--outages 60] [--trials 3] [--notifications 300]
// 1. Time from a target going down to the notification, p50/p95 over the outages, for Vigil (probe → push evaluation →
//    outbox → Slack double) and for Prometheus + blackbox_exporter + Alertmanager (Debian packages, installed here when
//    missing and running as root) watching the same target at the same settings, on the same outages; and what Vigil
//    adds after the deciding probe result (the target's answer that made the second failure) until Slack has the post.
// 2. Isolation: latency of an unrelated webhook notification while Slack hangs and while a restart hook runs, against
//    the same with nothing in the way; calls made to Slack during a 429 storm against the calls Retry-After allows.
// 3. Notifications per second through the outbox to a webhook and to the Slack double.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { alertsModule } from '../alerts/index.ts';
import { alertsMigrations } from '../alerts/migrations.ts';
import { createAlertService } from '../alerts/service.ts';
import { systemClock } from '../core/clock.ts';
import { parseConfig } from '../app/config.ts';
import { migrate, openDb } from '../core/db/index.ts';
import { startVigil } from '../core/lifecycle/start.ts';
import { createLogger } from '../core/telemetry/logger.ts';
import { createRegistry } from '../core/telemetry/metrics.ts';
import { http as httpProbe } from '../app/index.ts';
import { probesModule } from '../probes/index.ts';
import { benchOptions, printTable } from './support/measure.ts';

const values = benchOptions({ outages: '60', trials: '3', notifications: '300' });
const OUTAGES = Number(values.outages);
const TRIALS = Number(values.trials);
const NOTIFICATIONS = Number(values.notifications);
const INTERVAL_S = 1;
const FAILURE_THRESHOLD = 2;
const BOUND_MS = INTERVAL_S * FAILURE_THRESHOLD * 1000;
/** Both stacks evaluate their rules on this period (Vigil also at once when a probe result changes its probe's state). */
const EVALUATION_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const seconds = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);

async function listen(server: http.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

/** The watched target: 200 while up, 503 while down; records when it answered each of Vigil's probe runs. */
async function startTarget() {
  let up = true;
  const vigilAnswers: Array<{ at: number; up: boolean }> = [];
  const server = http.createServer((request, response) => {
    const answer = up;
    response.on('finish', () => {
      if (request.headers['user-agent'] === 'Vigil-probe') vigilAnswers.push({ at: performance.now(), up: answer });
    });
    response.writeHead(answer ? 200 : 503).end(answer ? 'ok' : 'down');
  });
  const port = await listen(server);
  return { port, vigilAnswers, set: (value: boolean) => (up = value), close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))) };
}

/** A Slack Web API double and a webhook sink in one: records when each kind of message arrived. */
async function startSink() {
  const events: Array<{ at: number; kind: string; text: string }> = [];
  let ts = 1;
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const at = performance.now();
      const url = request.url ?? '';
      if (url.startsWith('/api/')) {
        const args = Object.fromEntries(new URLSearchParams(body));
        events.push({ at, kind: `slack:${url.slice(5)}`, text: String(args.text ?? '') });
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, channel: args.channel, ts: args.ts ?? `${ts++}.0001` }));
        return;
      }
      events.push({ at, kind: url.slice(1), text: body });
      response.writeHead(200).end();
    });
  });
  const port = await listen(server);
  return { port, events, close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))) };
}

const PACKAGES: Record<string, string> = {
  prometheus: 'prometheus',
  'prometheus-blackbox-exporter': 'prometheus-blackbox-exporter',
  'prometheus-alertmanager': 'prometheus-alertmanager',
};

/** The Prometheus stack's binaries, installing the Debian packages when missing and root; otherwise why not. */
function prometheusStack(): { ok: true } | { ok: false; why: string } {
  const missing = Object.keys(PACKAGES).filter((binary) => !existsSync(`/usr/bin/${binary}`));
  if (missing.length === 0) return { ok: true };
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return { ok: false, why: `${missing.join(', ')} missing; install with: sudo apt-get install ${missing.map((m) => PACKAGES[m]).join(' ')}` };
  console.log(`installing ${missing.join(', ')} (apt-get) ...`);
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing.map((m) => PACKAGES[m]!)], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
    timeout: 180_000,
  });
  const still = missing.filter((binary) => !existsSync(`/usr/bin/${binary}`));
  if (still.length === 0) return { ok: true };
  const reason = (install.stderr || install.stdout || install.error?.message || '').trim().split('\n').slice(-2).join(' ');
  return { ok: false, why: `apt-get install ${still.join(' ')} failed: ${reason}` };
}

/** blackbox_exporter → Prometheus (rule: probe_success == 0 for the same threshold) → Alertmanager → webhook on the sink. */
async function startPrometheusStack(dir: string, targetPort: number, sinkPort: number): Promise<ChildProcess[]> {
  const ports = { blackbox: 19115, prometheus: 19090, alertmanager: 19093, cluster: 19094 };
  writeFileSync(path.join(dir, 'blackbox.yml'), 'modules:\n  http_2xx:\n    prober: http\n    timeout: 1s\n');
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    `global: { scrape_interval: ${INTERVAL_S}s, evaluation_interval: ${EVALUATION_MS}ms }
rule_files: [rules.yml]
alerting: { alertmanagers: [{ static_configs: [{ targets: ['127.0.0.1:${ports.alertmanager}'] }] }] }
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params: { module: [http_2xx] }
    static_configs: [{ targets: ['http://127.0.0.1:${targetPort}/'] }]
    relabel_configs:
      - { source_labels: [__address__], target_label: __param_target }
      - { target_label: __address__, replacement: '127.0.0.1:${ports.blackbox}' }
`,
  );
  // "for" = (threshold - 1) intervals: the second failed scrape in a row fires, like Vigil's failureThreshold 2.
  writeFileSync(path.join(dir, 'rules.yml'), `groups:\n  - name: bench\n    rules:\n      - alert: TargetDown\n        expr: probe_success == 0\n        for: ${(FAILURE_THRESHOLD - 1) * INTERVAL_S}s\n`);
  writeFileSync(
    path.join(dir, 'alertmanager.yml'),
    `route: { receiver: sink, group_wait: 0s, group_interval: 1s, repeat_interval: 1h }
receivers: [{ name: sink, webhook_configs: [{ url: 'http://127.0.0.1:${sinkPort}/alertmanager', send_resolved: true }] }]
`,
  );
  const run = (binary: string, args: string[]) => spawn(`/usr/bin/${binary}`, args, { stdio: 'ignore' });
  const children = [
    run('prometheus-blackbox-exporter', [`--config.file=${path.join(dir, 'blackbox.yml')}`, `--web.listen-address=127.0.0.1:${ports.blackbox}`]),
    run('prometheus-alertmanager', [`--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${path.join(dir, 'am')}`, `--web.listen-address=127.0.0.1:${ports.alertmanager}`, `--cluster.listen-address=`]),
    run('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${ports.prometheus}`, '--rules.alert.resend-delay=1s']),
  ];
  for (const [name, port] of [['prometheus', ports.prometheus], ['alertmanager', ports.alertmanager]] as const) {
    const deadline = Date.now() + 30_000;
    while (!(await fetch(`http://127.0.0.1:${port}/-/ready`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error(`${name} did not become ready`);
      await sleep(200);
    }
  }
  return children;
}

async function latencyBench(dir: string): Promise<void> {
  const target = await startTarget();
  const sink = await startSink();
  const stack = prometheusStack();
  if (!stack.ok) console.log(`Prometheus stack skipped: ${stack.why}`);
  let withPrometheus = stack.ok;
  const vigilMs: number[] = [];
  const decidingMs: number[] = [];
  const prometheusMs: number[] = [];
  const perTrial: string[] = [];
  try {
    // Each trial starts both sides afresh: where a probe run, a scrape and a rule evaluation fall within their second
    // is set at start, and decides much of either side's latency; one start would measure one such alignment.
    for (let trial = 0; trial < TRIALS; trial++) {
      const outages = Math.ceil(OUTAGES / TRIALS);
      const figures = await latencyTrial(path.join(dir, `trial-${trial}`), target, sink, withPrometheus, outages);
      withPrometheus &&= figures.prometheusMs.length > 0;
      vigilMs.push(...figures.vigilMs);
      decidingMs.push(...figures.decidingMs);
      prometheusMs.push(...figures.prometheusMs);
      perTrial.push(`trial ${trial + 1}: Vigil p50 ${seconds(percentile(figures.vigilMs, 50))}, Prometheus+AM p50 ${withPrometheus ? seconds(percentile(figures.prometheusMs, 50)) : 'n/a'}`);
    }
  } finally {
    await target.close();
    await sink.close();
  }
  console.log(`\nFault → notification, ${vigilMs.length} outages in ${TRIALS} trials (both sides started afresh for each); probe every ${INTERVAL_S} s, failure threshold ${FAILURE_THRESHOLD} (the deciding result comes ~${seconds(BOUND_MS - (INTERVAL_S * 1000) / 2)} after the fault on average)`);
  console.log('settings, equal on both sides:');
  console.log(`  Vigil:           probe every ${INTERVAL_S} s (timeout 1 s), failureThreshold ${FAILURE_THRESHOLD}, rule evaluation every ${EVALUATION_MS} ms and at once on a deciding result (push), outbox poll ${EVALUATION_MS} ms and at once after an evaluation, groupWait 0`);
  console.log(`  Prometheus + AM: scrape (blackbox probe) every ${INTERVAL_S} s (timeout 1 s), for ${(FAILURE_THRESHOLD - 1) * INTERVAL_S} s (= ${FAILURE_THRESHOLD} failed scrapes), rule evaluation every ${EVALUATION_MS} ms, resend delay 1 s, group_wait 0, group_interval 1 s`);
  for (const line of perTrial) console.log(`  ${line}`);
  console.log('                              p50       p95       max      n');
  const row = (name: string, xs: number[]) =>
    console.log(`${name.padEnd(29)} ${xs.length ? [50, 95, 100].map((p) => seconds(percentile(xs, p)).padEnd(9)).join(' ') : 'n/a'.padEnd(29)} ${xs.length}`);
  row('Vigil: fault → Slack', vigilMs);
  if (withPrometheus) row('Prometheus+AM: fault → webhook', prometheusMs);
  else console.log('Prometheus+AM → webhook       not run (see above)');
  row('Vigil: deciding result → Slack', decidingMs);
  if (withPrometheus && vigilMs.length && prometheusMs.length) {
    const ratio = (p: number) => (percentile(vigilMs, p) / percentile(prometheusMs, p)).toFixed(2);
    console.log(`Vigil ÷ Prometheus+AM: p50 ${ratio(50)}×, p95 ${ratio(95)}× (target ≤ 0.7× at p50)`);
  }
  if (decidingMs.length) console.log(`Vigil deciding result → sent p95 ${(percentile(decidingMs, 95)).toFixed(0)} ms (target ≤ 100 ms)`);
  if (vigilMs.length) {
    printTable('Alerts, Vigil against Prometheus + Alertmanager at equal settings', [
      {
        measure: `target down → notification p50, ${INTERVAL_S} s probes, threshold ${FAILURE_THRESHOLD}`,
        anchor: 'Prometheus + blackbox + Alertmanager',
        anchorValue: withPrometheus && prometheusMs.length ? percentile(prometheusMs, 50) / 1000 : undefined,
        vigil: 'vigil (push)',
        vigilValue: percentile(vigilMs, 50) / 1000,
        unit: 's',
        target: 0.7,
        lowerIsBetter: true,
      },
      ...(decidingMs.length
        ? [{ measure: 'deciding result → notification sent, p95', anchorValue: undefined, vigil: 'vigil (push)', vigilValue: percentile(decidingMs, 95) / 1000, unit: 's', targetText: '≤ 0.1 s', lowerIsBetter: true }]
        : []),
    ]);
  }
}

type Target = Awaited<ReturnType<typeof startTarget>>;
type Sink = Awaited<ReturnType<typeof startSink>>;

/** One trial: the Prometheus stack and Vigil started afresh, `outages` outages at random points of the interval. */
async function latencyTrial(dir: string, target: Target, sink: Sink, withPrometheus: boolean, outages: number) {
  mkdirSync(dir);
  const children = withPrometheus ? await startPrometheusStack(dir, target.port, sink.port).catch((error: Error) => (console.log(`Prometheus stack not started: ${error.message}`), [])) : [];
  withPrometheus = children.length > 0;
  const config = parseConfig(
    {
      server: { port: 0 },
      database: { dataDir: path.join(dir, 'data') },
      logging: { level: 'silent' },
      slack: { token: 'xoxb-bench', apiUrl: `http://127.0.0.1:${sink.port}/api/` },
      probes: [httpProbe({ name: 'target', url: `http://127.0.0.1:${target.port}/`, schedule: `${INTERVAL_S}s`, jitter: '0s', timeout: '1s', failureThreshold: FAILURE_THRESHOLD })],
      alerts: {
        evaluationInterval: `${EVALUATION_MS}ms`,
        outbox: { pollInterval: `${EVALUATION_MS}ms` },
        slackMinInterval: '0ms',
        // Outages one after another are flapping by design here; measure every one instead of pausing notices.
        flapping: { changes: 1000, window: '1m' },
        rules: [{ name: 'target-down', kind: 'probe', probe: 'target', labels: { service: 'target', severity: 'critical' } }],
        receivers: { chat: { type: 'slack', channel: '#bench' } },
        routes: [{ receivers: ['chat'] }],
      },
    },
    'bench config',
  );
  const vigil = await startVigil({ config, roles: ['probes', 'alerts'], modules: [probesModule, alertsModule] });
  const vigilMs: number[] = [];
  const decidingMs: number[] = [];
  const prometheusMs: number[] = [];
  const waitFor = async (check: () => boolean, ms: number) => {
    const deadline = performance.now() + ms;
    while (!check() && performance.now() < deadline) await sleep(20);
    return check();
  };
  const count = (predicate: (event: { kind: string; text: string }) => boolean) => sink.events.filter(predicate).length;
  const vigilDown = (e: { kind: string; text: string }) => e.kind === 'slack:chat.postMessage' && e.text.startsWith('[CRITICAL] FIRING');
  const vigilUp = (e: { kind: string; text: string }) => e.kind === 'slack:chat.postMessage' && e.text.startsWith('RESOLVED:');
  const amFiring = (e: { kind: string; text: string }) => e.kind === 'alertmanager' && JSON.parse(e.text).status === 'firing';
  const amResolved = (e: { kind: string; text: string }) => e.kind === 'alertmanager' && JSON.parse(e.text).status === 'resolved';
  try {
    await sleep(3000);
    for (let outage = 0; outage < outages; outage++) {
      const before = { down: count(vigilDown), up: count(vigilUp), firing: count(amFiring), resolved: count(amResolved) };
      // Start each outage at a random point of the probe interval, as real outages do.
      await sleep(Math.random() * INTERVAL_S * 1000);
      const downAt = performance.now();
      target.set(false);
      const seen = await waitFor(() => count(vigilDown) > before.down && (!withPrometheus || count(amFiring) > before.firing), 20_000);
      const firstAfter = (predicate: (event: { kind: string; text: string }) => boolean) => sink.events.find((event) => event.at >= downAt && predicate(event));
      const vigilEvent = firstAfter(vigilDown);
      if (vigilEvent) vigilMs.push(vigilEvent.at - downAt);
      // The deciding result: Vigil's failureThreshold-th failed run after the fault.
      const deciding = target.vigilAnswers.filter((answer) => answer.at >= downAt && !answer.up)[FAILURE_THRESHOLD - 1];
      if (vigilEvent && deciding && deciding.at <= vigilEvent.at) decidingMs.push(vigilEvent.at - deciding.at);
      const amEvent = firstAfter(amFiring);
      if (amEvent) prometheusMs.push(amEvent.at - downAt);
      if (!seen) console.log(`outage ${outage + 1}: not every alert arrived within 20 s`);
      target.set(true);
      await waitFor(() => count(vigilUp) > before.up && (!withPrometheus || count(amResolved) > before.resolved), 30_000);
    }
  } finally {
    await vigil.stop();
    await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve).kill('SIGTERM') : resolve(undefined)))));
  }
  return { vigilMs, decidingMs, prometheusMs };
}

/** The isolation runs have no probes (the bench sets the observations), so no push: a short tick instead. */
const ISOLATION_EVALUATION_MS = 250;

/** One alert service on PGlite with the system clock, fed by a set of observations the bench flips. */
async function isolatedService(dir: string, name: string, alerts: Record<string, unknown>, slackUrl: string) {
  const config = parseConfig({ database: { dataDir: path.join(dir, name) }, slack: { token: 'xoxb-bench', apiUrl: slackUrl }, alerts: { evaluationInterval: `${ISOLATION_EVALUATION_MS}ms`, outbox: { pollInterval: `${ISOLATION_EVALUATION_MS}ms` }, slackMinInterval: '0ms', ...alerts } }, 'bench config');
  const db = await openDb(config.database);
  await migrate(db, alertsMigrations);
  const active = new Map<string, { rule: string; labels: Record<string, string>; active: boolean; summary: string }>();
  const service = createAlertService({ config, db, clock: systemClock, logger: createLogger({ level: 'silent' }), registry: createRegistry(), verifyProbe: async () => ({ success: true }), source: async () => [...active.values()] });
  await service.start();
  return {
    fire: (rule: string, service: string) => active.set(rule, { rule, labels: { service, severity: 'critical' }, active: true, summary: `${rule} down` }),
    async stop() {
      await service.stop(Date.now() + 2000);
      await db.close();
    },
  };
}

/** A Slack API that never answers, or answers 429 with Retry-After for `stormS` seconds from its first call; records when each call came. */
async function startSlackTrouble(mode: { hang?: boolean; stormS?: number; retryAfterS?: number }) {
  const calls: number[] = [];
  let stormStart: number | undefined;
  let ts = 1;
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      calls.push(performance.now());
      if (mode.hang) return;
      stormStart ??= performance.now();
      if (mode.stormS !== undefined && performance.now() < stormStart + mode.stormS * 1000) {
        response.writeHead(429, { 'retry-after': String(mode.retryAfterS ?? 3), 'content-type': 'application/json' }).end('{"ok":false,"error":"ratelimited"}');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, channel: '#bench', ts: `${ts++}.0001`, messages: [] }));
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/api/`,
    calls,
    get stormStart() {
      return stormStart;
    },
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))) };
}

async function isolationBench(dir: string): Promise<void> {
  const INCIDENTS = 8;
  const sink = await startSink();
  const webhook = { type: 'webhook', url: `http://127.0.0.1:${sink.port}/webhook`, secret: 'bench-secret' };
  const hookLatency = async (name: string, trouble: 'none' | 'slack-hangs' | 'hook-runs') => {
    const slack = await startSlackTrouble({ hang: trouble === 'slack-hangs' });
    const receivers = {
      chat: { type: 'slack', channel: '#bench', timeout: '10s' },
      out: webhook,
      fixer: { type: 'restart', services: { stuck: { command: [process.execPath, '-e', 'setTimeout(() => {}, 20000)'] } }, timeout: '30s', backoff: '1s' },
    };
    const routes = [{ match: { service: 'stuck' }, receivers: ['fixer'] }, { receivers: ['chat', 'out'] }];
    const bench = await isolatedService(dir, name, { receivers, routes }, slack.url);
    const cpu = process.cpuUsage();
    if (trouble === 'hook-runs') bench.fire('stuck-down', 'stuck');
    if (trouble !== 'none') await sleep(1000);
    const ms: number[] = [];
    for (let i = 0; i < INCIDENTS; i++) {
      const before = sink.events.filter((event) => event.kind === 'webhook').length;
      const firedAt = performance.now();
      bench.fire(`${name}-${i}`, `svc-${i}`);
      while (sink.events.filter((event) => event.kind === 'webhook').length === before && performance.now() - firedAt < 30_000) await sleep(5);
      const arrived = sink.events.filter((event) => event.kind === 'webhook')[before];
      if (arrived) ms.push(arrived.at - firedAt);
    }
    const used = process.cpuUsage(cpu);
    await bench.stop();
    await slack.close();
    return { ms, cpuS: (used.user + used.system) / 1e6 };
  };
  const quiet = await hookLatency('quiet', 'none');
  const hung = await hookLatency('hung', 'slack-hangs');
  const hook = await hookLatency('hook', 'hook-runs');
  console.log(`Unrelated notification (webhook), fire → arrival (evaluation every ${ISOLATION_EVALUATION_MS} ms), ${INCIDENTS} incidents each; target: unchanged`);
  console.log('                         p50       p95       × quiet p50   CPU s');
  for (const [label, run] of [['nothing in the way', quiet], ['Slack hangs', hung], ['a 20 s restart hook runs', hook]] as const) {
    const p50 = run.ms.length ? percentile(run.ms, 50) : undefined;
    const ratio = p50 !== undefined && quiet.ms.length ? (p50 / percentile(quiet.ms, 50)).toFixed(2) : 'n/a';
    console.log(`${label.padEnd(24)} ${seconds(p50).padEnd(9)} ${seconds(run.ms.length ? percentile(run.ms, 95) : undefined).padEnd(9)} ${ratio.padEnd(13)} ${run.cpuS.toFixed(2)}`);
  }

  const STORM_S = 30;
  const RETRY_AFTER_S = 3;
  const slack = await startSlackTrouble({ stormS: STORM_S, retryAfterS: RETRY_AFTER_S });
  const bench = await isolatedService(dir, 'storm', { receivers: { chat: { type: 'slack', channel: '#bench' } }, routes: [{ receivers: ['chat'] }], outbox: { pollInterval: `${ISOLATION_EVALUATION_MS}ms`, retryInitial: '1s', retryMax: '5s' } }, slack.url);
  for (let i = 0; i < 10; i++) bench.fire(`storm-${i}`, `svc-${i}`);
  const deadline = Date.now() + 120_000;
  // Through the storm, and ten seconds after it for the backlog to go out.
  while ((slack.stormStart === undefined || performance.now() < slack.stormStart + STORM_S * 1000 + 10_000) && Date.now() < deadline) await sleep(100);
  await bench.stop();
  await slack.close();
  const stormStart = slack.stormStart ?? 0;
  const during = slack.calls.filter((at) => at >= stormStart && at < stormStart + STORM_S * 1000);
  const allowed = Math.ceil(STORM_S / RETRY_AFTER_S);
  console.log(`Slack 429 storm, ${STORM_S} s, Retry-After ${RETRY_AFTER_S} s, 10 pending incidents: ${during.length} calls made, ${allowed} allowed (ratio ${(during.length / allowed).toFixed(2)}); ${slack.calls.length - during.length} calls outside the storm`);
  await sink.close();
}

async function throughputBench(dir: string): Promise<void> {
  const sink = await startSink();
  for (const receiver of ['webhook', 'slack'] as const) {
    const config = parseConfig(
      {
        database: { dataDir: path.join(dir, `throughput-${receiver}`) },
        slack: { token: 'xoxb-bench', apiUrl: `http://127.0.0.1:${sink.port}/api/` },
        alerts: {
          evaluationInterval: '1h',
          outbox: { pollInterval: '100ms' },
          slackMinInterval: '0ms',
          receivers: { out: receiver === 'webhook' ? { type: 'webhook', url: `http://127.0.0.1:${sink.port}/webhook`, secret: 'bench-secret' } : { type: 'slack', channel: '#bench' } },
          routes: [{ receivers: ['out'] }],
        },
      },
      'bench config',
    );
    const db = await openDb(config.database);
    await migrate(db, alertsMigrations);
    const observations = Array.from({ length: NOTIFICATIONS }, (_, i) => ({ rule: `rule-${i}`, labels: { service: `svc-${i}` }, active: true, summary: `bench ${i}` }));
    const service = createAlertService({ config, db, clock: systemClock, logger: createLogger({ level: 'silent' }), registry: createRegistry(), verifyProbe: async () => ({ success: true }), source: async () => observations });
    const kind = receiver === 'webhook' ? 'webhook' : 'slack:chat.postMessage';
    const before = sink.events.filter((event) => event.kind === kind).length;
    const started = performance.now();
    await service.start();
    while (sink.events.filter((event) => event.kind === kind).length - before < NOTIFICATIONS && performance.now() - started < 120_000) await sleep(5);
    const delivered = sink.events.filter((event) => event.kind === kind).length - before;
    const elapsed = performance.now() - started;
    await service.stop(Date.now() + 5000);
    await db.close();
    console.log(`outbox → ${receiver.padEnd(7)}: ${delivered} incidents evaluated, queued and delivered in ${seconds(elapsed)} → ${(delivered / (elapsed / 1000)).toFixed(0)} notifications/s (embedded PGlite, one receiver)`);
  }
  await sink.close();
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-alerts-'));
try {
  await latencyBench(dir);
  console.log('');
  await isolationBench(dir);
  console.log('');
  await throughputBench(dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
