import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls, { type DetailedPeerCertificate } from 'node:tls';
import { Agent, Client, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { redactUrl } from '../../core/config/index.ts';
import { secret } from '../../core/config/secret.ts';
import { duration } from '../../core/config/duration.ts';
import { defineKind, urlTarget } from '../define.ts';
import { assert, assertionsSchema, firstFailure, readJsonPath, type Assertion } from '../assertions.ts';
import type { KindMetrics, KindOutcome } from '../types.ts';
import { since } from './timing.ts';

const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Handed to the run's agent when it is closed: one error for every run, as making one per run (its stack) costs more than the request. */
const RUN_OVER = new Error('the probe run is over');
const DAY_MS = 86_400_000;

const options = z.strictObject({
  /** An http(s) URL, or a path like "/readyz" on this Vigil's own address. */
  url: z.string().superRefine((url, ctx) => {
    const problem = urlProblem(url);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
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
  /** Follow 3xx answers to their Location (the final answer is judged; `assert.redirects()` counts the hops). */
  followRedirects: z.boolean().default(true),
  maxRedirects: z.number().int().min(0).max(20).default(10),
  /** Checks on the final answer, built with `assert`: status, header, body, jsonPath, responseTime, certDaysLeft, redirects. */
  assertions: assertionsSchema(['status', 'header', 'body', 'json', 'responseTime', 'certDaysLeft', 'redirects']),
  tls: z
    .strictObject({
      /** Accept certificates that do not verify (self-signed); expiry is still measured. */
      insecure: z.boolean().default(false),
      /** Fail when the earliest certificate in the chain expires in fewer days. */
      minDaysLeft: z.number().min(0).optional(),
      ...trustFields('tls.'),
    })
    .refine((value) => (value.cert === undefined) === (value.key === undefined), 'tls.cert and tls.key go together: give both for a client certificate, or neither')
    .default({ insecure: false }),
  ipFamily: ipFamilyField(),
  /** An HTTP proxy (http://[user:password@]host:port) the request is tunnelled through with CONNECT; each run opens its own tunnel. */
  proxy: secret()
    .refine((value) => proxyProblem(value.reveal()) === undefined, { error: (issue) => proxyProblem((issue.input as { reveal(): string }).reveal()) ?? 'invalid proxy' })
    .optional(),
});

/** A private authority and a client certificate, as the http (`tls.ca`, ...) and tcp (`ca`, ...) kinds take them. */
export function trustFields(prefix: string) {
  return {
    /** PEM certificate(s) of the authority the server's chain must lead to, instead of the system's. */
    ca: pem(`${prefix}ca`, 'CERTIFICATE').optional(),
    /** Client certificate (PEM) presented to servers that ask for one (mutual TLS); needs `key`. */
    cert: pem(`${prefix}cert`, 'CERTIFICATE').optional(),
    /** Private key (PEM) of `cert`; kept secret. */
    key: secret()
      .refine((value) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value.reveal()), `${prefix}key is not a PEM private key (it starts with -----BEGIN PRIVATE KEY-----)`)
      .optional(),
  };
}

/** Connect over IPv4 or IPv6 only (the host name is resolved for that family); both when absent. */
export function ipFamilyField() {
  return z.literal([4, 6], { error: 'ipFamily is 4 or 6' }).optional();
}

/** The problem of asking for one family while naming an address of the other (it would connect over its own family). */
export function familyProblem(host: string, family: 4 | 6 | undefined): string[] {
  const literal = net.isIP(host.replace(/^\[|\]$/g, ''));
  return family && literal && literal !== family ? [`ipFamily: ipFamily is ${family} but the host ${host} is an IPv${literal} address`] : [];
}

function pem(field: string, label: string) {
  return z.string().refine((value) => value.includes(`-----BEGIN ${label}-----`), `${field} is not PEM text (it contains -----BEGIN ${label}-----); read the file with readFileSync(path, 'utf8')`);
}

function proxyProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'proxy is not a URL: write it as http://host:port';
  }
  if (parsed.protocol !== 'http:') return `proxy uses ${parsed.protocol.slice(0, -1)}; an http:// proxy (HTTP CONNECT) is supported`;
  return undefined;
}

type Options = z.output<typeof options>;

interface Marks {
  start: number;
  resolved?: number;
  connected?: number;
  secured?: number;
  certExpiry?: number;
}

const TLS_VERSIONS: Record<string, string> = { TLSv1: 'TLS 1.0', 'TLSv1.1': 'TLS 1.1', 'TLSv1.2': 'TLS 1.2', 'TLSv1.3': 'TLS 1.3' };

