import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { RateCounter } from '../core/http/rate-counter.ts';
import type { HttpServer } from '../core/http/server.ts';
import type { Resource, Site } from './site.ts';

const GZIP = /\bgzip\b/;

/** Which prepared answer a request gets: 304 on a matching ETag, the gzip copy when the client takes it, else the plain bytes. */
function variantOf(headers: IncomingHttpHeaders, resource: Resource): 'notModified' | 'gzip' | 'plain' {
  const match = headers['if-none-match'];
  if (match !== undefined && (match === resource.etag || match.split(/\s*,\s*/).includes(resource.etag))) return 'notModified';
  return GZIP.test(headers['accept-encoding'] ?? '') ? 'gzip' : 'plain';
}

/** Sends a prepared resource with its prepared headers. */
export function sendResource(request: FastifyRequest, reply: FastifyReply, resource: Resource): FastifyReply {
  const variant = variantOf(request.headers, resource);
  if (variant === 'notModified') return reply.code(304).headers(resource.sent.notModified).send();
  return reply.headers(resource.sent[variant]).send(variant === 'gzip' ? resource.gzip : resource.body);
}

const PATHS = [
  '/',
  '/history',
  '/uptime',
  '/incidents/:id',
  '/history.atom',
  '/history.rss',
  '/badge.svg',
  '/badge.json',
  '/components/:id/badge.svg',
  '/components/:id/badge.json',
  '/components/:id/history.atom',
  '/status/:file',
  '/api/v2/summary.json',
  '/api/v2/status.json',
  '/api/v2/components.json',
  '/api/v2/incidents.json',
  '/api/v2/incidents/unresolved.json',
  '/api/v2/scheduled-maintenances.json',
  '/api/v2/scheduled-maintenances/upcoming.json',
  '/api/v2/scheduled-maintenances/active.json',
];

/** The resource a request URL names: by path, history pages by "/history?page=N" (N > 1). */
function lookUp(site: Site, url: string): { pathname: string; resource: Resource | undefined } {
  const query = url.indexOf('?');
  const pathname = query === -1 ? url : url.slice(0, query);
  if (pathname !== '/history' || query === -1) return { pathname, resource: site.get(pathname) };
  const page = Number(new URLSearchParams(url.slice(query + 1)).get('page') ?? '1');
  return { pathname, resource: site.get(Number.isInteger(page) && page > 1 ? `/history?page=${page}` : '/history') };
}

/** The route template a path of the site answers as (the request histogram's bounded label). */
function templateOf(pathname: string): string {
  if (pathname.startsWith('/incidents/')) return '/incidents/:id';
  if (pathname.startsWith('/components/')) return `/components/:id/${pathname.slice(pathname.lastIndexOf('/') + 1)}`;
  if (pathname.startsWith('/status/')) return '/status/:file';
  return pathname;
}

const RATE_WINDOW_MS = 60_000;

/**
 * The public, read-only paths (GET and HEAD only), rate limited per client address. A GET or HEAD without a body
 * from a client under its limit is answered before routing, straight from the prepared bytes and headers; anything
 * else (a miss, a client over its limit, a request through a proxy) takes the Fastify route, which answers alike,
 * or 404, or 429 — both count each client in the same window.
 */
export function registerPublicRoutes(http: HttpServer, options: { site: () => Site; rateLimit: number }): void {
  const counter = new RateCounter();
  http.answerFast((request, response, client) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined) return undefined;
    const { pathname, resource } = lookUp(options.site(), request.url ?? '/');
    if (!resource || counter.count(client, RATE_WINDOW_MS).current > options.rateLimit) return undefined;
    const variant = variantOf(request.headers, resource);
    response.writeHead(variant === 'notModified' ? 304 : 200, resource.raw[variant]);
    response.end(variant === 'gzip' ? resource.gzip : variant === 'plain' ? resource.body : undefined);
    return templateOf(pathname);
  });
  http.register(async (scope) => {
    // Statuspage sends no rate-limit headers on answers under the limit; neither path does (a 429 has Retry-After).
    await scope.register(rateLimit, { max: options.rateLimit, timeWindow: RATE_WINDOW_MS, store: counter.asStore(), addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false } });
    for (const route of PATHS) {
      scope.get(route, (request, reply) => {
        const { pathname, resource } = lookUp(options.site(), request.url);
        if (!resource) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `Nothing at ${pathname}` } });
        return sendResource(request, reply, resource);
      });
    }
  });
}
