import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitConnection, type OpenConnection } from '../../core/http/connections.ts';
import { isAddressOrRange, proxyMatcher } from '../../core/http/proxies.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import type { VigilModule } from '../../core/lifecycle/module.ts';
import { processingModule } from '../../processing/index.ts';
import { testConfig } from '../support/backends.ts';
import { waitFor } from '../support/wait.ts';

const ADMIN_TOKEN = 'admin-token-of-the-clients-test';

const LIMITS = {
  headersTimeout: '1s',
  bodyIdleTimeout: '1s',
  requestTimeout: '2s',
  keepAliveTimeout: '1s',
  maxConnections: 30,
  maxConnectionsPerClient: 20,
};
const MAX_UPLOAD = 1024 * 1024;

// Routes of the test's own: a small JSON body, and a handler that holds its request until the test lets it go.
const held: Array<() => void> = [];
const testRoutes: VigilModule = {
  name: 'test-routes',
  migrations: [],
  setup(ctx) {
    ctx.http.post('/test/echo', async (request) => ({ received: request.body }));
    ctx.http.get('/test/hold', () => new Promise((resolve) => held.push(() => resolve({ released: true }))));
    return [];
  },
};

interface RawClient {
  socket: net.Socket;
  received(): string;
  closed: Promise<number>;
  write(text: string): void;
}

/** A hand-driven HTTP client on a plain socket, optionally from another loopback address. */
async function rawClient(url: string, localAddress?: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port), ...(localAddress ? { localAddress } : {}) });
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => received, closed, write: (text) => socket.write(text) };
}