/** An HTTP(S) request through undici with per-phase timings, redirects, assertions and certificate expiry; sends traceparent. */
export const http = defineKind({
  kind: 'http',
  options,
  target: (config) => (config.url.startsWith('/') ? 'self' : urlTarget(config.url)),
  problems: (config) => familyProblem(URL.canParse(config.url) ? new URL(config.url).hostname : '', config.ipFamily),
  async run(config, context) {
    const start = performance.now();
    const marks: Marks = { start };
    const observed = context.observed ?? {};
    // One Client per origin, not the default Pool: a run sends one request at a time, and each Pool allocates a 2,048-slot
    // queue that, at thousands of runs a minute, was most of the memory the runs left behind.
    const agent = new Agent({ connect: timedConnector(config, marks, observed, context.signal), pipelining: 0, factory: (origin, options) => new Client(origin, options) });
    try {
      const headers = { 'user-agent': 'Vigil-probe', ...config.headers, ...(context.traceparent ? { traceparent: context.traceparent } : {}) };
      let url = config.url.startsWith('/') ? new URL(config.url, context.publicUrl).toString() : config.url;
      let method = config.method as Dispatcher.HttpMethod;
      let body = config.body ?? null;
      for (let redirects = 0; ; redirects++) {
        const response = await request(url, { method, headers, body, signal: context.signal, dispatcher: agent });
        const location = response.headers.location;
        if (config.followRedirects && REDIRECTS.has(response.statusCode) && typeof location === 'string') {
          await response.body.dump();
          if (redirects === config.maxRedirects) return tooManyRedirects(config, response.statusCode, redirects, url, observed);
          url = new URL(location, url).toString();
          // As browsers do: a 303, and a 301/302 after a POST, fetch the new place with GET and no body.
          if (response.statusCode === 303 || (method === 'POST' && response.statusCode !== 307 && response.statusCode !== 308)) [method, body] = ['GET', null];
          // Phases describe the request that gave the final answer.
          Object.assign(marks, { start: performance.now(), resolved: undefined, connected: undefined, secured: undefined });
          continue;
        }
        const firstByte = performance.now();
        const text = await readBody(response.body);
        const timings = { ...phaseTimings(marks, firstByte, performance.now()), total: since(start, performance.now()) };
        return judge(config, { status: response.statusCode, headers: response.headers, body: text, url, redirects }, timings, marks.certExpiry, { ...observed, httpSsl: url.startsWith('https:') });
      }
    } finally {
      await agent.destroy(RUN_OVER).catch(() => {});
    }
  },
});

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function urlProblem(url: string): string | undefined {
  if (url.startsWith('/')) return url.startsWith('//') ? `"${url}" starts with "//"; a path on this Vigil starts with a single "/"` : undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL: write it with its scheme (http://${url}) or as a path like /readyz on this Vigil`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `"${url}" uses ${parsed.protocol.slice(0, -1)}; an http probe takes an http:// or https:// URL`;
  return undefined;
}

function tooManyRedirects(config: Options, status: number, redirects: number, url: string, observed: KindMetrics): KindOutcome {
  return {
    success: false,
    failure: 'redirects',
    reason: `more than ${config.maxRedirects} redirect(s); the last answer was ${status} at ${new URL(url).pathname}`,
    details: { status, redirects },
    metrics: { ...observed, httpStatusCode: status, httpRedirects: redirects },
  };
}

function timedConnector(config: Options, marks: Marks, observed: KindMetrics, signal: AbortSignal) {
  return (target: { hostname: string; protocol: string; port: string; servername?: string }, callback: (...args: [null, net.Socket] | [Error, null]) => void) => {
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const secure = target.protocol === 'https:';
    const port = Number(target.port) || (secure ? 443 : 80);
    const family = config.ipFamily ? { family: config.ipFamily } : {};
    const tlsOptions: tls.ConnectionOptions = {
      servername: net.isIP(host) ? '' : (target.servername ?? host),
      rejectUnauthorized: !config.tls.insecure,
      ALPNProtocols: ['http/1.1'],
      ...(config.tls.ca ? { ca: config.tls.ca } : {}),
      ...(config.tls.cert && config.tls.key ? { cert: config.tls.cert, key: config.tls.key.reveal() } : {}),
    };
    const proxy = config.proxy ? new URL(config.proxy.reveal()) : undefined;
    // Through a proxy the first socket goes to the proxy; the timings and address are the proxy's, the TLS is the target's.
    const first = proxy
      ? net.connect({ host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port) || 80, ...family })
      : secure
        ? tls.connect({ host, port, ...family, ...tlsOptions })
        : net.connect({ host, port, ...family });
    let socket: net.Socket = first;
    const onAbort = () => socket.destroy(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    const connectedHost = proxy ? proxy.hostname.replace(/^\[|\]$/g, '') : host;
    if (net.isIP(connectedHost)) Object.assign(observed, { dnsLookupSeconds: 0, ...addressFigures(connectedHost) });
    first.once('lookup', (_error: Error | null, address: string) => {
      marks.resolved = performance.now();
      Object.assign(observed, { dnsLookupSeconds: (marks.resolved - marks.start) / 1000, ...addressFigures(address) });
    });
    first.once('connect', () => (marks.connected = performance.now()));
    const fail = (error: Error) => {
      signal.removeEventListener('abort', onAbort);
      callback(error, null);
    };
    const ready = () => {
      socket.removeListener('error', fail);
      signal.removeEventListener('abort', onAbort);
      if (secure) {
        marks.secured = performance.now();
        const tlsSocket = socket as tls.TLSSocket;
        marks.certExpiry = earliestExpiry(tlsSocket.getPeerCertificate(true));
        Object.assign(observed, tlsFigures(tlsSocket));
      }
      withoutStacksWhileParsing(socket);
      callback(null, socket);
    };
    first.once('error', fail);
    if (!proxy) {
      first.once(secure ? 'secureConnect' : 'connect', ready);
      return;
    }
    first.once('connect', () => {
      openTunnel(first, proxy, host, port).then(
        () => {
          marks.connected = performance.now();
          if (!secure) return ready();
          first.removeListener('error', fail);
          socket = tls.connect({ socket: first, ...tlsOptions });
          socket.once('error', fail);
          socket.once('secureConnect', ready);
        },
        (error: Error) => {
          first.destroy();
          fail(error);
        },
      );
    });
  };
}

/**
 * undici ends every `connection: close` exchange (one connection per run) by destroying the socket with a new
 * InformationalError('reset'), whose stack, collected and then formatted by the stream's destroy, was about 7% of a
 * run's CPU. Errors made while undici parses what this socket received carry no stack: none is ever shown (a run
 * reports an error's message), and the limit is back before any other code runs.
 */
function withoutStacksWhileParsing(socket: net.Socket): void {
  const emit = socket.emit;
  socket.emit = function (this: net.Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'readable') return Reflect.apply(emit, this, [event, ...args]) as boolean;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return Reflect.apply(emit, this, [event, ...args]) as boolean;
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}

/** Asks the proxy on `socket` for a tunnel to host:port (HTTP CONNECT); resolves once it answers 2xx. */
function openTunnel(socket: net.Socket, proxy: URL, host: string, port: number): Promise<void> {
  const authority = `${net.isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const credentials = proxy.username ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n` : '';
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${credentials}\r\n`);
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > 16_384) done(new Error(`the proxy ${proxy.host} sent no answer to CONNECT`));
        return;
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      // Bytes after the answer belong to the tunnel: none are expected before the client speaks first.
      if (status >= 200 && status < 300) done();
      else done(new Error(`the proxy ${proxy.host} refused the tunnel to ${authority}: ${status ? `status ${status}` : 'not an HTTP answer'}`));
    };
    const onClose = () => done(new Error(`the proxy ${proxy.host} closed the connection before opening the tunnel to ${authority}`));
    const done = (error?: Error) => {
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** probe_ip_protocol and probe_ip_addr_hash of an address: FNV-1a (32 bit) over its 4 or 16 bytes, as blackbox_exporter hashes it. */
export function addressFigures(address: string): KindMetrics {
  const family = net.isIP(address);
  if (family === 0) return {};
  let hash = 0x811c9dc5;
  for (const byte of addressBytes(address, family)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return { ipProtocol: family as 4 | 6, ipAddrHash: hash };
}

function addressBytes(address: string, family: number): number[] {
  if (family === 4) return address.split('.').map(Number);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes its two 16-bit groups.
  const hex = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_match, a: string, b: string, c: string, d: string) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const [head = '', tail] = hex.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((group) => {
    const value = Number.parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
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
  const resolved = marks.resolved ?? marks.start;
  const connected = marks.connected ?? resolved;
  const secured = marks.secured ?? connected;
  return {
    dns: since(marks.start, resolved),
    connect: since(resolved, connected),
    tls: since(connected, secured),
    firstByte: since(secured, firstByte),
    transfer: since(firstByte, end),
    total: since(marks.start, end),
  };
}

interface Answer {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  body: string;
  url: string;
  redirects: number;
}

const KEPT_BODY_CHARS = 1024;
const HIDDEN_HEADERS = new Set(['set-cookie', 'authorization', 'proxy-authorization', 'cookie']);

function judge(config: Options, answer: Answer, timings: Record<string, number>, certExpiry: number | undefined, observed: KindMetrics): KindOutcome {
  const contentLength = Number(answer.headers['content-length']);
  const metrics: KindMetrics = {
    ...observed,
    httpStatusCode: answer.status,
    httpPhases: { resolve: timings.dns! / 1000, connect: timings.connect! / 1000, tls: timings.tls! / 1000, processing: timings.firstByte! / 1000, transfer: timings.transfer! / 1000 },
    // Connections are HTTP/1.1 only (ALPN offers nothing else).
    httpVersion: 1.1,
    httpContentLength: Number.isInteger(contentLength) ? contentLength : -1,
    httpUncompressedBodyLength: Buffer.byteLength(answer.body),
    httpRedirects: answer.redirects,
  };
  const certDaysLeft = certExpiry !== undefined ? Math.floor((certExpiry - Date.now()) / DAY_MS) : undefined;
  const details = { status: answer.status, bytes: Buffer.byteLength(answer.body), redirects: answer.redirects, ...(answer.redirects > 0 ? { finalUrl: redactUrl(answer.url) } : {}), ...(certDaysLeft !== undefined ? { certDaysLeft } : {}) };
  // The answer of a failed run is kept with it (headers and the start of the body), bounded, without cookies or credentials.
  const fail = (failure: string, reason: string): KindOutcome => ({ success: false, failure, reason, timings, details: { ...details, response: keptResponse(answer) }, metrics });
  const { expect } = config;
  const accepted = expect.status === undefined ? null : [expect.status].flat();
  if (accepted ? !accepted.includes(answer.status) : answer.status >= 400) {
    return fail('status', `expected status ${accepted ? accepted.join(' or ') : '2xx or 3xx'}, got ${answer.status}`);
  }
  let document: unknown;
  const parsed = () => {
    if (document === undefined) {
      try {
        document = JSON.parse(answer.body);
      } catch {
        document = NOT_JSON;
      }
    }
    return document;
  };
  const failed = firstFailure([...shorthands(config), ...config.assertions], (assertion) => {
    switch (assertion.source) {
      case 'status':
        return answer.status;
      case 'header': {
        const value = answer.headers[assertion.property!];
        return value === undefined ? null : [value].flat().join(', ');
      }
      case 'body':
        return answer.body;
      case 'json': {
        const json = parsed();
        return json === NOT_JSON ? null : readJsonPath(json, assertion.property!);
      }
      case 'responseTime':
        return timings.total;
      case 'certDaysLeft':
        return certDaysLeft ?? null;
      case 'redirects':
        return answer.redirects;
      default:
        return null;
    }
  });
  if (failed) return fail(failed.startsWith('json') && parsed() === NOT_JSON ? 'json' : 'assertion', failed.startsWith('json') && parsed() === NOT_JSON ? `${failed} (the body is not JSON)` : failed);
  if (config.tls.minDaysLeft !== undefined && certDaysLeft !== undefined && certDaysLeft < config.tls.minDaysLeft) {
    return fail('certificate_expiry', `the certificate expires in ${certDaysLeft} day(s), fewer than the ${config.tls.minDaysLeft} required`);
  }
  return { success: true, timings, details, metrics };
}

const NOT_JSON = Symbol('not JSON');

/** The `expect` options, as the assertions they stand for. */
function shorthands({ expect }: Options): Assertion[] {
  return [
    ...Object.entries(expect.headers ?? {}).map(([name, wanted]) => assert.header(name).contains(wanted)),
    ...(expect.bodyContains !== undefined ? [assert.body().contains(expect.bodyContains)] : []),
    ...(expect.bodyNotContains !== undefined ? [assert.body().notContains(expect.bodyNotContains)] : []),
    ...Object.entries(expect.json ?? {}).map(([path, wanted]) => assert.jsonPath(`$.${path}`).equals(wanted)),
    ...(expect.maxLatency !== undefined ? [assert.responseTime().lessThan(expect.maxLatency)] : []),
  ];
}

function keptResponse(answer: Answer): Record<string, unknown> {
  const headers = Object.fromEntries(
    Object.entries(answer.headers)
      .filter(([name]) => !HIDDEN_HEADERS.has(name))
      .slice(0, 30)
      .map(([name, value]) => [name, [value ?? ''].flat().join(', ').slice(0, 200)]),
  );
  return { status: answer.status, headers, body: answer.body.slice(0, KEPT_BODY_CHARS), ...(answer.body.length > KEPT_BODY_CHARS ? { truncated: true } : {}) };
}
