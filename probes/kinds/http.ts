import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls, { type DetailedPeerCertificate } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { duration } from '../duration.ts';
import { defineKind } from '../define.ts';
import type { KindMetrics, KindOutcome } from '../types.ts';

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const DAY_MS = 86_400_000;

const options = z.strictObject({
  /** An http(s) URL, or a path like "/readyz" on this Vigil's own address. */
  url: z.union([z.url({ protocol: /^https?$/ }), z.string().regex(/^\/[^/]/, 'a path on this Vigil starts with a single "/"')]),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  expect: z
    .strictObject({
      /** Accepted status codes; any 2xx or 3xx when absent. */
      status: z.union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)]).optional(),
      /** Header name → text the value must contain. */
      headers: z.record(z.string(), z.string()).optional(),
      bodyContains: z.string().optional(),
      bodyNotContains: z.string().optional(),
      /** Dotted JSON paths (`status`, `items.0.id`) → the value they must equal. */
      json: z.record(z.string(), z.unknown()).optional(),
      maxLatency: duration().optional(),
    })
    .default({}),
  tls: z
    .strictObject({
      /** Accept certificates that do not verify (self-signed); expiry is still measured. */
      insecure: z.boolean().default(false),
      /** Fail when the earliest certificate in the chain expires in fewer days. */
      minDaysLeft: z.number().min(0).optional(),
    })
    .default({ insecure: false }),
});

type Options = z.output<typeof options>;

interface Marks {
  start: number;
  resolved?: number;
  connected?: number;
  secured?: number;
  certExpiry?: number;
}

const TLS_VERSIONS: Record<string, string> = { TLSv1: 'TLS 1.0', 'TLSv1.1': 'TLS 1.1', 'TLSv1.2': 'TLS 1.2', 'TLSv1.3': 'TLS 1.3' };

/** An HTTP(S) request through undici with per-phase timings, assertions and certificate expiry; sends traceparent. */
export const http = defineKind({
  kind: 'http',
  options,
  async run(config, context) {
    const marks: Marks = { start: performance.now() };
    const observed = context.observed ?? {};
    const agent = new Agent({ connect: timedConnector(config, marks, observed, context.signal), pipelining: 0 });
    try {
      const headers = { 'user-agent': 'Vigil-probe', ...config.headers, ...(context.traceparent ? { traceparent: context.traceparent } : {}) };
      const url = config.url.startsWith('/') ? new URL(config.url, context.publicUrl).toString() : config.url;
      const response = await request(url, { method: config.method as Dispatcher.HttpMethod, headers, body: config.body ?? null, signal: context.signal, dispatcher: agent });
      const firstByte = performance.now();
      const body = await readBody(response.body);
      return judge(config, response, body, phaseTimings(marks, firstByte, performance.now()), marks.certExpiry, { ...observed, httpSsl: url.startsWith('https:') });
    } finally {
      await agent.destroy().catch(() => {});
    }
  },
});

function timedConnector(config: Options, marks: Marks, observed: KindMetrics, signal: AbortSignal) {
  return (target: { hostname: string; protocol: string; port: string; servername?: string }, callback: (...args: [null, net.Socket] | [Error, null]) => void) => {
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const secure = target.protocol === 'https:';
    const port = Number(target.port) || (secure ? 443 : 80);
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? '' : (target.servername ?? host), rejectUnauthorized: !config.tls.insecure, ALPNProtocols: ['http/1.1'] })
      : net.connect({ host, port });
    const onAbort = () => socket.destroy(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    const literal = net.isIP(host);
    if (literal) Object.assign(observed, { ipProtocol: literal, dnsLookupSeconds: 0 });
    socket.once('lookup', (_error: Error | null, _address: string, family: number | string | null) => {
      marks.resolved = performance.now();
      Object.assign(observed, { dnsLookupSeconds: (marks.resolved - marks.start) / 1000, ...(family === 4 || family === 6 ? { ipProtocol: family } : {}) });
    });
    socket.once('connect', () => (marks.connected = performance.now()));
    const onError = (error: Error) => {
      signal.removeEventListener('abort', onAbort);
      callback(error, null);
    };
    socket.once('error', onError);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.removeListener('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (secure) {
        marks.secured = performance.now();
        const tlsSocket = socket as tls.TLSSocket;
        marks.certExpiry = earliestExpiry(tlsSocket.getPeerCertificate(true));
        Object.assign(observed, tlsFigures(tlsSocket));
      }
      callback(null, socket);
    });
  };
}

