// What Vigil costs against what users would run instead, product against product: the `vigil` process as users run
// it (scheduler, store, metrics included) and the anchor as users run it, each pinned to core 0 while this harness
// (targets, load generators) runs on core 1; trials interleaved; CPU seconds per unit of work first, wall time beside.
// Prints one table of ratios; never passes or fails on time.
// Usage: node bench/cost.ts [--trials 3] [--window 20] [--rates 100,400] [--idle 60] [--ingest-mb 500] [--only probes,idle,get,ingest]
//        [--store embedded,postgres] (the stores the probes rows run on; postgres: a fresh database of
//        VIGIL_TEST_DATABASE_URL's server, whose processes serving Vigil's connections count on Vigil's side)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { answers, benchOptions, cpuSeconds, findBinary, median, pin, printTable, startPinned, until, type Pinned, type Row } from './support/measure.ts';
import { LAUNCHER_COMMAND, LAUNCHER_ENV, LAUNCHER_FLAGS, memoryOf } from './support/vigil-process.ts';

const values = benchOptions({ trials: '3', window: '20', rates: '100,400', idle: '60', 'ingest-mb': '500', only: 'probes,idle,get,ingest', store: 'embedded,postgres' });
const TRIALS = Number(values.trials);
const WINDOW_S = Number(values.window);
const RATES = values.rates.split(',').map(Number);
const IDLE_S = Number(values.idle);
const INGEST_MB = Number(values['ingest-mb']);
const ONLY = new Set(values.only.split(','));
const STORES = values.store.split(',').filter((store): store is Store => store === 'embedded' || store === 'postgres');
type Store = 'embedded' | 'postgres';
const STORE_NAMES: Record<Store, string> = { embedded: 'embedded store', postgres: 'PostgreSQL' };
const SERVER_URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'app', 'bin.js');
const VIGIL_CORE = 0;
const HARNESS_CORE = 1;
const ADMIN_TOKEN = randomBytes(16).toString('hex');
const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-cost-'));
const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

