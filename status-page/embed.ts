import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { HttpServer } from '../core/http/server.ts';
import type { Banner } from './banner.ts';

const SCRIPT = readFileSync(path.join(import.meta.dirname, 'assets', 'banner.js'));
const SCRIPT_ETAG = `"${createHash('sha256').update(SCRIPT).digest('base64url').slice(0, 16)}"`;

/**
 * `/embed/banner.js` (the one tag a platform puts on its pages) and `/embed/banner.json` (what it shows; also the
 * server-side alternative for platforms that render the banner themselves). Both are public, cookieless and open
 * to every origin; `current` is read per request from an in-memory value the banner receiver keeps up to date.
 */
export function registerEmbedRoutes(http: HttpServer, current: () => Banner | null): void {
  http.get('/embed/banner.js', (request, reply) => {
    reply.headers({
      'cache-control': 'public, max-age=300, stale-while-revalidate=86400',
      'access-control-allow-origin': '*',
      'x-content-type-options': 'nosniff',
      etag: SCRIPT_ETAG,
    });
    if (request.headers['if-none-match'] === SCRIPT_ETAG) return reply.code(304).send();
    return reply.type('text/javascript; charset=utf-8').send(SCRIPT);
  });

  http.get('/embed/banner.json', (request, reply) => {
    const body = JSON.stringify({ banner: current() });
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    reply.headers({
      'cache-control': 'public, max-age=30, stale-while-revalidate=60, stale-if-error=86400',
      'access-control-allow-origin': '*',
      'x-content-type-options': 'nosniff',
      etag,
    });
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(body);
  });
}