/** Runs `work` while `send` repeats every `everyMs` (a client trickling bytes, or sending request after request). */
async function whileRepeating<T>(everyMs: number, send: () => void, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(send, everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

async function metric(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

async function probesAnswer(url: string): Promise<number[]> {
  return Promise.all(['/healthz', '/readyz', '/metrics'].map(async (path) => (await fetch(`${url}${path}`)).status));
}

// The limits belong to the HTTP layer, so the embedded store is enough here.
describe('slow and oversized clients', () => {
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-clients-'));
  const store = { dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => rmSync(tempDir, { recursive: true, force: true }) };
  let vigil: Vigil;

  beforeAll(async () => {
    const config = testConfig(store, { server: { ...LIMITS, adminToken: ADMIN_TOKEN }, processing: { maxUploadBytes: MAX_UPLOAD } });
    vigil = await startVigil({ config, modules: [processingModule, testRoutes], roles: ['api'] });
  });

  afterAll(async () => {
    for (const release of held.splice(0)) release();
    await vigil?.stop(2000);
    await store.cleanup();
  });

  it('answers an oversized announced upload 413 before reading its body, even sent at 1 byte a second', async () => {
    const client = await rawClient(vigil.url);
    const boundary = 'vigil-boundary';
    client.write(
      `POST /api/v1/videos HTTP/1.1\r\nHost: vigil\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
        `Content-Length: ${3 * MAX_UPLOAD}\r\n\r\n`,
    );
    const headersSent = performance.now();
    let bodyBytesSent = 0;
    const trickle = () => {
      bodyBytesSent += 1;
      client.write('-');
    };
    await whileRepeating(1000, trickle, () => waitFor('the 413', () => client.received().includes('\r\n\r\n'), 5000, 5));
    const answeredAfterMs = performance.now() - headersSent;
    expect(client.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(client.received()).toMatch(/connection: close/i);
    expect(client.received()).toContain('UPLOAD_TOO_LARGE'); // the upload route words its own 413
    expect(bodyBytesSent).toBe(0);
    await client.closed;
    console.log(`oversized announced upload: 413 after ${answeredAfterMs.toFixed(1)} ms, ${bodyBytesSent} body bytes sent`);
  });

  it('answers any route 413 for an announced body over server.bodyLimit, before reading it', async () => {
    const client = await rawClient(vigil.url);
    client.write(`POST /test/echo HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n{`);
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 413 [\s\S]*"code":"BODY_TOO_LARGE","message":"The request body \(2097152 bytes\) is larger than the limit of 1048576 bytes for POST \/test\/echo\."/);
  });

  it('closes a client that sends its headers a byte at a time once headersTimeout passes, while /healthz answers', async () => {
    const client = await rawClient(vigil.url);
    const openedAt = performance.now();
    client.write('GET /healthz HTTP/1.1\r\nHost: vigil\r\n');
    await whileRepeating(200, () => client.write('X'), async () => {
      expect(await probesAnswer(vigil.url)).toEqual([200, 200, 200]);
      const closedAt = await waitFor('the slow client to be closed', () => Promise.race([client.closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 100))]), 10_000);
      const openMs = closedAt - openedAt;
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
      // Not closed early: the server's deadline starts when it accepts the connection, a little before this client
      // sees it open, so the client may measure a few milliseconds under the second.
      expect(openMs).toBeGreaterThanOrEqual(900);
      console.log(`slow-header client (headersTimeout 1 s): closed after ${openMs.toFixed(0)} ms`);
    });
  });

  it('keeps a connection whose requests keep coming open past headersTimeout and keepAliveTimeout', async () => {
    const client = await rawClient(vigil.url);
    let sent = 0;
    const request = () => {
      sent += 1;
      client.write('GET /healthz HTTP/1.1\r\nHost: vigil\r\n\r\n');
    };
    // Past the connection's first headers deadline (1 s) and a kept-alive one (1 s + 1 s).
    await whileRepeating(100, request, () => waitFor('2.5 s of requests', () => sent >= 25, 10_000));
    await waitFor('every answer', () => client.received().split('HTTP/1.1 200 ').length - 1 === sent, 5000);
    expect(client.received()).not.toContain('408');
    expect(client.socket.destroyed).toBe(false);
    client.socket.destroy();
  });

  it('keeps /healthz, /readyz and /metrics answering while hundreds of slow-header clients hold connections', async () => {
    const clients: RawClient[] = [];
    const trickle = () => {
      for (const client of clients) if (!client.socket.destroyed) client.write('X');
    };
    await whileRepeating(200, trickle, async () => {
      for (let i = 0; i < 300; i++) {
        const client = await rawClient(vigil.url);
        client.write('GET /healthz HTTP/1.1\r\nHost: vigil\r\n');
        clients.push(client);
      }
      expect(await probesAnswer(vigil.url)).toEqual([200, 200, 200]);
      expect(await metric(vigil.url, 'vigil_http_open_connections')).toBeLessThanOrEqual(LIMITS.maxConnectionsPerClient);
      // Most make room for newer ones at the per-client cap; on a slow machine some reach headersTimeout first.
      expect(await metric(vigil.url, 'vigil_http_connections_evicted_total{limit="client"}')).toBeGreaterThan(0);
      await Promise.all(clients.map((client) => client.closed));
    });
  });

  it('refuses a new connection with 503 when a cap is full of requests in progress, per client and in total', async () => {
    const busy: RawClient[] = [];
    const hold = async (address: string) => {
      const client = await rawClient(vigil.url, address);
      client.write('GET /test/hold HTTP/1.1\r\nHost: vigil\r\n\r\n');
      busy.push(client);
    };
    try {
      for (let i = 0; i < LIMITS.maxConnectionsPerClient; i++) await hold('127.0.0.2');
      await waitFor('the held requests', () => held.length === LIMITS.maxConnectionsPerClient);
      const perClient = await rawClient(vigil.url, '127.0.0.2');
      await perClient.closed;
      expect(perClient.received()).toMatch(/^HTTP\/1\.1 503 [\s\S]*retry-after: 5[\s\S]*TOO_MANY_CONNECTIONS/i);
      // Another address is still welcome until the total cap is full too.
      for (let i = 0; i < LIMITS.maxConnections - LIMITS.maxConnectionsPerClient; i++) await hold('127.0.0.3');
      await waitFor('the held requests', () => held.length === LIMITS.maxConnections);
      const overTotal = await rawClient(vigil.url, '127.0.0.4');
      await overTotal.closed;
      expect(overTotal.received()).toMatch(/^HTTP\/1\.1 503 /);
    } finally {
      for (const release of held.splice(0)) release();
    }
    await Promise.all(busy.map((client) => waitFor('the held answer', () => client.received().includes('released'))));
    // Served requests leave their connections idle, and idle connections make room: the probes get in at once.
    expect(await probesAnswer(vigil.url)).toEqual([200, 200, 200]);
    expect(await metric(vigil.url, 'vigil_http_connections_refused_total{limit="client"}')).toBe(1);
    expect(await metric(vigil.url, 'vigil_http_connections_refused_total{limit="total"}')).toBe(1);
    for (const client of busy) client.socket.destroy();
  });

  it('closes a request whose body stops arriving (bodyIdleTimeout) and answers 408 to one that trickles past requestTimeout', async () => {
    const stalled = await rawClient(vigil.url);
    stalled.write('POST /test/echo HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    const stalledAt = performance.now();
    const stalledClosedAt = await stalled.closed;
    expect(stalledClosedAt - stalledAt).toBeGreaterThanOrEqual(900);

    const trickler = await rawClient(vigil.url);
    trickler.write('POST /test/echo HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":"');
    await whileRepeating(300, () => trickler.write('x'), () => trickler.closed);
    expect(trickler.received()).toMatch(/^HTTP\/1\.1 408 [\s\S]*REQUEST_TIMEOUT/);
    // A request that arrives in time is served as before.
    const ok = await fetch(`${vigil.url}/test/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await ok.json()).toEqual({ received: { a: 1 } });
  });

  it('lets an upload that keeps sending take longer than requestTimeout', async () => {
    const client = await rawClient(vigil.url);
    const boundary = 'vigil-boundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    const chunks = 12;
    const chunk = 'v'.repeat(1000);
    client.write(
      `POST /api/v1/videos HTTP/1.1\r\nHost: vigil\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
        `Content-Length: ${head.length + chunks * chunk.length + tail.length}\r\n\r\n${head}`,
    );
    for (let i = 0; i < chunks; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250)); // 3 s in all, past the 2 s requestTimeout
      client.write(chunk);
    }
    client.write(tail);
    await waitFor('the upload answer', () => client.received().includes('statusUrl'), 10_000);
    expect(client.received()).toMatch(/^HTTP\/1\.1 202 /);
    client.socket.destroy();
  });
});

describe('trusted proxies', () => {
  it.each([
    ['10.1.2.3', true],
    ['10.0.0.0/8', true],
    ['::1', true],
    ['fd00::/8', true],
    ['10.0.0.0/33', false],
    ['10.0.0.0/8/1', false],
    ['proxy.internal', false],
    ['', false],
  ])('"%s" is an address or range: %s', (entry, valid) => {
    expect(isAddressOrRange(entry)).toBe(valid);
  });

  it.each([
    ['10.20.30.40', true],
    ['::ffff:10.20.30.40', true],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['::1', false],
  ])('%s is one of 10.0.0.0/8 and 192.168.1.7: %s', (address, trusted) => {
    expect(proxyMatcher(['10.0.0.0/8', '192.168.1.7'])(address)).toBe(trusted);
  });

  it('a trusted proxy over the per-client cap is admitted while under the total', () => {
    const open: OpenConnection[] = Array.from({ length: 3 }, (_, i) => ({ address: '10.0.0.1', openedAt: i, inRequest: true }));
    const limits = { maxConnections: 10, maxConnectionsPerClient: 3, headersTimeout: 1000, keepAliveTimeout: 1000 };
    expect(admitConnection(open, '10.0.0.1', limits)).toEqual({ action: 'refuse', limit: 'client' });
    expect(admitConnection(open, '10.0.0.1', { ...limits, isProxy: proxyMatcher(['10.0.0.0/8']) })).toEqual({ action: 'accept' });
  });
});
