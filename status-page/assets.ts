import { readFileSync } from 'node:fs';
import path from 'node:path';
import { serveAssets } from '../core/http/pages.ts';
import type { HttpServer } from '../core/http/server.ts';

const CSS_FILE = path.join(import.meta.dirname, 'assets/status.css');

/** Serves the page's stylesheet under a content-hashed URL; returns that URL and the bytes (the static export writes them too). */
export function statusAssets(http: HttpServer): { cssUrl: string; cssBody: Buffer } {
  const urls = serveAssets(http, '/status/assets', [CSS_FILE]);
  return { cssUrl: urls['status.css']!, cssBody: readFileSync(CSS_FILE) };
}
