// Probe throughput, schedule lateness and memory against a local keep-alive HTTP server, and Prometheus
// blackbox_exporter against the same target. Prints figures and ratios; never passes or fails on time.
// Usage: node bench/probes.ts [--seconds 10] [--window 20] [--scales 1000,5000,20000] [--store postgres|pglite]
//   --seconds  how long each throughput measurement runs
//   --leak-runs  timed-out runs per kind against a black-hole server (sockets and descriptors counted after them)
//   --window   how many seconds of each scale's 60 s interval are measured (60 covers whole intervals; the default 20
//              measures a third of one, which the per-name offsets fill evenly, to keep the run under ~4 minutes)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock, systemClock } from '../core/clock.ts';
import { Secret } from '../core/config/index.ts';
import { parseConfig } from '../app/config.ts';
import { migrate, openDb, type Db } from '../core/db/index.ts';
import { createLogger } from '../core/telemetry/logger.ts';
import { createRegistry } from '../core/telemetry/metrics.ts';
import { amqp, dns, http, postgres, redis, slack, smtp, tcp } from '../probes/kinds/index.ts';
import type { AnyProbeDefinition } from '../probes/define.ts';
import { loadProbes, type LoadedProbe } from '../probes/loader.ts';
import { probeMetrics } from '../probes/metrics.ts';
import { probesMigrations } from '../probes/migrations.ts';
import { createRecorder } from '../probes/record.ts';
import { runProbe, type RunEnvironment } from '../probes/runner.ts';
import { createScheduler } from '../probes/scheduler.ts';
import dgram from 'node:dgram';
import net from 'node:net';
import { readdirSync, readlinkSync } from 'node:fs';
import { timetable } from '../probes/schedule.ts';
import { createPostgresDatabase } from '../test/support/backends.ts';
import { benchOptions } from './support/measure.ts';
import { LAUNCHER_COMMAND, LAUNCHER_ENV, LAUNCHER_FLAGS } from './support/vigil-process.ts';

// scale-child and target (internal): one scale in a child process, so each RSS figure is that scale's alone.
// store: where the scale runs keep claims and results, postgres (a temporary database, when the server answers) or pglite.
const values = benchOptions({ seconds: '10', window: '20', scales: '1000,5000,20000', 'leak-runs': '1000', starvation: '20', 'scale-child': '', target: '', store: 'postgres' });
const SECONDS = Number(values.seconds);
const WINDOW_MS = Number(values.window) * 1000;
const SCALES = values.scales.split(',').map(Number);
const INTERVAL_MS = 60_000;
const CONCURRENCY = 64;
const TICKS_PER_SECOND = 100;

const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-probes-'));
const logger = createLogger({ level: 'silent' });
const config = parseConfig({ logging: { level: 'silent' } });

/** The target: a keep-alive HTTP server in its own process, so it does not share the probes' core. */
async function startTarget(): Promise<{ url: string; child: ChildProcess }> {
  const script = `const s = require('node:http').createServer((q, r) => r.end('ok')); s.keepAliveTimeout = 60000;
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { url: `http://127.0.0.1:${port}/`, child };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function openStore(name: string, url?: string): Promise<Db> {
  const db = await openDb({ ...config.database, dataDir: path.join(tempDir, name), ...(url ? { url: new Secret(url) } : {}) });
  await migrate(db, probesMigrations);
  return db;
}

/** A temporary PostgreSQL database for the scale runs, or undefined (with the reason printed) to use PGlite. */
async function temporaryPostgres(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  if (values.store !== 'postgres') return undefined;
  try {
    return await createPostgresDatabase();
  } catch (error) {
    console.log(`PostgreSQL unavailable (${(error as Error).message}); the scale runs use PGlite`);
    return undefined;
  }
}

function environment(db: Db): RunEnvironment {
  return { clock: systemClock, location: 'bench', publicUrl: 'http://127.0.0.1:1', config, db, logger };
}

