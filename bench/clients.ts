// Slow and oversized clients against the default server limits. Prints figures; never passes or fails on time.
//   node bench/clients.ts [--connections 2000] [--linger 3]
// 1. /healthz latency p50/p95 with no load (the anchor), then while N connections send their headers one byte a
//    second from one address (the default per-client cap evicts the oldest of them; headersTimeout closes the rest).
// 2. How long the slowest of those connections stayed open, against headersTimeout, and how many were still open at the end.
// 3. Time to a 413 for an upload that announces more than the limit and then sends one byte a second.
// CPU seconds are the whole bench process (server and clients share it).
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../app/config.ts';
import { startVigil } from '../core/lifecycle/start.ts';
import { processingModule } from '../processing/index.ts';
import { benchOptions } from './support/measure.ts';

const values = benchOptions({ connections: '2000', linger: '3' });
const CONNECTIONS = Number(values.connections);
/** How long past headersTimeout (counted from the last connection's open) the flood keeps going. */
const LINGER_MS = Number(values.linger) * 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;

const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-clients-'));
// The upload route needs a key; the admin token is one with every scope.
const ADMIN_TOKEN = 'bench-clients-admin-token';
const config = parseConfig(
  { server: { port: 0, adminToken: ADMIN_TOKEN }, database: { dataDir: path.join(tempDir, 'data') }, logging: { level: 'silent' }, processing: { storageDir: path.join(tempDir, 'storage'), maxUploadBytes: '1MB' } },
  'bench',
);
const vigil = await startVigil({ config, modules: [processingModule], roles: ['api'] });
const { hostname, port } = new URL(vigil.url);

async function healthzLatencies(durationMs: number): Promise<number[]> {
  const latencies: number[] = [];
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const started = performance.now();
    const response = await fetch(`${vigil.url}/healthz`);
    await response.arrayBuffer();
    if (response.status === 200) latencies.push(performance.now() - started);
    await sleep(50);
  }
  return latencies;
}

try {
  const idle = await healthzLatencies(3000);

  const cpuBefore = process.cpuUsage();
  const opened: Array<{ socket: net.Socket; openedAt: number; closedAt?: number }> = [];
  const floodStart = performance.now();
  for (let i = 0; i < CONNECTIONS; i++) {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const entry: (typeof opened)[number] = { socket, openedAt: NaN };
    socket.once('connect', () => (entry.openedAt = performance.now()));
    socket.on('error', () => {});
    socket.resume(); // read the 408, so the server's close is seen when it happens
    socket.on('close', () => (entry.closedAt = performance.now()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: bench\r\n');
    opened.push(entry);
    if (i % 100 === 99) await sleep(10);
  }
  const trickle = setInterval(() => {
    for (const entry of opened) if (!entry.socket.destroyed) entry.socket.write('X');
  }, 1000);
  const underLoad = await healthzLatencies(config.server.headersTimeout + LINGER_MS);
  // Keep trickling until the server has closed every one of them (bounded at twice headersTimeout more).
  const deadline = performance.now() + 2 * config.server.headersTimeout;
  while (opened.some((entry) => entry.closedAt === undefined) && performance.now() < deadline) await sleep(100);
  const floodMs = performance.now() - floodStart;
  clearInterval(trickle);
  const stillOpen = opened.filter((entry) => entry.closedAt === undefined).length;
  const lastClosed = Math.max(...opened.map((entry) => entry.closedAt ?? performance.now())) - floodStart;
  const connected = opened.filter((entry) => !Number.isNaN(entry.openedAt));
  const openFor = connected.map((entry) => (entry.closedAt ?? performance.now()) - entry.openedAt);
  // The per-client cap closes most of them early, as newer ones arrive; the ones left run into headersTimeout.
  const timedOut = openFor.filter((duration) => duration >= config.server.headersTimeout / 2);
  const longest = Math.max(...openFor);
  for (const entry of opened) entry.socket.destroy();
  const cpu = process.cpuUsage(cpuBefore);

  const tooLarge: number[] = [];
  for (let i = 0; i < 20; i++) {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const answered = new Promise<number>((resolve) => socket.once('data', () => resolve(performance.now())));
    socket.write(`POST /api/v1/videos HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${3 * 1024 * 1024}\r\n\r\n`);
    const sent = performance.now();
    const trickleOne = setInterval(() => socket.write('-'), 1000);
    tooLarge.push((await answered) - sent);
    clearInterval(trickleOne);
    socket.destroy();
  }

  const headersTimeout = config.server.headersTimeout;
  console.log(`server limits: headersTimeout ${headersTimeout} ms, maxConnectionsPerClient ${config.server.maxConnectionsPerClient}, maxConnections ${config.server.maxConnections}`);
  console.log(`/healthz idle (anchor)            p50 ${ms(percentile(idle, 50))}  p95 ${ms(percentile(idle, 95))}  (${idle.length} requests)`);
  console.log(`/healthz under ${CONNECTIONS} slow clients   p50 ${ms(percentile(underLoad, 50))}  p95 ${ms(percentile(underLoad, 95))}  (${underLoad.length} requests, all 200)  ratio p95 ${(percentile(underLoad, 95) / percentile(idle, 95)).toFixed(2)}x`);
  console.log(`slow-header connections closed by headersTimeout (${(headersTimeout / 1000).toFixed(0)} s): ${timedOut.length}, open for p50 ${(percentile(timedOut, 50) / 1000).toFixed(1)} s  p95 ${(percentile(timedOut, 95) / 1000).toFixed(1)} s; evicted by the per-client cap: ${openFor.length - timedOut.length}`);
  console.log(`slow-header connections: longest open ${(longest / 1000).toFixed(1)} s, all closed by the server ${(lastClosed / 1000).toFixed(1)} s after the first opened, still open ${stillOpen} of ${CONNECTIONS}`);
  console.log(`CPU during the flood: ${((cpu.user + cpu.system) / 1e6).toFixed(2)} CPU-s over ${(floodMs / 1000).toFixed(1)} s`);
  console.log(`oversized announced upload at 1 byte/s: 413 after p50 ${ms(percentile(tooLarge, 50))}  max ${ms(Math.max(...tooLarge))}  (before: after the whole body, 45.8 s for 3 MB at 64 KB/s)`);
} finally {
  await vigil.stop(2000);
  rmSync(tempDir, { recursive: true, force: true });
}
