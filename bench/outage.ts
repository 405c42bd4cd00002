// A PostgreSQL outage seen from the HTTP API and the logs. Prints figures; never passes or fails on time.
//   node bench/outage.ts [--seconds 180]
// Vigil (api and worker roles, processing module) on PostgreSQL through a TCP proxy that is cut for the outage.
// One upload a second and one admin read a second throughout; counts the answers by status, checks each 503 carries
// Retry-After, counts the log lines for pg-boss's `queue error` (and the errors they stand for), and times the first
// upload accepted after the store returns. Anchor: the same outage answered 500 with no Retry-After and logged
// 14.5 queue errors a second before this change.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../app/config.ts';
import { startVigil } from '../core/lifecycle/start.ts';
import { createLogger } from '../core/telemetry/logger.ts';
import { processingModule } from '../processing/index.ts';
import { createPostgresDatabase } from '../test/support/backends.ts';
import { startTcpProxy } from '../test/support/tcp-proxy.ts';
import { benchOptions } from './support/measure.ts';

const values = benchOptions({ seconds: '180' });
const OUTAGE_MS = Number(values.seconds) * 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const database = await createPostgresDatabase();
const target = new URL(database.url);
const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
target.host = `127.0.0.1:${proxy.port}`;
const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-outage-'));
const adminToken = randomBytes(16).toString('hex');
const logs = { queueErrorLines: 0, queueErrors: 0, dependencyLines: 0, unhandled: 0, lines: 0 };
const destination = new Writable({
  write(chunk, _encoding, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      const entry = JSON.parse(line) as { msg?: string; repeated?: number };
      logs.lines += 1;
      if (entry.msg?.startsWith('queue error')) {
        logs.queueErrorLines += 1;
        logs.queueErrors += entry.repeated ?? 1;
      }
      if (entry.msg?.startsWith('dependency unavailable')) logs.dependencyLines += 1;
      if (entry.msg === 'unhandled error') logs.unhandled += 1;
    }
    done();
  },
});
const config = parseConfig(
  {
    server: { port: 0, adminToken },
    database: { url: target.toString(), dataDir: path.join(tempDir, 'data') },
    processing: { storageDir: path.join(tempDir, 'storage') },
  },
  'bench',
);
const vigil = await startVigil({ config, modules: [processingModule], roles: ['api', 'worker'], logger: createLogger({ level: 'info', destination }) });

async function uploadOnce(): Promise<{ status: number; retryAfter: string | null }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(randomBytes(16 * 1024))]), 'clip.mp4');
  const response = await fetch(`${vigil.url}/api/v1/videos`, { method: 'POST', body: form, headers: { authorization: `Bearer ${adminToken}` } });
  await response.arrayBuffer();
  return { status: response.status, retryAfter: response.headers.get('retry-after') };
}

try {
  const answers = new Map<string, number>();
  let without = 0;
  const count = (kind: string, answer: { status: number; retryAfter: string | null }) => {
    answers.set(`${kind} ${answer.status}`, (answers.get(`${kind} ${answer.status}`) ?? 0) + 1);
    if (answer.status === 503 && !answer.retryAfter) without += 1;
  };
  const cpuBefore = process.cpuUsage();
  const logsBefore = { ...logs };
  await proxy.cut();
  const cutAt = performance.now();
  while (performance.now() - cutAt < OUTAGE_MS) {
    count('upload', await uploadOnce());
    const read = await fetch(`${vigil.url}/api/v1/videos`, { headers: { authorization: `Bearer ${adminToken}` } });
    await read.arrayBuffer();
    count('read', { status: read.status, retryAfter: read.headers.get('retry-after') });
    await sleep(1000);
  }
  await proxy.restore();
  const restoredAt = performance.now();
  let firstAccepted: number | undefined;
  while (firstAccepted === undefined && performance.now() - restoredAt < 60_000) {
    if ((await uploadOnce()).status === 202) firstAccepted = performance.now() - restoredAt;
    else await sleep(200);
  }
  const cpu = process.cpuUsage(cpuBefore);
  const outageS = OUTAGE_MS / 1000;
  console.log(`outage ${outageS} s; answers during it: ${[...answers].map(([key, n]) => `${key}: ${n}`).join(', ')}; 503 without Retry-After: ${without}`);
  console.log(`unhandled-error log lines (500s): ${logs.unhandled - logsBefore.unhandled}`);
  console.log(
    `queue error: ${logs.queueErrorLines - logsBefore.queueErrorLines} log lines for ${logs.queueErrors - logsBefore.queueErrors} errors ` +
      `(${((logs.queueErrors - logsBefore.queueErrors) / outageS).toFixed(1)}/s); anchor: one line per error; "dependency unavailable" lines: ${logs.dependencyLines - logsBefore.dependencyLines}; all log lines: ${logs.lines - logsBefore.lines}`,
  );
  console.log(`first upload accepted ${firstAccepted === undefined ? 'not within 60 s' : `${(firstAccepted / 1000).toFixed(2)} s`} after the store returned; ${((cpu.user + cpu.system) / 1e6).toFixed(2)} CPU-s for the run`);
} finally {
  await vigil.stop(2000);
  await proxy.close();
  await database.drop();
  rmSync(tempDir, { recursive: true, force: true });
}
