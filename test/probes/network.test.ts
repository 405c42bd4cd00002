import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net from 'node:net';
import os from 'node:os';
import type { TLSSocket } from 'node:tls';
import path from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { startTracing } from '../../core/telemetry/tracing.ts';
import { assert, dns, http, tcp } from '../../app/index.ts';
import { createRegistry } from '../../core/telemetry/metrics.ts';
import { probeMetrics } from '../../probes/metrics.ts';
import { waitFor } from '../support/wait.ts';
import { run } from './support.ts';

const spans = new InMemorySpanExporter();
const tracing = await startTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });

let plainUrl: string;
let tlsUrl: string;
let closedPort: number;
const servers: Array<Server | net.Server | dgram.Socket> = [];
const seen: { traceparent?: string; slowRequests: number; slowClosed: number } = { slowRequests: 0, slowClosed: 0 };
let certDir: string;

function routes(request: IncomingMessage, response: ServerResponse) {
  if (request.url === '/ok') return response.writeHead(200, { 'content-type': 'application/json', 'x-app': 'vigil-test' }).end(JSON.stringify({ status: 'ok', checks: { db: 'up' } }));
  if (request.url === '/wrong') return response.writeHead(200, { 'content-type': 'text/plain' }).end('goodbye');
  if (request.url === '/error') return response.writeHead(500, { 'content-type': 'text/plain', 'set-cookie': 'session=secret' }).end('boom');
  if (request.url === '/moved-to-error') return response.writeHead(302, { location: '/error' }).end();
  if (request.url === '/moved-twice') return response.writeHead(301, { location: '/moved-once' }).end();
  if (request.url === '/moved-once') return response.writeHead(307, { location: `/ok` }).end();
  if (request.url === '/loop') return response.writeHead(302, { location: '/loop' }).end();
  if (request.url === '/items') return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }], total: 2, next: null }));
  if (request.url === '/trace') {
    seen.traceparent = request.headers.traceparent as string | undefined;
    return response.writeHead(200).end('traced');
  }
  if (request.url === '/slow') {
    seen.slowRequests += 1;
    request.socket.once('close', () => (seen.slowClosed += 1));
    return; // never answers: only an abort ends it
  }
  response.writeHead(404).end();
}