/** The TLS version and certificate expiries of an established connection, as blackbox_exporter names them. */
export function tlsFigures(socket: tls.TLSSocket): KindMetrics {
  const expiry = earliestExpiry(socket.getPeerCertificate(true));
  const version = TLS_VERSIONS[socket.getProtocol() ?? ''];
  return {
    ...(version ? { tlsVersion: version } : {}),
    ...(expiry !== undefined ? { sslEarliestCertExpiry: Math.floor(expiry / 1000) } : {}),
    // blackbox_exporter reports the verified chain's expiry only; an unverified (insecure) chain has none.
    ...(expiry !== undefined && socket.authorized ? { sslLastChainExpiry: Math.floor(expiry / 1000) } : {}),
  };
}

function earliestExpiry(certificate: DetailedPeerCertificate): number | undefined {
  let earliest: number | undefined;
  const seen = new Set<DetailedPeerCertificate>();
  for (let current: DetailedPeerCertificate | undefined = certificate; current?.valid_to && !seen.has(current); current = current.issuerCertificate) {
    seen.add(current);
    const expiry = Date.parse(current.valid_to);
    if (!Number.isNaN(expiry)) earliest = Math.min(earliest ?? expiry, expiry);
  }
  return earliest;
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function phaseTimings(marks: Marks, firstByte: number, end: number): Record<string, number> {
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  const resolved = marks.resolved ?? marks.start;
  const connected = marks.connected ?? resolved;
  const secured = marks.secured ?? connected;
  return {
    dns: round(resolved - marks.start),
    connect: round(connected - resolved),
    tls: round(secured - connected),
    firstByte: round(firstByte - secured),
    transfer: round(end - firstByte),
    total: round(end - marks.start),
  };
}

function judge(config: Options, response: Dispatcher.ResponseData, body: string, timings: Record<string, number>, certExpiry: number | undefined, observed: KindMetrics): KindOutcome {
  const contentLength = Number(response.headers['content-length']);
  const metrics: KindMetrics = {
    ...observed,
    httpStatusCode: response.statusCode,
    httpPhases: { resolve: timings.dns! / 1000, connect: timings.connect! / 1000, tls: timings.tls! / 1000, processing: timings.firstByte! / 1000, transfer: timings.transfer! / 1000 },
    // Connections are HTTP/1.1 only (ALPN offers nothing else).
    httpVersion: 1.1,
    httpContentLength: Number.isInteger(contentLength) ? contentLength : -1,
    httpUncompressedBodyLength: Buffer.byteLength(body),
    httpRedirects: 0,
  };
  const certDaysLeft = certExpiry !== undefined ? Math.floor((certExpiry - Date.now()) / DAY_MS) : undefined;
  const details = { status: response.statusCode, bytes: Buffer.byteLength(body), ...(certDaysLeft !== undefined ? { certDaysLeft } : {}) };
  const fail = (failure: string, reason: string): KindOutcome => ({ success: false, failure, reason, timings, details, metrics });
  const { expect } = config;
  const accepted = expect.status === undefined ? null : [expect.status].flat();
  if (accepted ? !accepted.includes(response.statusCode) : response.statusCode >= 400) {
    return fail('status', `expected status ${accepted ? accepted.join(' or ') : '2xx or 3xx'}, got ${response.statusCode}`);
  }
  for (const [name, wanted] of Object.entries(expect.headers ?? {})) {
    const actual = [response.headers[name.toLowerCase()] ?? ''].flat().join(', ');
    if (!actual.includes(wanted)) return fail('header', `header ${name} is "${actual}", expected it to contain "${wanted}"`);
  }
  if (expect.bodyContains !== undefined && !body.includes(expect.bodyContains)) return fail('body', `body does not contain "${expect.bodyContains}"`);
  if (expect.bodyNotContains !== undefined && body.includes(expect.bodyNotContains)) return fail('body', `body contains "${expect.bodyNotContains}"`);
  if (expect.json) {
    let document: unknown;
    try {
      document = JSON.parse(body);
    } catch {
      return fail('json', 'body is not JSON');
    }
    for (const [path, wanted] of Object.entries(expect.json)) {
      const actual = path.split('.').reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), document);
      if (JSON.stringify(actual) !== JSON.stringify(wanted)) return fail('json', `JSON ${path} is ${JSON.stringify(actual) ?? 'missing'}, expected ${JSON.stringify(wanted)}`);
    }
  }
  if (expect.maxLatency !== undefined && timings.total! > expect.maxLatency) return fail('latency', `took ${Math.round(timings.total!)} ms, more than the ${expect.maxLatency} ms allowed`);
  if (config.tls.minDaysLeft !== undefined && certDaysLeft !== undefined && certDaysLeft < config.tls.minDaysLeft) {
    return fail('certificate_expiry', `the certificate expires in ${certDaysLeft} day(s), fewer than the ${config.tls.minDaysLeft} required`);
  }
  return { success: true, timings, details, metrics };
}
