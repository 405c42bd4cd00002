// Cold start to /readyz 200, on the embedded store (fresh and existing data directory) and on PostgreSQL.
// Then memory of a first start, peak and idle with its breakdown, on both stores. Prints figures; never passes or fails.
// Usage: node bench/startup.ts [--runs N] [--idle SECONDS] [--only time,memory]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { readFootprint, type FootprintSample } from '../test/support/footprint.ts';
import { printTable } from './support/measure.ts';
import { memoryOf, startVigilProcess } from './support/vigil-process.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, idle: { type: 'string', default: '60' }, only: { type: 'string', default: 'time,memory' } },
});
const runs = Number(values.runs);
const idleSeconds = Number(values.idle);
const only = new Set(values.only.split(','));
const FOOTPRINT = path.resolve(import.meta.dirname, '../test/support/footprint.ts');
// Packages a start with the example configuration should not need (each is loaded by the feature that uses it).
const HEAVY_PACKAGES = ['@opentelemetry/sdk-node', '@opentelemetry/sdk-trace', 'playwright-core', 'ioredis', 'amqplib', 'nodemailer', '@slack/web-api', '@tus/server', '@grafana/grafana-foundation-sdk', '@fastify/swagger'];
const baseDatabaseUrl = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function timeToReady(env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const vigil = await startVigilProcess(env);
  try {
    while (!(await fetch(`${vigil.url}/readyz`).then((response) => response.status === 200, () => false))) {
      if (performance.now() - started > 60_000) throw new Error('not ready after 60 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return performance.now() - started;
  } finally {
    await vigil.stop();
  }
}

interface MemoryFigures {
  peakRss: number;
  /** Peak of the proportional set size (shared pages split between their sharers) summed over the process and its
   * children: initdb runs in a child where no template was made at install. */
  peakTreePss: number;
  /** Resident pages mapped from files when idle: the node binary's code and data, shared libraries. */
  fileRss: number;
  idle: FootprintSample;
  peak: FootprintSample;
  modules: string[];
}

/** A first start on a new data directory (embedded) or a new database (`env` with DATABASE_URL): peak RSS (VmHWM), and
 * the breakdown `idleSeconds` after start; the footprint preload samples heap, external, array buffers and WebAssembly. */
async function memoryOfFirstStart(env: NodeJS.ProcessEnv): Promise<MemoryFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  const file = path.join(dir, 'footprint.json');
  let peakTreePss = 0;
  let sampler: NodeJS.Timeout | undefined;
  // The preload is TypeScript and runs before app/bin.js turns Node's compile cache on: stripping its types loaded Node's
  // TypeScript compiler (amaro, its WebAssembly memory and 3.8 MB of source) into the process watched, about 9 MiB of
  // idle RSS no `vigil start` has (148-151 MiB without the preload on PostgreSQL, 157-158 with it). The same cache
  // directory as bin.js's, on from the start, serves the preload its stripped code too.
  const vigil = await startVigilProcess(
    { VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_STORAGE_DIR: path.join(dir, 'storage'), VIGIL_FOOTPRINT_FILE: file, NODE_COMPILE_CACHE: path.join(os.tmpdir(), 'node-compile-cache'), ...env },
    [],
    ['--import', FOOTPRINT],
    (pid) => (sampler = setInterval(() => (peakTreePss = Math.max(peakTreePss, treePss(pid))), 50)),
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const footprint = readFootprint(file);
    if (!footprint) throw new Error('the footprint preload wrote nothing');
    const memory = memoryOf(vigil.pid);
    return { peakRss: memory.peak, peakTreePss, fileRss: memory.file, idle: { ...footprint.now, rss: memory.rss }, peak: footprint.peak, modules: footprint.modules };
  } finally {
    clearInterval(sampler);
    await vigil.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Proportional set size of a process and its descendants now, in bytes (0 for one that has exited). PSS, not RSS: a
 * child forked but not yet exec'd, and node children, share most of their pages with the parent. */
function treePss(pid: number): number {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    const pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
    return pss + children.reduce((sum, child) => sum + treePss(child), 0);
  } catch {
    return 0;
  }
}

function printMemory(label: string, figures: MemoryFigures, targets: { idle: number; peak: number }): void {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  const breakdown = (sample: FootprintSample) =>
    `heap used ${mib(sample.heapUsed)} (of ${mib(sample.heapTotal)}), external ${mib(sample.external)} (array buffers ${mib(sample.arrayBuffers)}), WebAssembly memories ${mib(sample.wasm)} (their size, not all resident), RSS ${mib(sample.rss)}`;
  console.log(`${label}: first-start peak RSS ${mib(figures.peakRss)} (target ≤ ${targets.peak} MiB, ratio ${(figures.peakRss / 1024 / 1024 / targets.peak).toFixed(2)}; the process and its children together peaked at ${mib(figures.peakTreePss)} PSS); idle after ${idleSeconds} s RSS ${mib(figures.idle.rss)} (target ≤ ${targets.idle} MiB, ratio ${(figures.idle.rss / 1024 / 1024 / targets.idle).toFixed(2)})`);
  console.log(`  idle: ${breakdown(figures.idle)}; of the RSS, ${mib(figures.fileRss)} are pages of the node binary and libraries, ${mib(figures.idle.rss - figures.fileRss)} the process's own`);
  console.log(`  peaks sampled every 250 ms: ${breakdown(figures.peak)}`);
  const heavy = HEAVY_PACKAGES.filter((name) => figures.modules.some((url) => url.includes(`/node_modules/${name}/`)));
  console.log(`  ${figures.modules.length} modules loaded; heavy packages among them: ${heavy.join(', ') || 'none'}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const format = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function measure(label: string, prepare: () => Promise<{ env: NodeJS.ProcessEnv; cleanup: () => Promise<void> }>) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { env, cleanup } = await prepare();
    try {
      times.push(await timeToReady(env));
    } finally {
      await cleanup();
    }
  }
  console.log(`${label.padEnd(44)} median ${format(median(times))}  (runs: ${times.map(format).join(', ')})`);
  return median(times);
}

async function withNewDatabase<T>(fn: (databaseUrl: string) => Promise<T>): Promise<T | undefined> {
  const admin = new pg.Client({ connectionString: baseDatabaseUrl, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    console.log(`PostgreSQL skipped: ${(error as Error).message}`);
    return undefined;
  }
  const name = `vigil_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  try {
    await admin.query(`create database ${name}`);
    const url = new URL(baseDatabaseUrl);
    url.pathname = `/${name}`;
    return await fn(url.toString());
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end().catch(() => {});
  }
}

console.log(`vigil start with the example configuration, node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (only.has('time')) await timeFigures();
if (only.has('memory')) {
  printMemory('embedded PGlite, new data directory', await memoryOfFirstStart({}), { peak: 300, idle: 150 });
  const onPostgres = await withNewDatabase((DATABASE_URL) => memoryOfFirstStart({ DATABASE_URL }));
  if (onPostgres) {
    printMemory('PostgreSQL, new database', onPostgres, { peak: 300, idle: 100 });
    // The embedded store's idle row, with the anchors beside it, is bench/cost.ts's; this store has none there.
    printTable('Idle memory on PostgreSQL', [
      { measure: `idle RSS ${idleSeconds} s after a first start, example config, PostgreSQL`, anchorValue: undefined, vigil: '`vigil start`', vigilValue: onPostgres.idle.rss, unit: 'MiB', targetText: '≤ 100 MiB', lowerIsBetter: true },
    ]);
  }
  console.log(`load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

async function timeFigures(): Promise<void> {
  console.log(`start-up to /readyz 200, ${runs} runs each`);
  const embeddedFresh = await measure('embedded PGlite, new data directory', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
    return { env: { VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_STORAGE_DIR: path.join(dir, 'storage') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  });
  const existing = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  await timeToReady({ VIGIL_DATA_DIR: path.join(existing, 'data'), VIGIL_STORAGE_DIR: path.join(existing, 'storage') });
  const embeddedExisting = await measure('embedded PGlite, existing data directory', async () => ({
    env: { VIGIL_DATA_DIR: path.join(existing, 'data'), VIGIL_STORAGE_DIR: path.join(existing, 'storage') },
    cleanup: async () => {},
  }));
  rmSync(existing, { recursive: true, force: true });
  const postgres = await withNewDatabase(() => measure('PostgreSQL, new database', async () => {
    const name = `vigil_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: baseDatabaseUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const url = new URL(baseDatabaseUrl);
    url.pathname = `/${name}`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
    return {
      env: { DATABASE_URL: url.toString(), VIGIL_STORAGE_DIR: path.join(dir, 'storage') },
      cleanup: async () => {
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }));
  console.log(`target: embedded under 2 s; existing-directory median / 2 s = ${(embeddedExisting / 2000).toFixed(2)}, new-directory median / 2 s = ${(embeddedFresh / 2000).toFixed(2)}${postgres ? `, PostgreSQL median / 2 s = ${(postgres / 2000).toFixed(2)}` : ''}`);
}
