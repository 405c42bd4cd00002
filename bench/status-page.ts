// Requests per second and CPU seconds per 1,000 requests for `/` and `/api/v2/summary.json` (10 components, 90 days
// of history, an incident and a maintenance), Vigil against nginx serving the exported copy of the same page, both
// pinned to the same single core, wrk on another; and the page weight. A bare `node:http` server answering the same
// bytes, pinned alike, is the ceiling of any Node server: its ratio to nginx says how much of the gap is Vigil's own.
// Prints figures and ratios; never passes or fails on time. Usage: node bench/status-page.ts [--seconds 10] [--connections 16] [--core 1] [--trials 3]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { alertsModule } from '../alerts/index.ts';
import { parseConfig } from '../app/config.ts';
import { component, http } from '../app/index.ts';
import { DAY, systemClock } from '../core/clock.ts';
import { startVigil } from '../core/lifecycle/start.ts';
import { probesModule } from '../probes/index.ts';
import { recordResults } from '../probes/results.ts';
import { statusPageModule } from '../status-page/index.ts';
import { freePort } from '../test/support/http-target.ts';
import { LAUNCHER_ENV, LAUNCHER_FLAGS } from './support/vigil-process.ts';
import { startNginx } from '../test/support/nginx.ts';
import { benchOptions, printTable, type Row } from './support/measure.ts';

// serve (internal): the Vigil side, started pinned to the core in its own process.
const values = benchOptions({ seconds: '10', connections: '16', core: '1', trials: '3', serve: '' });
const TOKEN = 'bench-admin-token';
const COMPONENTS = 10;