/** Runs one probe back to back from CONCURRENCY loops for SECONDS; runs per wall second and per CPU second of this process. */
async function throughput(loaded: LoadedProbe, db: Db, store: boolean): Promise<{ perSecond: number; perCpuSecond: number; failures: number }> {
  const recorder = createRecorder({ db, metrics: probeMetrics(createRegistry()), logger });
  const env = environment(db);
  const deadline = performance.now() + SECONDS * 1000;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let runs = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const run = await runProbe(loaded.definition, loaded.kind, env);
        if (store) await recorder.record(loaded, run);
        runs += 1;
        if (!run.result.success) failures += 1;
      }
    }),
  );
  await recorder.idle();
  const wall = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { perSecond: runs / wall, perCpuSecond: runs / ((cpu.user + cpu.system) / 1e6), failures };
}

/** `count` probes on a 60 s interval through the real scheduler and store; lateness of every run started in the window. */
async function scale(count: number, url: string, storeUrl: string | undefined): Promise<void> {
  const db = await openStore(`scale-${count}`, storeUrl);
  if (storeUrl) await db.query('truncate probes_results, probes_location_status, probes_status, probes_uptime_hourly, probes_claims');
  const registry = createRegistry();
  const metrics = probeMetrics(registry);
  const recorder = createRecorder({ db, metrics, logger });
  const built = performance.now();
  const { probes } = loadProbes(Array.from({ length: count }, (_, i) => http({ name: `bench-${i}`, url, schedule: '60s', timeout: '5s' })));
  const buildMs = performance.now() - built;
  const timetables = new Map(probes.map(({ definition }) => [definition.name, timetable(definition.name, definition.schedule)]));
  const lateness: number[] = [];
  let failures = 0;
  const scheduler = createScheduler({
    probes,
    environment: environment(db),
    db,
    metrics,
    record: async (loaded, run) => {
      // The nearest slot: a timer may fire a millisecond early, which shows as -1 ms rather than as a whole interval late.
      const slot = timetables.get(run.result.probe)!.next(run.result.startedAt - INTERVAL_MS / 2);
      lateness.push(run.result.startedAt - slot);
      if (!run.result.success) failures += 1;
      await recorder.record(loaded, run);
    },
  });
  const storeBefore = await storeBytes(db);
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 250);
  await scheduler.start!();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  await scheduler.stop!(Date.now() + 10_000);
  await recorder.idle();
  clearInterval(sampler);
  const growth = ((await storeBytes(db)) - storeBefore) / Math.max(1, lateness.length / 1000);
  const sorted = [...lateness].sort((a, b) => a - b);
  const expected = Math.round((count * WINDOW_MS) / INTERVAL_MS);
  console.log(
    `${String(count).padStart(6)} probes / 60 s: ${String(lateness.length).padStart(6)} runs in ${WINDOW_MS / 1000} s (expected ≈${expected}, ${failures} failed); ` +
      `lateness p50 ${percentile(sorted, 0.5).toFixed(0)} ms, p99 ${percentile(sorted, 0.99).toFixed(0)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(0)} ms; ` +
      `RSS peak ${mb(rssPeak)} (${mb(rssBefore)} before start, store open; target < 400 MB); store growth ${(growth / 1024).toFixed(0)} KB per 1,000 runs; ` +
      `definitions built in ${buildMs.toFixed(0)} ms`,
  );
  await db.close();
}

/** Bytes on disk of the probes tables and their indexes. */
async function storeBytes(db: Db): Promise<number> {
  const [row] = await db.query<{ bytes: string | number }>(`select coalesce(sum(pg_total_relation_size(oid)), 0) as bytes from pg_class where relname like 'probes\\_%' and relkind = 'r'`);
  return Number(row!.bytes);
}

/** Open file descriptors of this process, and how many are sockets. */
function descriptors(): { fds: number; sockets: number } {
  const fds = readdirSync('/proc/self/fd');
  const sockets = fds.filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
  return { fds: fds.length, sockets };
}

