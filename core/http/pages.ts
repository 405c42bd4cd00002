import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Eta } from 'eta';
import type { FastifyReply } from 'fastify';
import type { HttpServer } from './server.ts';

/**
 * The policy every HTML page is served with: no inline script or style, nothing from other origins, no framing.
 * Pages work without JavaScript; a module's optional script is a file under its own assets path.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface Pages {
  /** Renders `name` (a file `<name>.eta` in the module's views folder) from a typed view model; every `<%= %>` is escaped. */
  render<Model extends object>(name: string, model: Model): string;
  /** Sends a rendered page with the page security headers. */
  send<Model extends object>(reply: FastifyReply, name: string, model: Model, status?: number): FastifyReply;
}

/** Templates of one module, from its own folder, with auto-escaping on (raw output needs `<%~ %>`, which reviews refuse). */
export function createPages(viewsDir: string): Pages {
  const eta = new Eta({ views: viewsDir, autoEscape: true, cache: true, autoTrim: [false, 'nl'] });
  const render = <Model extends object>(name: string, model: Model) => eta.render(name, model);
  return {
    render,
    send(reply, name, model, status = 200) {
      return reply.code(status).headers(pageHeaders()).type('text/html; charset=utf-8').send(render(name, model));
    },
  };
}

export function pageHeaders(): Record<string, string> {
  return {
    'content-security-policy': PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'strict-origin-when-cross-origin',
    'x-frame-options': 'DENY',
  };
}

const CONTENT_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Serves a module's static files (CSS, an optional enhancing script) from memory under `prefix`, with a content
 * hash in the URL so they can be cached for a year. Returns the URL of each file for the templates.
 */
export function serveAssets(http: HttpServer, prefix: string, files: readonly string[]): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const file of files) {
    const body = readFileSync(file);
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    const ext = path.extname(file);
    const url = `${prefix}/${path.basename(file, ext)}.${hash}${ext}`;
    urls[path.basename(file)] = url;
    http.get(url, (_request, reply) =>
      reply
        .headers({ 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' })
        .type(CONTENT_TYPES[ext] ?? 'application/octet-stream')
        .send(body),
    );
  }
  return urls;
}
