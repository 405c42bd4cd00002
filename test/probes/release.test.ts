import dgram from 'node:dgram';
import type net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { amqp, browser, dns, ffmpegPing, http, postgres, redis, slack, smtp, tcp, videoE2E } from '../../app/index.ts';
import type { AnyProbeDefinition } from '../../probes/define.ts';
import { startBlackHole, type BlackHole } from '../support/black-hole.ts';
import { openHandles } from '../support/handles.ts';
import { waitFor } from '../support/wait.ts';
import { run } from './support.ts';

// Every kind, run against a server that accepts and never answers with a timeout that aborts it mid-connect, must give
// back every socket and child process it opened.

let hole: BlackHole;
let udp: dgram.Socket;
let udpPort: number;

beforeAll(async () => {
  hole = await startBlackHole();
  udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  udpPort = (udp.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await hole.close();
  udp.close();
});

const common = { timeout: '150ms' };
const cases: Array<[string, () => AnyProbeDefinition, number]> = [
  ['http', () => http({ name: 'leak-http', url: `http://127.0.0.1:${hole.port}/`, ...common }), 50],
  ['tcp', () => tcp({ name: 'leak-tcp', host: '127.0.0.1', port: hole.port, expectContains: 'hello', ...common }), 50],
  ['dns', () => dns({ name: 'leak-dns', query: 'leak.vigil.test', server: `127.0.0.1:${udpPort}`, ...common }), 50],
  ['postgres', () => postgres({ name: 'leak-postgres', url: `postgres://vigil:pw@127.0.0.1:${hole.port}/vigil`, ...common }), 50],
  ['redis', () => redis({ name: 'leak-redis', url: `redis://127.0.0.1:${hole.port}`, ...common }), 50],
  ['amqp', () => amqp({ name: 'leak-amqp', url: `amqp://guest:guest@127.0.0.1:${hole.port}`, ...common }), 50],
  ['smtp', () => smtp({ name: 'leak-smtp', url: `smtp://127.0.0.1:${hole.port}`, ...common }), 50],
  ['slack', () => slack({ name: 'leak-slack', token: 'xoxb-leak-test', apiUrl: `http://127.0.0.1:${hole.port}/api/`, ...common }), 50],
  ['videoE2E', () => videoE2E({ name: 'leak-e2e', apiUrl: `http://127.0.0.1:${hole.port}`, ...common }), 10],
  ['ffmpegPing', () => ffmpegPing({ name: 'leak-ffmpeg', ...common }), 10],
  // Chromium is launched for each run and the abort lands while it starts; 10 launches keep the test short on two cores.
  ['browser', () => browser({ name: 'leak-browser', url: `http://127.0.0.1:${hole.port}/`, ...common }), 10],
];

it.each(cases)('%s gives back its sockets and processes after timed-out runs', async (_kind, definition, runs) => {
  const baseline = openHandles();
  const parallel = 10;
  for (let done = 0; done < runs; done += parallel) {
    const results = await Promise.all(Array.from({ length: Math.min(parallel, runs - done) }, () => run(definition())));
    for (const { result } of results) expect(result.success).toBe(false);
  }
  const after = await waitFor('sockets and processes back to their baseline', () => {
    const now = openHandles();
    return now.sockets <= baseline.sockets && now.descendants <= baseline.descendants && now;
  }, 15_000, 100).catch(() => openHandles());
  expect(after).toEqual({ sockets: expect.any(Number), descendants: expect.any(Number) });
  expect({ sockets: Math.max(0, after.sockets - baseline.sockets), descendants: Math.max(0, after.descendants - baseline.descendants) }).toEqual({ sockets: 0, descendants: 0 });
}, 120_000);