/** The Vigil under test: 10 components over 10 probes with 90 days of rollups, an incident and a maintenance; exports a copy to `dir`. */
async function serve(dir: string): Promise<void> {
  const probes = Array.from({ length: COMPONENTS }, (_, i) => `probe-${i}`);
  const config = parseConfig({
    server: { host: '127.0.0.1', port: 0, adminToken: TOKEN, publicUrl: 'https://status.example.com' },
    database: { dataDir: path.join(dir, 'data') },
    logging: { level: 'silent' },
    processing: { storageDir: path.join(dir, 'storage') },
    probes: probes.map((name) => http({ name, url: 'http://127.0.0.1:9/', schedule: '1m' })),
    statusPage: {
      components: probes.map((probe, i) => component({ name: `Service ${i + 1}`, group: i < 4 ? 'Video' : undefined, description: `What service ${i + 1} does for users`, from: { probes: [probe] } })),
      rateLimit: 1_000_000_000,
      export: { dir: path.join(dir, 'copy'), every: '1s' },
    },
  });
  const vigil = await startVigil({ config, roles: ['api'], modules: [probesModule, alertsModule, statusPageModule] });
  const now = systemClock.now();
  const batch = probes.flatMap((probe, p) =>
    Array.from({ length: 90 * 4 }, (_, i) => ({
      result: { probe, kind: 'http', location: 'local', success: (i + p) % 97 !== 0, startedAt: now - 90 * DAY + i * 6 * 3_600_000, durationMs: 10 },
      thresholds: { failureThreshold: 1, successThreshold: 1, quorum: 1, labels: {}, silentAfterMs: 365 * DAY },
    })),
  );
  for (let i = 0; i < batch.length; i += 500) await recordResults(vigil.db, batch.slice(i, i + 500));
  const adminCall = (route: string, body: unknown) =>
    fetch(`${vigil.url}/admin/api/v1/status${route}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await adminCall('/incidents', { name: 'Uploads are slow', body: 'We are looking into slow uploads.', components: { 'service-1': 'degraded_performance' } });
  await adminCall('/maintenances', { title: 'Database upgrade', body: 'Uploads pause.', components: ['service-2'], startsAt: now + 3_600_000, duration: '1h', timeZone: 'Europe/Paris', author: 'bench' });
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await adminCall('/refresh', {});
  console.log(vigil.url);
  process.on('SIGTERM', () => void vigil.stop().then(() => process.exit(0)));
}

/** The URL a side prints on its first line once it listens. */
function urlPrintedBy(side: ChildProcess, name: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    side.stdout!.on('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    side.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function wrk(url: string, seconds: number): { requests: number; seconds: number } {
  const run = spawnSync('taskset', ['-c', '0', 'wrk', '-t1', `-c${values.connections}`, `-d${seconds}s`, '-H', 'Accept-Encoding: gzip', url], { encoding: 'utf8' });
  const requests = Number(/(\d+) requests in/.exec(run.stdout)?.[1] ?? NaN);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(run.stdout)?.[1];
  if (non2xx) throw new Error(`${url}: ${non2xx} answers were not 2xx`);
  return { requests, seconds };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-status-'));
  let child: ChildProcess | undefined;
  let bare: ChildProcess | undefined;
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  try {
    // Both Node sides run with the flags and malloc settings of the `vigil` executable.
    child = spawn('taskset', ['-c', values.core, process.execPath, ...LAUNCHER_FLAGS, import.meta.filename, '--serve', dir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...LAUNCHER_ENV } });
    const vigilUrl = await urlPrintedBy(child, 'the Vigil side');
    // /healthz is the small-GET row of bench/cost.ts; nginx's small GET is the exported status.json (about 200 bytes).
    const routes = [
      { name: '/', vigil: '/', nginx: '/' },
      { name: '/api/v2/summary.json', vigil: '/api/v2/summary.json', nginx: '/api/v2/summary.json' },
      { name: 'small GET', vigil: '/healthz', nginx: '/api/v2/status.json' },
    ];
    bare = spawn('taskset', ['-c', values.core, process.execPath, ...LAUNCHER_FLAGS, path.join(import.meta.dirname, 'support/fixed-bytes-server.ts'), vigilUrl, ...routes.map((route) => route.vigil)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...LAUNCHER_ENV } });
    const bareUrl = await urlPrintedBy(bare, 'the node:http side');
    nginx = await startNginx(path.join(dir, 'copy'), await freePort(), { cpu: values.core });
    const sides = [
      { name: 'vigil', url: vigilUrl, pid: () => child!.pid! },
      { name: 'node', url: bareUrl, pid: () => bare!.pid! },
      { name: 'nginx', url: nginx.url, pid: () => nginx!.workerPid() },
    ];

    const html = await fetch(`${vigilUrl}/`, { headers: { 'accept-encoding': 'identity' } }).then((r) => r.text());
    const css = await Promise.all([...html.matchAll(/href="(\/status\/[^"]+\.css)"/g)].map((m) => fetch(`${vigilUrl}${m[1]}`).then((r) => r.text())));
    const rawBytes = Buffer.byteLength(html) + css.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    const gzipBytes = gzipSync(html, { level: 9 }).length + css.reduce((sum, text) => sum + gzipSync(text, { level: 9 }).length, 0);
    console.log(`page weight (10 components, 90 days, HTML + CSS): ${rawBytes} bytes raw, ${gzipBytes} bytes gzip as served (target ≤ 30720)`);

    const trials = Number(values.trials);
    console.log(`\nwrk -t1 -c${values.connections} -d${values.seconds}s (Accept-Encoding: gzip); each server pinned to core ${values.core}, wrk to core 0; ${trials} interleaved trials, medians`);
    console.log(`load average before: ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
    const samples = new Map<string, Array<{ rps: number; cpu: number }>>();
    for (let trial = 0; trial < trials; trial++) {
      for (const route of routes) {
        for (const side of sides) {
          const url = `${side.url}${side.name === 'nginx' ? route.nginx : route.vigil}`;
          if (trial === 0) wrk(url, 2); // warm-up (JIT, connections)
          const before = cpuSeconds(side.pid());
          const { requests, seconds } = wrk(url, Number(values.seconds));
          const cpu = cpuSeconds(side.pid()) - before;
          const key = `${route.name} ${side.name}`;
          samples.set(key, [...(samples.get(key) ?? []), { rps: requests / seconds, cpu: (cpu / requests) * 1000 }]);
        }
      }
    }
    const median = (numbers: number[]) => numbers.sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;
    console.log('path                       side   req/s     CPU s/1k req');
    const rows: Row[] = [];
    for (const route of routes) {
      const figures: Record<string, { rps: number; cpu: number }> = {};
      for (const side of sides) {
        const runs = samples.get(`${route.name} ${side.name}`)!;
        figures[side.name] = { rps: median(runs.map((run) => run.rps)), cpu: median(runs.map((run) => run.cpu)) };
        const label = `${route.name} (${side.name === 'nginx' ? route.nginx : route.vigil})`;
        console.log(`${label.padEnd(26)} ${side.name.padEnd(6)} ${figures[side.name]!.rps.toFixed(0).padStart(8)}  ${figures[side.name]!.cpu.toFixed(4).padStart(10)}`);
      }
      const { vigil, node, nginx: anchor } = figures as Record<'vigil' | 'node' | 'nginx', { rps: number; cpu: number }>;
      console.log(`${route.name.padEnd(26)} ratio  vigil/nginx req/s ${(vigil.rps / anchor.rps).toFixed(2)}× (target ≥ 0.5×), CPU per request ${(vigil.cpu / anchor.cpu).toFixed(2)}× nginx's`);
      console.log(`${route.name.padEnd(26)} ceiling bare node:http/nginx req/s ${(node.rps / anchor.rps).toFixed(2)}×, CPU per request ${(node.cpu / anchor.cpu).toFixed(2)}× nginx's; vigil/node:http req/s ${(vigil.rps / node.rps).toFixed(2)}×`);
      // The small GET's row is bench/cost.ts's (wrk -c32 against nginx's 20 KB page); the status page's own paths are these.
      if (route.name !== 'small GET') {
        rows.push({ measure: `status page ${route.name}, same bytes, one core`, anchor: 'nginx serving the exported copy', anchorValue: anchor.rps, vigil: route.vigil, vigilValue: vigil.rps, unit: 'req/s', target: 0.5, lowerIsBetter: false });
      }
    }
    printTable('Status page, Vigil against nginx serving the same bytes', rows);
    console.log(`load average after: ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  } finally {
    await nginx?.stop();
    for (const side of [child, bare]) {
      if (side && side.exitCode === null) {
        side.kill('SIGTERM');
        await new Promise((resolve) => side.once('exit', resolve));
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.serve) await serve(values.serve);
else await main();
