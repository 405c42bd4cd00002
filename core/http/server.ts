import { timingSafeEqual } from 'node:crypto';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { Histogram, type Registry } from 'prom-client';
import type { Secret } from '../config/secret.ts';
import type { Logger } from '../telemetry/logger.ts';
import { tracer } from '../telemetry/tracing.ts';

export type HttpServer = FastifyInstance;

export interface Readiness {
  ready: boolean;
  /** One line a person can act on, present when not ready. */
  reason?: string;
  checks: Array<{ name: string; ok: boolean; reason?: string }>;
}

export interface HttpServerOptions {
  logger: Logger;
  registry: Registry;
  readiness: () => Promise<Readiness>;
  /** Largest request body for routes that do not stream (uploads set their own limit). */
  bodyLimit?: number;
  /** Bearer tokens accepted under /admin/api/: the configured admin token and this process's local one. */
  adminTokens: readonly Secret[];
  /** The version the OpenAPI document states. */
  version?: string;
}

/** Where the administration API lives; every path under it needs an admin bearer token. */
export const ADMIN_API_PREFIX = '/admin/api/v1';

declare module 'fastify' {
  interface FastifyRequest {
    span?: Span;
  }
}

/** Fastify with /healthz, /readyz, /metrics, a span and a duration histogram per request, and JSON errors. */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const duration = new Histogram({
    name: 'vigil_http_request_duration_seconds',
    help: 'HTTP requests served, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [options.registry],
  });

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

  app.addHook('onResponse', (request, reply, done) => {
    const route = routeOf(request);
    duration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    const span = request.span;
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    if (reply.statusCode >= 500) request.log.warn({ route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request failed');
    done();
  });

  // Once closing, answers end their connection, so keep-alive clients do not hold the shutdown open.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
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

  // Checked on request, before any body is read, for every module's admin route at once.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith(`${ADMIN_API_PREFIX}/`)) return;
    if (!presentsAdminToken(request.headers.authorization, options.adminTokens)) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({ error: { code: 'UNAUTHORIZED', message: 'Missing or wrong bearer token for the admin API.' } });
    }
  });

  // Documents the admin API from the schemas its routes declare; the public routes are not part of it.
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Vigil administration API', version: options.version ?? '0.0.0' },
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
      security: [{ adminToken: [] }],
    },
    transform: ({ schema, url }) => ({ schema: { ...schema, hide: !url.startsWith(`${ADMIN_API_PREFIX}/`) || url === `${ADMIN_API_PREFIX}/openapi.json` }, url }),
  });
  app.get(`${ADMIN_API_PREFIX}/openapi.json`, async () => app.swagger());

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const readiness = await options.readiness();
    return reply.status(readiness.ready ? 200 : 503).send({ status: readiness.ready ? 'ready' : 'not ready', ...readiness });
  });

  app.get('/metrics', async (_request, reply) => reply.type(options.registry.contentType).send(await options.registry.metrics()));

  return app;
}

function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

/** Whether an Authorization header carries one of the tokens ("Bearer" in any case). */
export function presentsAdminToken(header: string | undefined, tokens: readonly Secret[]): boolean {
  const match = /^bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? matchingToken(match[1]!, tokens) !== undefined : false;
}

/** The token among `tokens` that equals `presented`, compared in constant time. */
export function matchingToken(presented: string, tokens: readonly Secret[]): Secret | undefined {
  const given = Buffer.from(presented);
  let found: Secret | undefined;
  for (const token of tokens) {
    const expected = Buffer.from(token.reveal());
    if (given.length === expected.length && timingSafeEqual(given, expected)) found = token;
  }
  return found;
}
