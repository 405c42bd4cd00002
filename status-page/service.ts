import { createHash } from 'node:crypto';
import { DAY, HOUR, type Clock, type TimerHandle } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { Component } from '../core/lifecycle/module.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import type { StatusPageHostConfig } from './config.ts';
import { exportFiles, writeExport } from './export.ts';
import type { UptimeDay } from '../probes/index.ts';
import { componentsOf, endBannersOfEndedAlerts, publishAlertNotices, resolveHeld } from './incidents.ts';
import { gatherModel, readUptime, type StatusModel, type UptimeReader } from './model.ts';
import { decideBanner, type BannerInputs, type BannerSettings } from './banner.ts';
import { renderSite, type Site } from './site.ts';
import { maintenanceId } from './statuspage-api.ts';
import { deleteSpentAlertRecords, ensureCreatedAt } from './store.ts';

const UPTIME_CACHE_MS = 60_000;

export interface StatusSiteOptions {
  db: Db;
  config: StatusPageHostConfig;
  clock: Clock;
  logger: Logger;
  /** Read at each refresh: the public URL is known only once the server listens. */
  publicUrl: () => string;
  cssUrl: string;
  cssBody: Buffer;
}

/** The data without the moment it was read: equal fingerprints mean nothing a reader sees has changed. */
function fingerprintOf(model: StatusModel, publicUrl: string): string {
  const { now: _now, ...data } = model;
  return createHash('sha256').update(publicUrl).update(JSON.stringify(data)).digest('hex');
}

export type StatusSite = ReturnType<typeof createStatusSite>;

/**
 * Keeps the rendered site: every `refresh` interval (and right after an admin change) it reads the data, resolves
 * held incidents and, only when something changed, renders everything again. Requests never touch the database.
 */
export function createStatusSite(options: StatusSiteOptions) {
  const { db, config, clock, logger } = options;
  const settings = config.statusPage;
  let site: Site = new Map();
  let shown: StatusModel | undefined;
  let fingerprint = '';
  let updatedAt = clock.now();
  let renders = 0;
  let running: Promise<void> | undefined;
  let lastExport = -Infinity;
  let lastCleanup = -Infinity;
  let exported: Site | undefined;
  const timers: TimerHandle[] = [];

  const components = componentsOf(config);
  // Daily rollups move slowly: each probe's 90 days are read again at most once a minute (and on a new day).
  const uptimeCache = new Map<string, { at: number; day: string; days: UptimeDay[] }>();
  const readFresh = readUptime(db);
  const uptime: UptimeReader = async (probe, now) => {
    const day = new Date(now).toISOString().slice(0, 10);
    const cached = uptimeCache.get(probe);
    if (cached && cached.day === day && now - cached.at < UPTIME_CACHE_MS) return cached.days;
    const days = await readFresh(probe, now);
    uptimeCache.set(probe, { at: now, day, days });
    return days;
  };

  // What the embeddable banner is decided from; the decision itself runs per request, as it depends on the time.
  let bannerInputs: BannerInputs = { incidents: [], maintenances: [] };
  let bannerSettings: BannerSettings | undefined;

  async function rebuild(): Promise<void> {
    const now = clock.now();
    const publishing = { components, automatic: settings.automatic };
    await publishAlertNotices(db, publishing, now);
    await resolveHeld(db, publishing, now);
    await endBannersOfEndedAlerts(db, now);
    if (now - lastCleanup >= HOUR) {
      // A day past the banner's hold, nothing reads an ended banner alert or a published notice again.
      await deleteSpentAlertRecords(db, new Date(now - settings.banner.holdTime - DAY));
      lastCleanup = now;
    }
    const model = await gatherModel(db, config, { now, publicUrl: options.publicUrl(), components, uptime });
    const next = fingerprintOf(model, options.publicUrl());
    if (next !== fingerprint) {
      shown = model;
      fingerprint = next;
      updatedAt = now;
      site = renderSite(model, updatedAt, options.cssUrl);
      renders += 1;
      bannerInputs = {
        incidents: model.incidents.map((incident) => ({ id: String(incident.id), impact: incident.impact, message: incident.name, startedAt: incident.createdAt, ...(incident.resolvedAt === null ? {} : { resolvedAt: incident.resolvedAt }) })),
        maintenances: model.maintenances.map((maintenance) => ({ id: maintenanceId(maintenance), title: maintenance.name, startsAt: maintenance.startsAt, endsAt: maintenance.endsAt, cancelled: maintenance.status === 'cancelled' })),
        alerts: model.banner.alerts,
        ...(model.banner.override ? { override: model.banner.override } : {}),
      };
      const { strings } = model;
      bannerSettings = {
        ...settings.banner,
        timeZone: model.branding.timeZone,
        locale: 'en-GB',
        statusUrl: `${model.url}/`,
        backUpUrl: (incidentId) => `${model.url}/subscribe?incident=${incidentId}`,
        texts: {
          automatic: strings['banner.automatic'],
          automaticOutage: strings['banner.automaticOutage'],
          someServices: strings['banner.someServices'],
          maintenanceNow: strings['banner.maintenanceNow'],
          maintenanceSoon: strings['banner.maintenanceSoon'],
          backUpLink: strings['banner.backUpLink'],
          statusLink: strings['banner.statusLink'],
          dismiss: strings['banner.dismiss'],
        },
      };
    }
    // Rewritten only when the site changed (at most once per `every`): the same bytes again would cost a serving
    // process CPU and the disk writes for nothing.
    if (settings.export && site !== exported && now - lastExport >= settings.export.every) {
      await writeExport(settings.export.dir, exportFiles(site, { url: options.cssUrl, body: options.cssBody }));
      lastExport = now;
      exported = site;
    }
  }

  /**
   * One rebuild at a time; a call during one waits for it and then runs again, so it sees every change made before it.
   * `reread` also drops the cached rollups (an admin's explicit refresh).
   */
  function refresh(options: { reread?: boolean } = {}): Promise<void> {
    if (options.reread) uptimeCache.clear();
    const previous = running ?? Promise.resolve();
    const next = previous.then(rebuild).catch((error: unknown) => logger.error({ err: error }, 'status page refresh failed; serving the last good copy'));
    running = next;
    void next.finally(() => {
      if (running === next) running = undefined;
    });
    return next;
  }

  const component: Component & { start(): Promise<void> } = {
    name: 'status-page',
    async start() {
      await ensureCreatedAt(db, clock.now());
      await refresh();
      timers.push(clock.setInterval(() => void refresh(), settings.refresh));
    },
    async stop() {
      for (const timer of timers) timer.cancel();
      await running;
    },
    health: () => (site.size > 0 ? { ok: true } : { ok: false, reason: 'the status page has not been rendered yet' }),
  };
  return Object.assign(component, {
    refresh,
    site: () => site,
    /** The components as the page shows them now (empty before the first render). */
    components: () => shown?.components ?? [],
    /** The model the site was last rendered from (the subscription pages share its layout). */
    model: () => shown,
    /** What /embed/banner.json answers now. */
    banner: () => (bannerSettings ? decideBanner(bannerInputs, clock.now(), bannerSettings) : null),
    /** How many times the site was rendered (a test checks it is not per request). */
    renders: () => renders,
  });
}
