// Everything public, rendered once per change of the data and served from memory: the page, its history and
// incidents, the Statuspage JSON, feeds, badges and the theme. The static export writes the same bytes.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createPages, PAGE_CSP } from '../core/http/pages.ts';
import { feedsOf } from './feeds.ts';
import type { StatusModel } from './model.ts';
import type { ComponentStatus, Indicator } from './state.ts';
import { maintenanceId, statuspageDocuments } from './statuspage-api.ts';
import { componentText, indicatorText } from './strings.ts';
import { dayRuns, HISTORY_PAGES, historyView, incidentView, indexView, layoutOf, maintenanceView, uptimeTableView } from './views.ts';

export interface Resource {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
  /** Extra headers: CSP on pages, CORS on the API, feeds and badges. */
  headers: Record<string, string>;
  /** Every header of an answer, built once with the bytes: plain, gzip, and 304 Not Modified. */
  sent: { plain: Record<string, string>; gzip: Record<string, string>; notModified: Record<string, string> };
  /** The same as flat [name, value, ...] lists for `ServerResponse.writeHead`. */
  raw: { plain: string[]; gzip: string[]; notModified: string[] };
}

/** Every public resource by request path (history pages as "/history?page=N"). */
export type Site = Map<string, Resource>;

export const API_CACHE = 'public, max-age=30, stale-while-revalidate=60, stale-if-error=86400';
const SHORT_CACHE = 'public, max-age=60';
const CORS = { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, HEAD' };

const pages = createPages(path.join(import.meta.dirname, 'views'));

function resource(body: string, type: string, headers: Record<string, string>): Resource {
  const bytes = Buffer.from(body);
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`;
  const gzip = gzipSync(bytes, { level: 9 });
  const notModified = { ...headers, etag, vary: 'accept-encoding' };
  const sent = {
    plain: { ...notModified, 'content-type': type, 'content-length': String(bytes.length) },
    gzip: { ...notModified, 'content-type': type, 'content-length': String(gzip.length), 'content-encoding': 'gzip' },
    notModified,
  };
  const raw = { plain: Object.entries(sent.plain).flat(), gzip: Object.entries(sent.gzip).flat(), notModified: Object.entries(notModified).flat() };
  return { body: bytes, gzip, type, etag, headers, sent, raw };
}

function pageCsp(logoUrl: string | undefined): string {
  const origin = logoUrl && /^https:\/\//.test(logoUrl) ? new URL(logoUrl).origin : undefined;
  return origin ? PAGE_CSP.replace("img-src 'self' data:", `img-src 'self' data: ${origin}`) : PAGE_CSP;
}

const STATUS_COLOR: Record<ComponentStatus | Indicator, 'operational' | 'degraded' | 'partial' | 'major' | 'maintenance'> = {
  operational: 'operational',
  none: 'operational',
  degraded_performance: 'degraded',
  minor: 'degraded',
  partial_outage: 'partial',
  major: 'partial',
  major_outage: 'major',
  critical: 'major',
  under_maintenance: 'maintenance',
  maintenance: 'maintenance',
};

/** Verdana 11px averages about 6.5 px per character: enough for a badge to fit its text. */
const textWidth = (text: string) => Math.round(text.length * 6.5) + 10;

/**
 * The branding colours and the widths of the uptime bars' segments (a run of N alike days is N days wide, class gN)
 * as a second stylesheet, under a URL that changes with them.
 */
export function themeOf(model: StatusModel): { url: string; css: string } {
  const { colors } = model.branding;
  const widths = [...new Set(model.components.flatMap((component) => dayRuns(component.uptime, model.strings).map((run) => run.days)))].filter((days) => days > 1).sort((a, b) => a - b);
  const css =
    `:root{--ok:${colors.operational};--deg:${colors.degraded};--part:${colors.partial};--maj:${colors.major};--mnt:${colors.maintenance};--acc:${colors.accent}}\n` +
    widths.map((days) => `.g${days}{--n:${days}}`).join('') +
    '\n';
  return { url: `/status/theme.${createHash('sha256').update(css).digest('hex').slice(0, 12)}.css`, css };
}

/** The security headers of every page of the site (the CSP allows the logo's origin). */
export function pageHeadersOf(model: StatusModel): Record<string, string> {
  return {
    'content-security-policy': pageCsp(model.branding.logoUrl),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'strict-origin-when-cross-origin',
    'x-frame-options': 'DENY',
  };
}

/** Renders the whole public site from one model; `cssUrl` is the hashed URL of the static stylesheet. */
export function renderSite(model: StatusModel, updatedAt: number, cssUrl: string): Site {
  const site: Site = new Map();
  const { colors } = model.branding;
  const theme = themeOf(model);
  site.set(theme.url, resource(theme.css, 'text/css; charset=utf-8', { 'cache-control': 'public, max-age=31536000, immutable' }));
  const css = [cssUrl, theme.url];
  const pageHeaders = { 'cache-control': API_CACHE, ...pageHeadersOf(model) };
  const html = (name: string, view: object) => resource(pages.render(name, view), 'text/html; charset=utf-8', pageHeaders);

  site.set('/', html('index', indexView(model, css)));
  for (let page = 1; page <= HISTORY_PAGES; page++) site.set(page === 1 ? '/history' : `/history?page=${page}`, html('history', historyView(model, page, css)));
  site.set('/uptime', html('uptime', uptimeTableView(model, css)));
  for (const incident of model.incidents) {
    const view = incidentView(model, incident);
    site.set(view.url, html('incident', { ...layoutOf(model, `${model.branding.name}: ${view.name}`, css), event: view }));
  }
  for (const maintenance of model.maintenances) {
    const view = maintenanceView(model, maintenance);
    site.set(`/incidents/${maintenanceId(maintenance)}`, html('incident', { ...layoutOf(model, `${model.branding.name}: ${view.name}`, css), event: view }));
  }

  for (const [url, document] of Object.entries(statuspageDocuments(model, updatedAt))) {
    site.set(url, resource(JSON.stringify(document), 'application/json; charset=utf-8', { 'cache-control': API_CACHE, ...CORS }));
  }

  const feedHeaders = { 'cache-control': SHORT_CACHE, ...CORS };
  const all = feedsOf(model, updatedAt);
  site.set('/history.atom', resource(all.atom, 'application/atom+xml; charset=utf-8', feedHeaders));
  site.set('/history.rss', resource(all.rss, 'application/rss+xml; charset=utf-8', feedHeaders));

  const badge = (base: string, label: string, message: string, status: ComponentStatus | Indicator) => {
    const color = colors[STATUS_COLOR[status]];
    site.set(`${base}/badge.svg`, resource(pages.render('badge', { label, message, color, left: textWidth(label), right: textWidth(message) }), 'image/svg+xml', feedHeaders));
    site.set(`${base}/badge.json`, resource(JSON.stringify({ schemaVersion: 1, label, message, color: color.slice(1) }), 'application/json; charset=utf-8', feedHeaders));
  };
  badge('', model.branding.name, indicatorText(model.strings, model.indicator), model.indicator);
  for (const component of model.components) {
    badge(`/components/${component.id}`, component.name, componentText(model.strings, component.status), component.status);
    site.set(`/components/${component.id}/history.atom`, resource(feedsOf(model, updatedAt, component.id).atom, 'application/atom+xml; charset=utf-8', feedHeaders));
  }
  return site;
}
