import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { Registry } from 'prom-client';
import type { CoreConfig } from '../config/schema.ts';
import type { Logger } from '../telemetry/logger.ts';
import { OPENMETRICS_CONTENT_TYPE, renderOpenMetrics, wantsOpenMetrics } from '../telemetry/openmetrics.ts';
import type { RepeatLimiter } from '../telemetry/repeats.ts';
import { tracer } from '../telemetry/tracing.ts';
import { asDependencyUnavailable } from '../unavailable.ts';
import type { AccessControl } from './auth.ts';
import { proxyMatcher } from './proxies.ts';
import { RequestDurations } from './request-durations.ts';
import { guardConnections } from './connections.ts';
import { serveOpenApiDocument } from './openapi.ts';
import { schemaCompilersOnFirstUse } from './schema-compilers.ts';

// Not `import http from 'node:http'`: an ES module import of node:http reads every export, and reading its WebSocket
// loads Node's own copy of undici (the one behind the global fetch, 745 KB of source), which a start does not need:
// the probes bring undici themselves. 1.5-2 MiB of idle RSS on PostgreSQL (test/core/footprint.test.ts).
const http = process.getBuiltinModule('node:http');

export type HttpServer = FastifyInstance;

export interface Readiness {
  ready: boolean;
  /** One line a person can act on, present when not ready. */
  reason?: string;
  checks: Array<{ name: string; ok: boolean; reason?: string }>;
}

/** The client limits of the `server` config section. */
export type HttpLimits = Pick<
  CoreConfig['server'],
  | 'bodyLimit'
  | 'headersTimeout'
  | 'bodyIdleTimeout'
  | 'requestTimeout'
  | 'keepAliveTimeout'
  | 'maxRequestsPerConnection'
  | 'maxConnections'
  | 'maxConnectionsPerClient'
  | 'trustProxy'
>;

export interface HttpServerOptions {
  logger: Logger;
  registry: Registry;
  readiness: () => Promise<Readiness>;
  limits: HttpLimits;
  /** Logs repeated failures once per cause per interval. */
  repeats: RepeatLimiter;
  /** Serve /metrics and export the listener's connection figures (the internal listener does; a separate public one does not). */
  metrics?: boolean;
  /** The process's access check (admin tokens and API keys), shared by its listeners. */
  access: AccessControl;
  /** The version the OpenAPI document states. */
  version?: string;
}

/**
 * Answers a request before Fastify routes it, from bytes prepared in advance (a hot public path); returns the route
 * template it answered as (the request histogram's label), or undefined to leave the request to Fastify. `client` is
 * the peer's IPv4 address (requests through a trusted proxy, from IPv6 peers or while closing never get here). Only
 * public paths may be answered so: the access check runs on routed requests.
 */
export type FastAnswer = (request: IncomingMessage, response: ServerResponse, client: string) => string | undefined;

declare module 'fastify' {
  interface FastifyInstance {
    /** Adds a fast answer (see FastAnswer), tried in order before routing; encapsulated scopes share the list. */
    answerFast(answer: FastAnswer): void;
  }
  interface FastifyRequest {
    span?: Span;
  }
  interface FastifyContextConfig {
    /** The 413 a route answers for a body over its `bodyLimit`, in its own words (e.g. naming the setting that sets it). */
    bodyTooLarge?: { code: string; message: string };
  }
}

