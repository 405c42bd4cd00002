import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpServer } from '../core/http/server.ts';
import type { Resource, Site } from './site.ts';

/** Sends a prepared resource: 304 on a matching ETag, the gzip copy when the client takes it. */
export function sendResource(request: FastifyRequest, reply: FastifyReply, resource: Resource): FastifyReply {
  reply.headers({ ...resource.headers, etag: resource.etag, vary: 'accept-encoding' });
  if (request.headers['if-none-match']?.split(/\s*,\s*/).includes(resource.etag)) return reply.code(304).send();
  const gzip = /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
  if (gzip) reply.header('content-encoding', 'gzip');
  return reply.type(resource.type).send(gzip ? resource.gzip : resource.body);
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

/** The public, read-only paths (GET and HEAD only), rate limited per client address. */
export function registerPublicRoutes(http: HttpServer, options: { site: () => Site; rateLimit: number }): void {
  http.register(async (scope) => {
    await scope.register(rateLimit, { max: options.rateLimit, timeWindow: 60_000 });
    for (const route of PATHS) {
      scope.get(route, (request, reply) => {
        const [pathname, query = ''] = request.url.split('?');
        const page = Number(new URLSearchParams(query).get('page') ?? '1');
        const key = pathname === '/history' && Number.isInteger(page) && page > 1 ? `/history?page=${page}` : pathname!;
        const resource = options.site().get(key);
        if (!resource) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `Nothing at ${pathname}` } });
        return sendResource(request, reply, resource);
      });
    }
  });
}