/** A TCP server that accepts and never answers, and a UDP socket that never answers, in this process. */
async function blackHoles(): Promise<{ tcpPort: number; udpPort: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  return {
    tcpPort: (server.address() as net.AddressInfo).port,
    udpPort: udp.address().port,
    async close() {
      for (const socket of sockets) socket.destroy();
      udp.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** LEAK_RUNS timed-out runs of each network kind against the black holes; descriptors before, and after the releases settle. */
async function leaks(db: Db): Promise<void> {
  const runs = Number(values['leak-runs']);
  const holes = await blackHoles();
  const common = { timeout: '100ms' };
  const kinds: Array<[string, AnyProbeDefinition]> = [
    ['http', http({ name: 'leak-http', url: `http://127.0.0.1:${holes.tcpPort}/`, ...common })],
    ['tcp', tcp({ name: 'leak-tcp', host: '127.0.0.1', port: holes.tcpPort, expectContains: 'x', ...common })],
    ['dns', dns({ name: 'leak-dns', query: 'leak.test', server: `127.0.0.1:${holes.udpPort}`, ...common })],
    ['postgres', postgres({ name: 'leak-postgres', url: `postgres://u:p@127.0.0.1:${holes.tcpPort}/d`, ...common })],
    ['redis', redis({ name: 'leak-redis', url: `redis://127.0.0.1:${holes.tcpPort}`, ...common })],
    ['amqp', amqp({ name: 'leak-amqp', url: `amqp://g:g@127.0.0.1:${holes.tcpPort}`, ...common })],
    ['smtp', smtp({ name: 'leak-smtp', url: `smtp://127.0.0.1:${holes.tcpPort}`, ...common })],
    ['slack', slack({ name: 'leak-slack', token: 'xoxb-bench', apiUrl: `http://127.0.0.1:${holes.tcpPort}/api/`, ...common })],
  ];
  console.log(`descriptors after ${runs} timed-out runs per kind (100 ms timeout, 50 at once, black-hole server; target: back to the baseline):`);
  try {
    for (const [kind, definition] of kinds) {
      const [loaded] = loadProbes([definition]).probes;
      const before = descriptors();
      const cpuBefore = process.cpuUsage();
      let done = 0;
      let succeeded = 0;
      await Promise.all(Array.from({ length: 50 }, async () => {
        while (done < runs) {
          done += 1;
          if ((await runProbe(loaded!.definition, loaded!.kind, environment(db))).result.success) succeeded += 1;
        }
      }));
      const peak = descriptors();
      const settleUntil = performance.now() + 5000;
      let after = descriptors();
      while ((after.sockets > before.sockets || after.fds > before.fds) && performance.now() < settleUntil) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = descriptors();
      }
      const cpu = process.cpuUsage(cpuBefore);
      console.log(
        `  ${kind.padEnd(9)} sockets ${before.sockets} → ${after.sockets} (${after.sockets - before.sockets >= 0 ? '+' : ''}${after.sockets - before.sockets}), fds ${before.fds} → ${after.fds} ` +
          `(at the end of the runs: ${peak.sockets} sockets); ${((cpu.user + cpu.system) / 1e6).toFixed(1)} CPU s${succeeded ? `; ${succeeded} runs unexpectedly succeeded` : ''}`,
      );
    }
  } finally {
    await holes.close();
  }
}

/** The starvation scenario: 200 probes on a target that never answers (3 s timeout) and 10 healthy ones, each every 1 s.
 * On the fake clock, stepped 50 ms at a time once the scheduler settled, lateness is the scheduler's own, whatever else
 * the machine runs; the real-clock figure is printed beside it. */
async function starvation(url: string, fake: boolean): Promise<void> {
  const seconds = Number(values.starvation);
  const holes = await blackHoles();
  const db = await openStore('starvation');
  const { probes } = loadProbes([
    ...Array.from({ length: 200 }, (_, i) => http({ name: `hung-${i}`, url: `http://127.0.0.1:${holes.tcpPort}/`, schedule: '1s', timeout: '3s' })),
    ...Array.from({ length: 10 }, (_, i) => http({ name: `healthy-${i}`, url, schedule: '1s', timeout: '3s' })),
  ]);
  const lateness: number[] = [];
  let healthyRuns = 0;
  let healthyFailures = 0;
  const registry = createRegistry();
  const clock = fake ? new FakeClock(Date.now()) : systemClock;
  const scheduler = createScheduler({
    probes,
    environment: { ...environment(db), clock },
    db,
    metrics: probeMetrics(registry),
    record: async (_loaded, run) => {
      if (!run.result.probe.startsWith('healthy-')) return;
      healthyRuns += 1;
      if (!run.result.success) healthyFailures += 1;
      lateness.push(run.result.startedAt - timetable(run.result.probe, { every: 1000 }).next(run.result.startedAt - 500));
    },
  });
  const cpuBefore = process.cpuUsage();
  await scheduler.start!();
  if (clock instanceof FakeClock) {
    for (let step = 0; step < seconds * 20; step++) {
      await clock.advance(50);
      await scheduler.settled();
    }
  } else {
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
  await scheduler.stop!(Date.now() + 5000);
  const cpu = process.cpuUsage(cpuBefore);
  const skipped = (await registry.getSingleMetric('vigil_probe_runs_skipped_total')!.get()).values;
  const sum = (reason: string) => skipped.filter((value) => value.labels.reason === reason).reduce((total, value) => total + value.value, 0);
  const sorted = lateness.sort((a, b) => a - b);
  console.log(
    `starvation (200 probes on a hung target + 10 healthy, every 1 s, ${seconds} s, ${fake ? 'fake clock in 50 ms steps' : 'real clock'}): healthy ran ${healthyRuns} times (expected ≈${10 * seconds}; anchor before: 40 in 30 s), ` +
      `${healthyFailures} failed; lateness p50 ${percentile(sorted, 0.5).toFixed(0)} ms, p99 ${percentile(sorted, 0.99).toFixed(0)} ms (target < 250 ms; anchor before: 8.6 s); ` +
      `skipped: ${sum('queued')} queued, ${sum('overlap')} overlap; ${((cpu.user + cpu.system) / 1e6).toFixed(1)} CPU s`,
  );
  await db.close();
  await holes.close();
}

/** blackbox_exporter from the Debian package: installed here only when missing and running as root. */
function blackboxBinary(): string | { missing: string } {
  const find = () => ['/usr/bin/prometheus-blackbox-exporter', '/usr/local/bin/blackbox_exporter'].find((candidate) => existsSync(candidate));
  const found = find();
  if (found) return found;
  if (process.getuid?.() !== 0) return { missing: 'prometheus-blackbox-exporter is not installed and this is not root, so it cannot be installed' };
  console.log('installing prometheus-blackbox-exporter (apt-get) ...');
  const install = spawnSync('apt-get', ['install', '-y', '-q', 'prometheus-blackbox-exporter'], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return find() ?? { missing: `apt-get install prometheus-blackbox-exporter failed: ${(install.stderr || install.stdout || String(install.error)).trim().split('\n').slice(-2).join(' ')}` };
}

function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Probes the target through blackbox_exporter's /probe from CONCURRENCY loops; its runs per wall second and per CPU second. */
async function blackbox(binary: string, target: string): Promise<{ perSecond: number; perCpuSecond: number } | undefined> {
  const configFile = path.join(tempDir, 'blackbox.yml');
  writeFileSync(configFile, 'modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n');
  const port = 19_115 + Math.floor(Math.random() * 500);
  const child = spawn(binary, [`--config.file=${configFile}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'], { stdio: 'ignore' });
  try {
    const probeUrl = `http://127.0.0.1:${port}/probe?module=http_2xx&target=${encodeURIComponent(target)}`;
    const ready = performance.now();
    while (!(await fetch(probeUrl).then((response) => response.ok, () => false))) {
      if (performance.now() - ready > 10_000 || child.exitCode !== null) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const cpuBefore = cpuSecondsOf(child.pid!);
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    let runs = 0;
    let failures = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const body = await (await fetch(probeUrl)).text();
          runs += 1;
          if (!/^probe_success 1$/m.test(body)) failures += 1;
        }
      }),
    );
    const wall = (performance.now() - started) / 1000;
    if (failures) console.log(`  blackbox_exporter: ${failures} of ${runs} probes failed`);
    return { perSecond: runs / wall, perCpuSecond: runs / (cpuSecondsOf(child.pid!) - cpuBefore) };
  } finally {
    child.kill('SIGTERM');
  }
}

if (values['scale-child']) {
  try {
    await scale(Number(values['scale-child']), values.target, process.env.VIGIL_BENCH_STORE_URL || undefined);
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
  process.exit(0);
}

const target = await startTarget();
try {
  console.log(`probes bench: node ${process.version}, ${os.cpus().length} cores, target ${target.url} (keep-alive server in its own process)`);
  const db = await openStore('throughput');
  const [loaded] = loadProbes([http({ name: 'bench', url: target.url, timeout: '5s' })]).probes;
  const bare = await throughput(loaded!, db, false);
  console.log(`throughput, run only (connect, request, timings, span): ${bare.perSecond.toFixed(0)} runs/s, ${bare.perCpuSecond.toFixed(0)} runs per CPU second (one core), ${bare.failures} failed`);
  const stored = await throughput(loaded!, db, true);
  console.log(`throughput, run + metrics + batched store (PGlite):  ${stored.perSecond.toFixed(0)} runs/s, ${stored.perCpuSecond.toFixed(0)} runs per CPU second (one core), ${stored.failures} failed`);
  await db.close();

  await starvation(target.url, true);
  await starvation(target.url, false);
  const leakDb = await openStore('leaks');
  await leaks(leakDb);
  await leakDb.close();

  const binary = blackboxBinary();
  if (typeof binary === 'string') {
    const measured = await blackbox(binary, target.url);
    if (measured) {
      console.log(`blackbox_exporter (${binary}) via /probe: ${measured.perSecond.toFixed(0)} runs/s, ${measured.perCpuSecond.toFixed(0)} runs per CPU second of the exporter`);
      console.log(`ratio Vigil / blackbox_exporter: ${(bare.perSecond / measured.perSecond).toFixed(2)}× runs/s, ${(bare.perCpuSecond / measured.perCpuSecond).toFixed(2)}× runs per CPU second`);
    } else {
      console.log('blackbox_exporter did not answer within 10 s; no ratio');
    }
  } else {
    console.log(`blackbox_exporter skipped: ${binary.missing}`);
  }

  const postgres = await temporaryPostgres();
  console.log(
    `scheduler at scale (real clock, ${CONCURRENCY} concurrent runs, claims and results in ${postgres ? 'PostgreSQL' : 'embedded PGlite, which runs in the same thread'}, ` +
      `${WINDOW_MS / 1000} s of each 60 s interval measured, each scale in its own process as the launcher runs it, \`${LAUNCHER_COMMAND}\`):`,
  );
  try {
    for (const count of SCALES) {
      const args = [import.meta.filename, '--scale-child', String(count), '--target', target.url, '--window', String(WINDOW_MS / 1000)];
      spawnSync(process.execPath, [...LAUNCHER_FLAGS, ...args], { stdio: 'inherit', env: { ...process.env, ...LAUNCHER_ENV, VIGIL_BENCH_STORE_URL: postgres?.url ?? '' } });
    }
  } finally {
    await postgres?.drop();
  }
} finally {
  target.child.kill('SIGTERM');
  rmSync(tempDir, { recursive: true, force: true });
}