/** Fastify with /healthz, /readyz, /metrics, a span and a duration histogram per request, and JSON errors. */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { limits, repeats } = options;
  const isProxy = proxyMatcher(limits.trustProxy);
  // Liveness is asked often (probes, orchestrators) and never changes: answered before routing too.
  const fastAnswers: FastAnswer[] = [answerHealthz];
  // Once closing, answers end their connection, so keep-alive clients do not hold the shutdown open.
  let closing = false;
  /** Whether a fast answer took the request (counted in the request histogram like any other; no span of its own). */
  const answeredFast = (request: IncomingMessage, response: ServerResponse): boolean => {
    const peer = request.socket.remoteAddress;
    if (closing || peer === undefined || isProxy(peer)) return false;
    const client = peer.startsWith('::ffff:') ? peer.slice(7) : peer;
    if (client.includes(':')) return false;
    const started = performance.now();
    for (const answer of fastAnswers) {
      const route = answer(request, response, client);
      if (route === undefined) continue;
      durations.observe(request.method ?? 'GET', route, response.statusCode, (performance.now() - started) / 1000);
      return true;
    }
    return false;
  };
  const app = Fastify({
    // Fastify's own server, with the fast answers tried before its routing.
    serverFactory: (handler) => {
      // Node checks header deadlines on an interval (30 s by default), which would let a slow client overstay by that much.
      const server = http.createServer({ headersTimeout: limits.headersTimeout, connectionsCheckingInterval: Math.min(1000, Math.max(100, limits.headersTimeout / 4)) }, (request, response) => {
        if (!answeredFast(request, response)) handler(request, response);
      });
      // Node's own request timeout would also cut long uploads; the per-route one below leaves streamed bodies alone.
      server.requestTimeout = 0;
      server.setTimeout(limits.bodyIdleTimeout);
      server.keepAliveTimeout = limits.keepAliveTimeout;
      if (limits.maxRequestsPerConnection > 0) server.maxRequestsPerSocket = limits.maxRequestsPerConnection;
      return server;
    },
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    schemaController: { compilersFactory: schemaCompilersOnFirstUse },
    ...(limits.trustProxy.length > 0 ? { trustProxy: [...limits.trustProxy] } : {}),
  });
  // The connection figures are per listener and named without one: a second listener caps its connections alike
  // but keeps its counts out of /metrics.
  app.decorate('answerFast', (answer: FastAnswer) => void fastAnswers.push(answer));
  guardConnections(app.server, { ...limits, isProxy }, options.metrics === false ? new Registry() : options.registry);
  // A second listener in the process shares the request histogram.
  const durations = RequestDurations.of(options.registry);

  app.addHook('onRequest', (request, _reply, done) => {
    const route = routeOf(request);
    const parent = propagation.extract(context.active(), request.headers);
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route, 'url.path': request.url.split('?')[0] } },
      parent,
    );
    request.span = span;
    // Running the rest of the chain inside the span's context makes it the parent of everything the handler does.
    context.with(trace.setSpan(parent, span), done);
  });

  // Access, checked on request, before any body is read or refused for its size, for every route of every module at
  // once; synchronous for public routes, so the hot path of small GETs pays for a call, no promise.
  app.addHook('onRequest', options.access.check);

  // One synchronous hook for the body guards (a small GET pays for one call, no promise):
  // - an announced body over the route's limit (its `bodyLimit` option, else server.bodyLimit) is refused before a
  //   byte of it is read, streamed routes included; the connection closes so the rest is never waited for;
  // - the whole request must arrive within requestTimeout. Fastify reaches preValidation once a buffered body is
  //   parsed; a streamed body (multipart upload) gets there at once and is bound by the idle timeout instead.
  const requestTimers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  app.addHook('onRequest', (request, reply, done) => {
    const length = request.headers['content-length'];
    if (length === undefined && request.headers['transfer-encoding'] === undefined) {
      done();
      return;
    }
    const announced = Number(length ?? 0);
    const limit = request.routeOptions.bodyLimit ?? limits.bodyLimit;
    if (announced > limit) {
      const declared = request.routeOptions.config.bodyTooLarge;
      reply
        .status(413)
        .header('connection', 'close')
        .send({ error: declared ?? { code: 'BODY_TOO_LARGE', message: `The request body (${announced} bytes) is larger than the limit of ${limit} bytes for ${request.method} ${routeOf(request)}.` } });
      return;
    }
    if (announced > 0 || request.headers['transfer-encoding'] !== undefined) {
      const timer = setTimeout(() => {
        if (reply.sent) return;
        reply.raw.once('finish', () => request.raw.socket.destroy());
        void reply
          .status(408)
          .header('connection', 'close')
          .send({ error: { code: 'REQUEST_TIMEOUT', message: `The request did not arrive within ${limits.requestTimeout} ms.` } });
      }, limits.requestTimeout);
      timer.unref();
      requestTimers.set(request, timer);
    }
    done();
  });
  app.addHook('preValidation', (request, _reply, done) => {
    clearTimeout(requestTimers.get(request));
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = routeOf(request);
    clearTimeout(requestTimers.get(request));
    durations.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const span = request.span;
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    if (reply.statusCode >= 500) {
      repeats.log('warn', `${request.method} ${route} ${reply.statusCode}`, { route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request failed');
    }
    done();
  });

  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A client that went away mid-request is not a dependency failure, whatever its socket error says.
    const unavailable = request.raw.socket.destroyed ? undefined : asDependencyUnavailable(error);
    if (unavailable) {
      repeats.log('warn', `unavailable ${unavailable.dependency} ${unavailable.failure}`, { dependency: unavailable.dependency, cause: unavailable.failure, detail: unavailable.message }, 'dependency unavailable');
      request.span?.recordException(unavailable);
      return reply
        .status(unavailable.httpStatus)
        .header('retry-after', String(unavailable.retryAfterSeconds))
        .send({ error: { code: unavailable.httpStatus === 507 ? 'INSUFFICIENT_STORAGE' : 'UNAVAILABLE', message: unavailable.publicMessage } });
    }
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'unhandled error');
      request.span?.recordException(error);
      return reply.status(status).send({ error: { code: 'INTERNAL', message: `Internal error (request ${request.id}); the server log has the details.` } });
    }
    const message = error.validation ? `Invalid request: ${error.message}` : error.message;
    return reply.status(status).send({ error: { code: error.code ?? 'BAD_REQUEST', message } });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `No route for ${request.method} ${request.url.split('?')[0]}` } }),
  );

  serveOpenApiDocument(app, options.version ?? '0.0.0');

  app.get('/healthz', (_request, reply) => reply.type(HEALTHZ_TYPE).send(HEALTHZ_BODY));

  app.get('/readyz', async (_request, reply) => {
    const readiness = await options.readiness();
    return reply.status(readiness.ready ? 200 : 503).send({ status: readiness.ready ? 'ready' : 'not ready', ...readiness });
  });

  if (options.metrics !== false) {
    app.get('/metrics', async (request, reply) =>
      wantsOpenMetrics(request.headers.accept)
        ? reply.type(OPENMETRICS_CONTENT_TYPE).send(await renderOpenMetrics(options.registry))
        : reply.type(options.registry.contentType).send(await options.registry.metrics()),
    );
  }

  return app;
}

const HEALTHZ_BODY = Buffer.from(JSON.stringify({ status: 'ok' }));
const HEALTHZ_TYPE = 'application/json; charset=utf-8';
const HEALTHZ_HEADERS = ['content-type', HEALTHZ_TYPE, 'content-length', String(HEALTHZ_BODY.length)];

function answerHealthz(request: IncomingMessage, response: ServerResponse): string | undefined {
  if (request.url !== '/healthz' || (request.method !== 'GET' && request.method !== 'HEAD') || request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined) return undefined;
  response.writeHead(200, HEALTHZ_HEADERS);
  response.end(HEALTHZ_BODY);
  return '/healthz';
}

function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

/** Whether an Authorization header carries one of the tokens ("Bearer" in any case). */