async function listen(server: Server | net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A minimal authoritative DNS server: answers A queries for *.vigil.test with 10.0.0.7, NXDOMAIN otherwise. */
async function startDnsServer(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  servers.push(socket);
  socket.on('message', (query, peer) => {
    let offset = 12;
    const labels: string[] = [];
    while (query[offset]! > 0) {
      labels.push(query.subarray(offset + 1, offset + 1 + query[offset]!).toString());
      offset += query[offset]! + 1;
    }
    const question = query.subarray(12, offset + 5);
    const known = labels.join('.').endsWith('vigil.test');
    const header = Buffer.from([query[0]!, query[1]!, 0x84, known ? 0x00 : 0x03, 0, 1, 0, known ? 1 : 0, 0, 0, 0, 0]);
    const answer = known ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7]) : Buffer.alloc(0);
    socket.send(Buffer.concat([header, question, answer]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket.address().port;
}

let dnsPort: number;

beforeAll(async () => {
  certDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem')], { stdio: 'ignore' });
  plainUrl = `http://127.0.0.1:${await listen(createHttpServer(routes))}`;
  const tlsServer = createHttpsServer({ key: readFileSync(path.join(certDir, 'key.pem')), cert: readFileSync(path.join(certDir, 'cert.pem')) }, routes);
  tlsUrl = `https://localhost:${await listen(tlsServer)}`;
  const closed = net.createServer();
  closedPort = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  servers.splice(servers.indexOf(closed), 1);
  dnsPort = await startDnsServer();
});

afterAll(async () => {
  for (const server of servers) {
    if (server instanceof dgram.Socket) server.close();
    else {
      (server as Server).closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    }
  }
  rmSync(certDir, { recursive: true, force: true });
  await tracing.shutdown();
});

describe('http probe', () => {
  it('passes on a healthy route, with timings per phase, header, body and JSON assertions', async () => {
    const { result, outcome } = await run(http({ name: 'ok', url: `${plainUrl}/ok`, expect: { status: 200, headers: { 'X-App': 'vigil' }, bodyContains: 'ok', json: { status: 'ok', 'checks.db': 'up' }, maxLatency: '5s' } }));
    expect(result.success).toBe(true);
    expect(Object.keys(result.timings!)).toEqual(['dns', 'connect', 'tls', 'firstByte', 'transfer', 'total']);
    expect(result.timings!.connect).toBeGreaterThan(0);
    expect(outcome.metrics).toMatchObject({ httpStatusCode: 200, httpPhases: { resolve: expect.any(Number), connect: expect.any(Number), processing: expect.any(Number) } });
  });

  it('collects no stack for the error undici closes each connection with, and leaves the stack limit as it was', async () => {
    const limit = Error.stackTraceLimit;
    const frames: number[] = [];
    const previous = Error.prepareStackTrace;
    Error.prepareStackTrace = (error, stack) => {
      if (error.name === 'InformationalError') frames.push(stack.length);
      return previous ? previous(error, stack) : `${error.name}: ${error.message}`;
    };
    try {
      for (let i = 0; i < 3; i++) expect((await run(http({ name: 'closed', url: `${plainUrl}/ok` }))).result.success).toBe(true);
    } finally {
      Error.prepareStackTrace = previous;
    }
    expect(frames.filter((count) => count > 0)).toEqual([]);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('fails with the reason on a 500, a wrong body and a JSON mismatch', async () => {
    const error = await run(http({ name: 'error', url: `${plainUrl}/error` }));
    expect(error.result).toMatchObject({ success: false, reason: 'expected status 2xx or 3xx, got 500' });
    expect(error.outcome.failure).toBe('status');
    expect(error.result.details!.response).toEqual({ status: 500, headers: expect.objectContaining({ 'content-type': 'text/plain' }), body: 'boom' });
    expect(JSON.stringify(error.result.details)).not.toContain('session=secret');
    const wrong = await run(http({ name: 'wrong', url: `${plainUrl}/wrong`, expect: { bodyContains: 'hello' } }));
    expect(wrong.result.reason).toBe('body contains "hello": got "goodbye"');
    const json = await run(http({ name: 'json', url: `${plainUrl}/ok`, expect: { json: { status: 'degraded' } } }));
    expect(json.result.reason).toBe('json $.status equals "degraded": got "ok"');
  });

  it('follows redirects and judges the final answer, counting the hops', async () => {
    const toError = await run(http({ name: 'moved-to-error', url: `${plainUrl}/moved-to-error` }));
    expect(toError.result).toMatchObject({ success: false, reason: 'expected status 2xx or 3xx, got 500', details: { status: 500, redirects: 1 } });
    expect(toError.outcome.metrics!.httpStatusCode).toBe(500);
    const twice = await run(http({ name: 'moved-twice', url: `${plainUrl}/moved-twice`, assertions: [assert.redirects().equals(2), assert.status().equals(200)] }));
    expect(twice.result).toMatchObject({ success: true, details: { status: 200, redirects: 2, finalUrl: `${plainUrl}/ok` } });
    const notFollowed = await run(http({ name: 'not-followed', url: `${plainUrl}/moved-to-error`, followRedirects: false, assertions: [assert.header('Location').equals('/error')] }));
    expect(notFollowed.result).toMatchObject({ success: true, details: { status: 302, redirects: 0 } });
    const loop = await run(http({ name: 'loop', url: `${plainUrl}/loop`, maxRedirects: 3 }));
    expect(loop.result).toMatchObject({ success: false, reason: 'more than 3 redirect(s); the last answer was 302 at /loop' });
  });

  it('asserts with the builder: JSONPath with arrays, comparisons, regex, length, response time; a slow success is degraded', async () => {
    const passing = await run(http({
      name: 'items',
      url: `${plainUrl}/items`,
      degradedAfter: '1ms',
      assertions: [
        assert.status().lessThan(300),
        assert.header('content-type').matches(/^application\/json/),
        assert.jsonPath('$.items[*].id').contains(2),
        assert.jsonPath('$.items').length().equals(2),
        assert.jsonPath('$.items[1].name').notEquals('a'),
        assert.jsonPath('$.total').greaterThan(1),
        assert.jsonPath('$.next').isNull(),
        assert.jsonPath("$['items'][0].id").isNotNull(),
        assert.body().matches('"name":"b"'),
        assert.responseTime().lessThan(5000),
      ],
    }));
    expect(passing.result).toMatchObject({ success: true, degraded: true });
    const failing = await run(http({ name: 'items-short', url: `${plainUrl}/items`, assertions: [assert.jsonPath('$.items').length().greaterThan(5)] }));
    expect(failing.result).toMatchObject({ success: false, reason: 'json $.items length greaterThan 5: got 2' });
    expect(failing.outcome.failure).toBe('assertion');
  });

  it('reports no status code and zero phases after a run that got no answer', async () => {
    const registry = createRegistry();
    const metrics = probeMetrics(registry);
    const gauge = async (name: string) => (await registry.getSingleMetric(name)!.get()).values.filter((value) => value.labels.probe === 'flapping');
    const ok = await run(http({ name: 'flapping', url: `${plainUrl}/ok` }));
    metrics.observe(ok.result, ok.outcome.failure, ok.outcome.metrics);
    expect((await gauge('probe_http_status_code'))[0]!.value).toBe(200);
    const refused = await run(http({ name: 'flapping', url: `http://127.0.0.1:${closedPort}/ok` }));
    metrics.observe(refused.result, refused.outcome.failure, refused.outcome.metrics);
    expect((await gauge('probe_http_status_code'))[0]!.value).toBe(0);
    expect((await gauge('probe_http_duration_seconds')).map((value) => value.value)).toEqual([0, 0, 0, 0, 0]);
  });

  it('sends traceparent from its span, and marks the span ERROR when the run fails', async () => {
    spans.reset();
    const { result } = await run(http({ name: 'traced', url: `${plainUrl}/trace` }));
    expect(seen.traceparent).toMatch(new RegExp(`^00-${result.traceId}-[0-9a-f]{16}-01$`));
    await run(http({ name: 'failing', url: `${plainUrl}/error` }));
    const probeSpans = spans.getFinishedSpans().filter((span) => span.name === 'probe.run');
    expect(probeSpans.map((span) => [span.attributes['probe.name'], span.status.code])).toEqual([
      ['traced', SpanStatusCode.UNSET],
      ['failing', SpanStatusCode.ERROR],
    ]);
  });

  it('measures TLS and the certificate expiry, refusing a self-signed certificate unless told', async () => {
    const refused = await run(http({ name: 'tls-strict', url: `${tlsUrl}/ok` }));
    expect(refused.result.success).toBe(false);
    expect(refused.outcome.failure).toBe('tls');
    const accepted = await run(http({ name: 'tls', url: `${tlsUrl}/ok`, tls: { insecure: true } }));
    expect(accepted.result.success).toBe(true);
    expect(accepted.result.timings!.tls).toBeGreaterThan(0);
    expect(accepted.result.details!.certDaysLeft).toBeGreaterThanOrEqual(29);
    expect(accepted.outcome.metrics!.sslEarliestCertExpiry! * 1000 - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const expiring = await run(http({ name: 'tls-expiring', url: `${tlsUrl}/ok`, tls: { insecure: true, minDaysLeft: 60 } }));
    expect(expiring.result.reason).toMatch(/^the certificate expires in (29|30) day\(s\), fewer than the 60 required$/);
  });

  it('aborts a run at its timeout: the connection is closed and the result says so', async () => {
    const clock = new FakeClock(Date.now());
    const before = { requests: seen.slowRequests, closed: seen.slowClosed };
    const running = run(http({ name: 'slow', url: `${plainUrl}/slow`, timeout: '2s' }), { clock });
    await waitFor('the slow request to arrive', () => seen.slowRequests > before.requests, 10_000, 10);
    await clock.advance(2000);
    const { result, outcome } = await running;
    expect(result).toMatchObject({ success: false, reason: 'timed out after 2s' });
    expect(outcome.failure).toBe('timeout');
    await waitFor('the server to see the connection closed', () => seen.slowClosed > before.closed, 5000, 10);
  });

  it('retries inside a run and reports the attempts', async () => {
    const clock = new FakeClock(Date.now());
    const running = run(http({ name: 'retry', url: `http://127.0.0.1:${closedPort}/`, retries: 2, retryDelay: '5s' }), { clock });
    for (let i = 0; i < 2; i++) {
      await waitFor('a retry to be scheduled', () => clock.pendingTimers > 0, 5000, 5);
      await clock.advance(5000);
    }
    const { result, outcome } = await running;
    expect(result.success).toBe(false);
    expect(outcome.failure).toBe('connection_refused');
    expect(result.details!.attempts).toBe(3);
  });
});

describe('tcp probe', () => {
  it('connects to an open port and fails on a closed one', async () => {
    const open = await run(tcp({ name: 'open', host: '127.0.0.1', port: Number(new URL(plainUrl).port), send: 'GET /ok HTTP/1.0\r\n\r\n', expectContains: 'HTTP/1.1 200' }));
    expect(open.result.success).toBe(true);
    expect(open.result.timings!.connect).toBeGreaterThan(0);
    const closed = await run(tcp({ name: 'closed', host: '127.0.0.1', port: closedPort }));
    expect(closed.result).toMatchObject({ success: false, reason: expect.stringContaining('ECONNREFUSED') });
    expect(closed.outcome.failure).toBe('connection_refused');
  });

  it('speaks TLS and checks the answer', async () => {
    const port = Number(new URL(tlsUrl).port);
    const { result } = await run(tcp({ name: 'tls-port', host: 'localhost', port, tls: true, insecure: true, send: 'GET /wrong HTTP/1.0\r\n\r\n', expectContains: 'hello' }));
    expect(result.success).toBe(false);
    expect(result.reason).toMatch(/did not send "hello"/);
    expect(result.timings!.tls).toBeGreaterThan(0);
  });
});

describe('dns probe', () => {
  it('resolves through a named server and checks the answers', async () => {
    const found = await run(dns({ name: 'dns', query: 'api.vigil.test', server: `127.0.0.1:${dnsPort}`, expectContains: ['10.0.0.7'] }));
    expect(found.result).toMatchObject({ success: true, details: { answers: ['10.0.0.7'] } });
    const missing = await run(dns({ name: 'dns-missing', query: 'api.example.invalid', server: `127.0.0.1:${dnsPort}` }));
    expect(missing.result.success).toBe(false);
    expect(missing.result.reason).toBe('api.example.invalid A: the name was not found (NXDOMAIN)');
    const expected = await run(dns({ name: 'dns-nxdomain', query: 'api.example.invalid', server: `127.0.0.1:${dnsPort}`, assertions: [assert.rcode().equals('NXDOMAIN')] }));
    expect(expected.result).toMatchObject({ success: true, details: { rcode: 'NXDOMAIN', answers: [] } });
  });

  it('uses the system resolver without a server', async () => {
    const { result } = await run(dns({ name: 'localhost', query: 'localhost', expectContains: ['127.0.0.1'] }));
    expect(result.success).toBe(true);
  });
});

describe('http probe network options', () => {
  let dir: string;
  let mtlsUrl: string;
  let pems: { ca: string; cert: string; key: string };
  let dualPort: number;
  let proxyUrl: string;
  const tunnels: string[] = [];
  /** Every connection the servers below accepted, closed after the tests so no server waits on one. */
  const accepted = new Set<net.Socket>();
  const tracked = (handle: (socket: net.Socket) => void) => (socket: net.Socket) => {
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
    handle(socket);
  };

  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-mtls-'));
    // A private authority, a server certificate for localhost and a client certificate, both signed by it.
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=Vigil test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
    for (const [name, san] of [['server', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], ['client', 'extendedKeyUsage=clientAuth']] as const) {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
      writeFileSync(path.join(dir, `${name}.ext`), `${san}\n`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
    }
    pems = { ca: read('ca.pem'), cert: read('client.pem'), key: read('client.key') };
    const mtls = createHttpsServer({ key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true }, (request, response) => {
      const peer = (request.socket as TLSSocket).getPeerCertificate();
      response.writeHead(200).end(`hello ${peer.subject?.CN}`);
    });
    mtlsUrl = `https://localhost:${await listen(mtls)}`;

    // The same port on 127.0.0.1 and ::1, each naming its family.
    const v4 = net.createServer(tracked((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nv4')));
    dualPort = await listen(v4);
    const v6 = net.createServer(tracked((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nv6')));
    servers.push(v6);
    await new Promise<void>((resolve) => v6.listen(dualPort, '::1', resolve));

    // A CONNECT proxy: tunnels to any port of 127.0.0.1, refuses port 1 with 403, and notes each tunnel.
    const proxy = net.createServer(tracked((client) => {
      client.once('data', (head) => {
        const authority = /^CONNECT (\S+) HTTP\/1\.1/.exec(head.toString('latin1'))?.[1] ?? '';
        tunnels.push(authority);
        const port = Number(authority.split(':').pop());
        if (port === 1) return client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        const upstream = net.connect({ host: '127.0.0.1', port }, () => {
          client.write('HTTP/1.1 200 Connection established\r\n\r\n');
          client.pipe(upstream).pipe(client);
        });
        accepted.add(upstream);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
    }));
    proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
  });

  afterAll(() => {
    for (const socket of accepted) socket.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('presents a client certificate and trusts a private authority, per probe', async () => {
    const unknownAuthority = await run(http({ name: 'mtls-no-ca', url: `${mtlsUrl}/` }));
    expect(unknownAuthority.result.success).toBe(false);
    expect(unknownAuthority.outcome.failure).toBe('tls');
    const noCertificate = await run(http({ name: 'mtls-no-cert', url: `${mtlsUrl}/`, tls: { ca: pems.ca } }));
    expect(noCertificate.result.success).toBe(false);
    const mutual = await run(http({ name: 'mtls', url: `${mtlsUrl}/`, tls: { ca: pems.ca, cert: pems.cert, key: pems.key }, assertions: [assert.body().equals('hello client')] }));
    expect(mutual.result).toMatchObject({ success: true, details: { status: 200 } });
    expect(mutual.outcome.metrics!.sslLastChainExpiry).toBeGreaterThan(Date.now() / 1000);
  });

  it('tcp presents a client certificate over TLS and picks the IP family', async () => {
    const port = new URL(mtlsUrl).port;
    const mutual = await run(tcp({ name: 'tcp-mtls', host: 'localhost', port: Number(port), tls: true, ca: pems.ca, cert: pems.cert, key: pems.key, ipFamily: 4, send: 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', expectContains: 'hello client' }));
    expect(mutual.result.success).toBe(true);
    expect(mutual.outcome.metrics!.ipProtocol).toBe(4);
    const v6 = await run(tcp({ name: 'tcp-6', host: 'localhost', port: dualPort, ipFamily: 6 }));
    expect(v6.result).toMatchObject({ success: false, reason: 'DNS name not found: localhost (ENOTFOUND)' });
  });

  it('connects over the IP family asked for', async () => {
    const v4 = await run(http({ name: 'family-4', url: `http://localhost:${dualPort}/`, ipFamily: 4, assertions: [assert.body().equals('v4')] }));
    expect(v4.result.success).toBe(true);
    expect(v4.outcome.metrics!.ipProtocol).toBe(4);
    const v6 = await run(http({ name: 'family-6', url: `http://[::1]:${dualPort}/`, ipFamily: 6, assertions: [assert.body().equals('v6')] }));
    expect(v6.result.success).toBe(true);
    expect(v6.outcome.metrics!.ipProtocol).toBe(6);
    // localhost has no IPv6 address here: asking for 6 does not fall back to 4.
    const noAddress = await run(http({ name: 'family-6-name', url: `http://localhost:${dualPort}/`, ipFamily: 6 }));
    expect(noAddress.result).toMatchObject({ success: false, reason: 'DNS name not found: localhost (ENOTFOUND)' });
  });

  it('goes through an HTTP CONNECT proxy, one tunnel per run, for http and https', async () => {
    const before = tunnels.length;
    const plain = await run(http({ name: 'proxied', url: `${plainUrl}/ok`, proxy: proxyUrl }));
    expect(plain.result.success).toBe(true);
    const secure = await run(http({ name: 'proxied-tls', url: `${mtlsUrl}/`, proxy: proxyUrl, tls: { ca: pems.ca, cert: pems.cert, key: pems.key } }));
    expect(secure.result).toMatchObject({ success: true });
    expect(secure.result.timings!.tls).toBeGreaterThan(0);
    expect(tunnels.slice(before)).toEqual([new URL(plainUrl).host, `localhost:${new URL(mtlsUrl).port}`]);
    const refused = await run(http({ name: 'proxy-refuses', url: 'http://127.0.0.1:1/', proxy: proxyUrl }));
    expect(refused.result).toMatchObject({ success: false, reason: `the proxy ${new URL(proxyUrl).host} refused the tunnel to 127.0.0.1:1: status 403` });
  });

  it('says what is wrong with a network option', () => {
    const issues = (definition: ReturnType<typeof http>) => (definition.valid ? [] : definition.issues).join('\n');
    expect(issues(http({ name: 'x', url: 'http://a.test/', ipFamily: 5 as never }))).toMatch(/^ipFamily: ipFamily is 4 or 6/m);
    expect(issues(http({ name: 'x', url: 'http://127.0.0.1/', ipFamily: 6 }))).toMatch(/^ipFamily: ipFamily is 6 but the host 127\.0\.0\.1 is an IPv4 address/m);
    expect(issues(http({ name: 'x', url: 'http://a.test/', tls: { cert: pems.cert } }))).toMatch(/tls\.cert and tls\.key go together/);
    expect(issues(http({ name: 'x', url: 'http://a.test/', tls: { ca: 'ca.pem' } }))).toMatch(/^tls\.ca: tls\.ca is not PEM text/m);
    const tcpIssues = (definition: ReturnType<typeof tcp>) => (definition.valid ? [] : definition.issues).join('\n');
    expect(tcpIssues(tcp({ name: 'x', host: '::1', port: 1, ipFamily: 4 }))).toMatch(/^ipFamily: ipFamily is 4 but the host ::1 is an IPv6 address/m);
    expect(tcpIssues(tcp({ name: 'x', host: 'a.test', port: 1, ca: pems.ca }))).toMatch(/^tls: ca, cert and key are for TLS connections: set tls: true/m);
    expect(issues(http({ name: 'x', url: 'http://a.test/', proxy: 'socks5://127.0.0.1:1080' }))).toMatch(/^proxy: proxy uses socks5; an http:\/\/ proxy \(HTTP CONNECT\) is supported/m);
  });
});
