// Cold start to /readyz 200, on the embedded store (fresh and existing data directory) and on PostgreSQL.
// Prints figures; never passes or fails on time. Usage: node bench/startup.ts [--runs N]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { megabytes, memoryOf, startVigilProcess } from './support/vigil-process.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
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

/** Peak RSS of a first start on a new data directory, and RSS once idle. */
async function memoryOfFirstStart(): Promise<{ peak: number; idle: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  const vigil = await startVigilProcess({ VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_STORAGE_DIR: path.join(dir, 'storage') });
  try {
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const { rss, peak } = memoryOf(vigil.pid);
    return { peak, idle: rss };
  } finally {
    await vigil.stop();
    rmSync(dir, { recursive: true, force: true });
  }
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

console.log(`vigil startup to /readyz 200, ${runs} runs each, node ${process.version}, ${os.cpus().length} cores`);
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

const admin = new pg.Client({ connectionString: baseDatabaseUrl, connectionTimeoutMillis: 3000 });
let postgres: number | undefined;
try {
  await admin.connect();
  postgres = await measure('PostgreSQL, new database', async () => {
    const name = `vigil_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    await admin.query(`create database ${name}`);
    const url = new URL(baseDatabaseUrl);
    url.pathname = `/${name}`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
    return {
      env: { DATABASE_URL: url.toString(), VIGIL_STORAGE_DIR: path.join(dir, 'storage') },
      cleanup: async () => {
        await admin.query(`drop database if exists ${name} with (force)`);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
} catch (error) {
  console.log(`PostgreSQL skipped: ${(error as Error).message}`);
} finally {
  await admin.end().catch(() => {});
}

console.log(`target: embedded under 2 s; existing-directory median / 2 s = ${(embeddedExisting / 2000).toFixed(2)}, new-directory median / 2 s = ${(embeddedFresh / 2000).toFixed(2)}${postgres ? `, PostgreSQL median / 2 s = ${(postgres / 2000).toFixed(2)}` : ''}`);
const memoryFigures = await memoryOfFirstStart();
console.log(`memory of the default single process (embedded store, new data directory): first-start peak ${megabytes(memoryFigures.peak)} (target < 400 MB), idle after 15 s ${megabytes(memoryFigures.idle)} (target < 250 MB)`);