// The harness keeps off the core the measured processes run on.
pin(process.pid, HARNESS_CORE);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `vigil start` pinned to the measured core with a config file written for the run. */
async function startVigil(name: string, configBody: string, roles: string[], env: NodeJS.ProcessEnv = {}): Promise<{ vigil: Pinned; url: string; dir: string }> {
  const dir = path.join(tempDir, `${name}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const configFile = path.join(dir, 'vigil.config.ts');
  writeFileSync(configFile, `import { defineConfig, http } from ${JSON.stringify(path.join(ROOT, 'app', 'index.ts'))};\nvoid http;\nexport default defineConfig(${configBody});\n`);
  const vigil = startPinned(VIGIL_CORE, process.execPath, [...LAUNCHER_FLAGS, BIN, 'start', ...roles.flatMap((role) => ['--role', role]), '--config', configFile], {
    env: { ...LAUNCHER_ENV, VIGIL_PORT: String(port), VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_STORAGE_DIR: path.join(dir, 'storage'), VIGIL_LOG_LEVEL: 'warn', VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  await until(`vigil (${name}) ready`, answers(`${url}/readyz`), 120_000).catch((error: Error) => {
    throw new Error(`${error.message}\n${vigil.output()}`);
  });
  return { vigil, url, dir };
}

/** A target that answers every request with 200 and counts them: one request is one probe run, whoever probes. */
async function startTarget(): Promise<{ server: Server; url: string; count: () => number }> {
  let requests = 0;
  const server = createServer((_request, response) => {
    requests += 1;
    response.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: () => requests };
}

interface Sample {
  cpuPerUnit: number;
  wallPerUnit: number;
}

/** CPU seconds of `pids` (listed after the warm-up, when a function) per unit of work counted by `work()`, over a window after a warm-up. */
async function measureWindow(pids: number[] | (() => Promise<number[]>), work: () => number, unitsPer: number): Promise<Sample> {
  await sleep(Math.max(5, WINDOW_S / 4));
  const measured = typeof pids === 'function' ? await pids() : pids;
  // A process that exits within the window (a server backend) counts up to its last reading.
  const readings = measured.map((pid) => ({ pid, first: cpuSeconds(pid) }));
  const work0 = work();
  const started = performance.now();
  await sleep(WINDOW_S);
  const cpu = readings.reduce((sum, { pid, first }) => {
    try {
      return sum + cpuSeconds(pid) - first;
    } catch {
      return sum;
    }
  }, 0);
  const units = (work() - work0) / unitsPer;
  return { cpuPerUnit: cpu / units, wallPerUnit: (performance.now() - started) / 1000 / units };
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch (error) {
    console.log(`PostgreSQL not reachable at VIGIL_TEST_DATABASE_URL's server (${(error as Error).message}): its probes rows skipped`);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh PostgreSQL database for one Vigil, and the server processes (backends) serving its connections. */
async function postgresDatabase(): Promise<{ url: string; backends(): Promise<number[]>; drop(): Promise<void> }> {
  const name = `vigil_bench_cost_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    backends: async () => (await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [name])).rows.map((row) => row.pid),
    async drop() {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

async function probesVigil(store: Store, rate: number, target: string, count: () => number): Promise<Sample> {
  const probes = `Array.from({ length: ${rate} }, (_, i) => http({ name: 'bench-' + i, url: '${target}/p/' + i, schedule: '1s', timeout: '5s' }))`;
  const database = store === 'postgres' ? await postgresDatabase() : undefined;
  const { vigil } = await startVigil(`probes-${rate}`, `{ probes: ${probes} }`, ['probes'], database ? { DATABASE_URL: database.url } : {});
  try {
    // On PostgreSQL the work of storing is shared with the server: its backends for Vigil's connections count too.
    return await measureWindow(async () => [vigil.pid, ...((await database?.backends()) ?? [])], count, 1000);
  } finally {
    await vigil.stop();
    await database?.drop();
  }
}

async function probesAnchor(rate: number, target: string, count: () => number, bins: { prometheus: string; blackbox: string }): Promise<Sample> {
  const dir = mkdtempSync(path.join(tempDir, 'anchor-'));
  const [blackboxPort, prometheusPort] = [await freePort(), await freePort()];
  writeFileSync(path.join(dir, 'blackbox.yml'), 'modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n');
  const targets = Array.from({ length: rate }, (_, i) => `'${target}/p/${i}'`).join(', ');
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: blackbox\n    metrics_path: /probe\n    params:\n      module: [http_2xx]\n` +
      `    static_configs:\n      - targets: [${targets}]\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: __param_target\n` +
      `      - source_labels: [__param_target]\n        target_label: instance\n      - target_label: __address__\n        replacement: 127.0.0.1:${blackboxPort}\n`,
  );
  const blackbox = startPinned(VIGIL_CORE, bins.blackbox, [`--config.file=${dir}/blackbox.yml`, `--web.listen-address=127.0.0.1:${blackboxPort}`]);
  const prometheus = startPinned(VIGIL_CORE, bins.prometheus, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/tsdb`, `--web.listen-address=127.0.0.1:${prometheusPort}`]);
  try {
    await until('prometheus ready', answers(`http://127.0.0.1:${prometheusPort}/-/ready`));
    return await measureWindow([blackbox.pid, prometheus.pid], count, 1000);
  } finally {
    await Promise.all([prometheus.stop(), blackbox.stop()]);
  }
}

/** Runs both sides `TRIALS` times, alternating which goes first, and keeps the median of each. */
async function interleaved(vigil: () => Promise<Sample>, anchor: (() => Promise<Sample>) | undefined): Promise<{ vigil: Sample; anchor?: Sample }> {
  const vigilSamples: Sample[] = [];
  const anchorSamples: Sample[] = [];
  for (let trial = 0; trial < TRIALS; trial += 1) {
    const order = trial % 2 === 0 ? ['vigil', 'anchor'] : ['anchor', 'vigil'];
    for (const side of order) {
      if (side === 'vigil') vigilSamples.push(await vigil());
      else if (anchor) anchorSamples.push(await anchor());
    }
  }
  const pick = (samples: Sample[]) => ({ cpuPerUnit: median(samples.map((s) => s.cpuPerUnit)), wallPerUnit: median(samples.map((s) => s.wallPerUnit)) });
  return { vigil: pick(vigilSamples), ...(anchorSamples.length ? { anchor: pick(anchorSamples) } : {}) };
}

async function probeRows(): Promise<Row[]> {
  const prometheus = findBinary('prometheus');
  const blackbox = findBinary('prometheus-blackbox-exporter', 'blackbox_exporter');
  if (!prometheus || !blackbox) console.log('prometheus or blackbox_exporter not found (apt-get install prometheus prometheus-blackbox-exporter): anchor skipped');
  const target = await startTarget();
  const rows: Row[] = [];
  try {
    for (const store of STORES) {
      if (store === 'postgres' && !(await postgresReachable())) continue;
      for (const rate of RATES) {
        const result = await interleaved(
          () => probesVigil(store, rate, target.url, target.count),
          prometheus && blackbox ? () => probesAnchor(rate, target.url, target.count, { prometheus, blackbox }) : undefined,
        );
        rows.push({
          measure: `CPU per 1,000 http probe runs, results stored, ${rate} runs/s, ${STORE_NAMES[store]}`,
          anchor: 'Prometheus + blackbox_exporter',
          anchorValue: result.anchor?.cpuPerUnit,
          vigil: '`vigil start --role probes`',
          vigilValue: result.vigil.cpuPerUnit,
          unit: 'CPU-s',
          target: 1,
          lowerIsBetter: true,
        });
      }
    }
  } finally {
    await new Promise((resolve) => target.server.close(resolve));
  }
  return rows;
}

async function idleRows(): Promise<Row[]> {
  const dataDir = path.join(tempDir, 'idle');
  const port = await freePort();
  const vigil = startPinned(VIGIL_CORE, process.execPath, [...LAUNCHER_FLAGS, BIN, 'start', '--config', path.join(ROOT, 'vigil.config.ts')], {
    env: { ...LAUNCHER_ENV, VIGIL_PORT: String(port), VIGIL_DATA_DIR: path.join(dataDir, 'data'), VIGIL_STORAGE_DIR: path.join(dataDir, 'storage'), VIGIL_LOG_LEVEL: 'warn', VIGIL_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  const anchors: Pinned[] = [];
  const prometheus = findBinary('prometheus');
  const blackbox = findBinary('prometheus-blackbox-exporter', 'blackbox_exporter');
  const alertmanager = findBinary('prometheus-alertmanager', 'alertmanager');
  if (prometheus && blackbox && alertmanager) {
    const dir = mkdtempSync(path.join(tempDir, 'idle-anchor-'));
    const [bb, pr, am, cluster] = [await freePort(), await freePort(), await freePort(), await freePort()];
    writeFileSync(path.join(dir, 'blackbox.yml'), 'modules:\n  http_2xx:\n    prober: http\n');
    writeFileSync(path.join(dir, 'alertmanager.yml'), 'route:\n  receiver: admins\nreceivers:\n  - name: admins\n');
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 15s\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:${am}']\nscrape_configs:\n  - job_name: blackbox\n    metrics_path: /probe\n` +
        `    params:\n      module: [http_2xx]\n    static_configs:\n      - targets: ['http://127.0.0.1:${port}/readyz']\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: __param_target\n` +
        `      - target_label: __address__\n        replacement: 127.0.0.1:${bb}\n`,
    );
    anchors.push(
      startPinned(HARNESS_CORE, blackbox, [`--config.file=${dir}/blackbox.yml`, `--web.listen-address=127.0.0.1:${bb}`]),
      startPinned(HARNESS_CORE, alertmanager, [`--config.file=${dir}/alertmanager.yml`, `--storage.path=${dir}/am`, `--web.listen-address=127.0.0.1:${am}`, `--cluster.listen-address=127.0.0.1:${cluster}`]),
      startPinned(HARNESS_CORE, prometheus, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/tsdb`, `--web.listen-address=127.0.0.1:${pr}`]),
    );
  } else console.log('prometheus, blackbox_exporter or alertmanager not found: idle anchor skipped');
  try {
    // CPU over the second half of the window, once start-up work is over: what an idle hour costs each side. Not equal
    // work, so printed beside the rows rather than as one: Vigil runs the example's probes on their schedules (a video
    // upload end to end every 5 minutes among them), the stack scrapes one target every 15 s.
    await sleep(IDLE_S / 2);
    const sides = [vigil, ...anchors];
    const before = sides.map((side) => cpuSeconds(side.pid));
    await sleep(IDLE_S / 2);
    const [vigilCpu, ...anchorCpu] = sides.map((side, i) => cpuSeconds(side.pid) - before[i]!);
    const perIdleHour = (cpu: number) => {
      const perHour = (cpu / (IDLE_S / 2)) * 3600;
      return `${perHour.toFixed(0)} CPU-s per hour (${(perHour / 3.6).toFixed(1)} ms per second)`;
    };
    console.log(
      `idle CPU over the last ${IDLE_S / 2} s: \`vigil start\` with the example config ${perIdleHour(vigilCpu!)}` +
        (anchors.length ? `; Prometheus + blackbox + Alertmanager ${perIdleHour(anchorCpu.reduce((sum, cpu) => sum + cpu, 0))}` : ''),
    );
    const vigilMemory = memoryOf(vigil.pid);
    const anchorRss = anchors.length ? anchors.reduce((sum, anchor) => sum + memoryOf(anchor.pid).rss, 0) : undefined;
    const anchorPeak = anchors.length ? anchors.reduce((sum, anchor) => sum + memoryOf(anchor.pid).peak, 0) : undefined;
    return [
      { measure: `idle RSS ${IDLE_S} s after a first start, example config, embedded store`, anchor: 'Prometheus + blackbox + Alertmanager', anchorValue: anchorRss, vigil: '`vigil start`', vigilValue: vigilMemory.rss, unit: 'MiB', targetText: '≤ 150 MiB', lowerIsBetter: true },
      { measure: 'peak RSS of that first start', anchor: 'the same three', anchorValue: anchorPeak, vigil: '`vigil start`', vigilValue: vigilMemory.peak, unit: 'MiB', targetText: '≤ 300 MiB', lowerIsBetter: true },
    ];
  } finally {
    await Promise.all([vigil.stop(), ...anchors.map((anchor) => anchor.stop())]);
  }
}

/** Requests per second from wrk on the harness core against a server on the measured core. */
function wrk(url: string): number {
  const result = spawnSync('taskset', ['-c', String(HARNESS_CORE), 'wrk', '-t1', '-c32', '-d5s', url], { encoding: 'utf8' });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(result.stdout)?.[1] ?? NaN);
}

async function getRows(): Promise<Row[]> {
  if (!findBinary('wrk')) {
    console.log('wrk not found (apt-get install wrk): small GET row skipped');
    return [];
  }
  const nginxBin = findBinary('nginx');
  const root = path.join(tempDir, 'www');
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'index.html'), `<!doctype html><title>status</title>${'<p>All systems operational.</p>'.repeat(640)}`);
  const vigilRates: number[] = [];
  const nginxRates: number[] = [];
  for (let trial = 0; trial < TRIALS; trial += 1) {
    const { vigil, url } = await startVigil('get', '{}', ['api']);
    vigilRates.push(wrk(`${url}/healthz`));
    await vigil.stop();
    if (nginxBin) {
      const port = await freePort();
      const conf = path.join(tempDir, `nginx-${trial}.conf`);
      writeFileSync(
        conf,
        `daemon off; master_process off; worker_processes 1; pid ${tempDir}/nginx-${trial}.pid; error_log ${tempDir}/nginx-error.log;\n` +
          `events { worker_connections 1024; }\nhttp { access_log off; server { listen 127.0.0.1:${port}; root ${root}; } }\n`,
      );
      const nginx = startPinned(VIGIL_CORE, nginxBin, ['-c', conf]);
      await until('nginx', answers(`http://127.0.0.1:${port}/`));
      nginxRates.push(wrk(`http://127.0.0.1:${port}/`));
      await nginx.stop();
    }
  }
  return [
    {
      measure: 'small GET on one core (`wrk -t1 -c32`), requests/s',
      anchor: 'nginx, 20 KB static page',
      anchorValue: nginxBin ? median(nginxRates) : undefined,
      vigil: '`/healthz`',
      vigilValue: median(vigilRates),
      unit: 'req/s',
      target: 0.5,
      lowerIsBetter: false,
    },
  ];
}

async function ingestRows(): Promise<Row[]> {
  const file = path.join(tempDir, 'upload.bin');
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(file);
    for (let i = 0; i < INGEST_MB; i += 1) out.write(randomBytes(1024 * 1024));
    out.end(resolve);
    out.on('error', reject);
  });
  const cpuPerGb: number[] = [];
  const sumPerGb: number[] = [];
  const gb = INGEST_MB / 1024;
  // Each side starts on a flushed disk: the kernel's write-back of earlier trials' 500 MiB stored uploads otherwise
  // lands on whichever trial crosses its dirty-page threshold (measured: 2.2 CPU-s per GiB, then 5-6 in that trial).
  const flushDisk = () => spawnSync('sync');
  for (let trial = 0; trial < TRIALS; trial += 1) {
    const { vigil, url, dir } = await startVigil('ingest', '{}', ['api']);
    flushDisk();
    const before = cpuSeconds(vigil.pid);
    const curl = spawnSync('taskset', ['-c', String(HARNESS_CORE), 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${ADMIN_TOKEN}`, '-F', `file=@${file}`, `${url}/api/v1/videos`], { encoding: 'utf8' });
    if (curl.stdout !== '202') console.log(`upload answered ${curl.stdout}`);
    cpuPerGb.push((cpuSeconds(vigil.pid) - before) / gb);
    await vigil.stop();
    rmSync(dir, { recursive: true, force: true });
    flushDisk();
    // bash waits for sha256sum, so its reaped-children CPU (fields 16-17 of its stat) is sha256sum's alone.
    const sum = spawnSync('taskset', ['-c', String(VIGIL_CORE), 'bash', '-c', 'sha256sum "$1" >/dev/null; cut -d" " -f16,17 /proc/$$/stat', '_', file], { encoding: 'utf8' });
    sumPerGb.push(sum.stdout.trim().split(' ').reduce((total, ticks) => total + Number(ticks), 0) / 100 / gb);
  }
  console.log(`ingest trials, CPU-s per GiB: vigil ${cpuPerGb.map((cpu) => cpu.toFixed(2)).join(', ')}; sha256sum ${sumPerGb.map((cpu) => cpu.toFixed(2)).join(', ')}`);
  return [
    {
      measure: `upload ingest, ${INGEST_MB} MiB, CPU-s per GiB`,
      anchor: '`sha256sum` of the file',
      anchorValue: median(sumPerGb),
      vigil: '`POST /api/v1/videos`',
      vigilValue: median(cpuPerGb),
      unit: 'CPU-s',
      target: 1.25,
      lowerIsBetter: true,
    },
  ];
}

const rows: Row[] = [];
try {
  console.log(`settings: ${TRIALS} interleaved trials (median kept), ${WINDOW_S} s windows, Vigil and anchors pinned to core ${VIGIL_CORE}, harness on core ${HARNESS_CORE}, probes rows on ${STORES.map((store) => STORE_NAMES[store]).join(' and ')} (on PostgreSQL its backends for Vigil counted), vigil run as \`${LAUNCHER_COMMAND}\` as its launcher does; each ingest side starts after \`sync\``);
  if (ONLY.has('probes')) rows.push(...(await probeRows()));
  if (ONLY.has('idle')) rows.push(...(await idleRows()));
  if (ONLY.has('get')) rows.push(...(await getRows()));
  if (ONLY.has('ingest')) rows.push(...(await ingestRows()));
  printTable('Cost, Vigil against the tools users would run instead', rows);
} finally {
  rmSync(tempDir, { recursive: true, force: true });
}
