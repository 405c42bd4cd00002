import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { duration } from '../core/config/duration.ts';
import type { Db } from '../core/db/index.ts';
import { idParam, instant, parseBody } from '../core/http/admin-api.ts';
import type { HttpServer } from '../core/http/server.ts';
import { BANNER_LEVELS, type Banner, type BannerOverride } from './banner.ts';
import { brandingSchema, type StatusPageHostConfig } from './config.ts';
import { componentsOf, openIncident, resolveIncident, StatusPageError, updateIncident } from './incidents.ts';
import { exportFiles } from './export.ts';
import { endOrCancelMaintenance, moveMaintenance, scheduleMaintenance } from './maintenance.ts';
import { brandingOf } from './model.ts';
import type { Site } from './site.ts';
import { COMPONENT_STATUSES, IMPACTS, INCIDENT_STATUSES } from './state.ts';
import { deleteSetting, getIncident, getSettings, listPublicIncidents, putSetting } from './store.ts';

const componentStatuses = z.record(z.string(), z.enum(COMPONENT_STATUSES));
export const incidentBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  body: z.string().trim().min(1).max(10_000),
  status: z.enum(['investigating', 'identified', 'monitoring']).optional(),
  components: componentStatuses.optional(),
  impact: z.enum(IMPACTS).optional(),
});

export const updateBody = z.strictObject({
  body: z.string().trim().min(1).max(10_000),
  status: z.enum(INCIDENT_STATUSES).optional(),
  components: componentStatuses.optional(),
  impact: z.enum(IMPACTS).optional(),
  name: z.string().trim().min(1).max(200).optional(),
  postmortem: z.string().max(50_000).optional(),
});

export const maintenanceBody = z
  .strictObject({
    title: z.string().trim().min(1).max(200),
    body: z.string().max(10_000).default(''),
    components: z.array(z.string()).min(1),
    startsAt: instant,
    endsAt: instant.optional(),
    duration: duration().optional(),
    timeZone: z.string().default('UTC'),
    author: z.string().trim().min(1),
    matchers: z.record(z.string(), z.string()).optional(),
  })
  .refine((body) => (body.endsAt === undefined) !== (body.duration === undefined), { message: 'give exactly one of endsAt or duration' });

export const rescheduleBody = z
  .strictObject({ startsAt: instant, endsAt: instant.optional(), duration: duration().optional(), author: z.string().trim().min(1) })
  .refine((body) => (body.endsAt === undefined) !== (body.duration === undefined), { message: 'give exactly one of endsAt or duration' });

const brandingPatch = brandingSchema.partial().strict();

export const bannerOverrideBody = z.strictObject({
  message: z.string().trim().min(1).max(300),
  level: z.enum(BANNER_LEVELS).default('warning'),
  /** Shown this long, then gone on its own; without it, until cleared. */
  duration: duration().optional(),
});



/** Public incidents, maintenance, branding, component and banner overrides under /admin/api/v1/status, behind the admin token; each change refreshes the page at once. */
export interface StatusAdminOptions {
  db: Db;
  clock: Clock;
  config: StatusPageHostConfig;
  refresh: (options?: { reread?: boolean }) => Promise<void>;
  site: () => Site;
  css: { url: string; body: Buffer };
  /** What the banner says now. */
  banner: () => Banner | null;
}

/** One file of the static copy as the admin API hands it over: bytes in base64, with the gzip twin for gzip_static. */
export interface ExportedResource {
  url: string;
  body: string;
  gzip?: string;
}

export function registerStatusAdminRoutes(http: HttpServer, options: StatusAdminOptions): void {
  const { db, clock, config } = options;
  const now = () => clock.now();
  const components = componentsOf(config);
  const changed = async <T>(result: T): Promise<T> => {
    await options.refresh();
    return result;
  };
  http.register(
    async (admin) => {
      admin.get('/incidents', async () => ({ incidents: await listPublicIncidents(db, { since: now() - 90 * 86_400_000 }) }));
      admin.get('/incidents/:id', async (request) => {
        const incident = await getIncident(db, idParam(request.params));
        if (!incident) throw new StatusPageError('no such incident', 404);
        return { incident };
      });
      admin.post('/incidents', async (request, reply) => reply.status(201).send({ incident: await changed(await openIncident(db, components, parseBody(incidentBody, request.body), now())) }));
      admin.post('/incidents/:id/updates', async (request) => {
        const change = parseBody(updateBody, request.body);
        return { incident: await changed(await updateIncident(db, components, idParam(request.params), change, now())) };
      });
      admin.post('/incidents/:id/resolve', async (request) => {
        const body = parseBody(z.strictObject({ body: z.string().trim().min(1).default('This incident has been resolved.') }), request.body).body;
        return { incident: await changed(await resolveIncident(db, components, idParam(request.params), body, now())) };
      });

      admin.post('/maintenances', async (request, reply) => {
        const body = parseBody(maintenanceBody, request.body);
        const maintenance = await scheduleMaintenance(db, components, { ...body, endsAt: body.endsAt ?? body.startsAt + body.duration! }, now());
        return reply.status(201).send({ maintenance: await changed(maintenance) });
      });
      admin.post('/maintenances/:id/end', async (request) => {
        const author = parseBody(z.strictObject({ author: z.string().trim().min(1) }), request.body).author;
        return { outcome: await changed(await endOrCancelMaintenance(db, idParam(request.params), author, now())) };
      });

      admin.post('/maintenances/:id/reschedule', async (request) => {
        const body = parseBody(rescheduleBody, request.body);
        return { maintenance: await changed(await moveMaintenance(db, idParam(request.params), { startsAt: body.startsAt, endsAt: body.endsAt ?? body.startsAt + body.duration! }, body.author, now())) };
      });

      // Rebuilds the page now from a fresh read of everything, uptime rollups included, instead of at the next refresh.
      admin.post('/refresh', async () => {
        await options.refresh({ reread: true });
        return { refreshed: true };
      });
      // Everything `vigil status export` writes, freshly rendered: the copy a static server keeps up when Vigil is down.
      admin.get('/site', async () => {
        await options.refresh({ reread: true });
        const resources: ExportedResource[] = exportFiles(options.site(), options.css).map(({ url, body, gzip }) => ({ url, body: body.toString('base64'), ...(gzip ? { gzip: gzip.toString('base64') } : {}) }));
        return { resources };
      });
      admin.get('/branding', async () => ({ branding: brandingOf(config.statusPage.branding, await getSettings(db)) }));
      admin.patch('/branding', async (request) => {
        // Only the fields sent: the schema's defaults must not overwrite earlier changes.
        const sent = Object.keys((request.body ?? {}) as object);
        const patch = Object.fromEntries(Object.entries(parseBody(brandingPatch, request.body)).filter(([key]) => sent.includes(key)));
        const current = ((await getSettings(db)).branding ?? {}) as Record<string, unknown>;
        await putSetting(db, 'branding', { ...current, ...patch }, now());
        return { branding: await changed(brandingOf(config.statusPage.branding, await getSettings(db))) };
      });
      admin.delete('/branding', async () => {
        await deleteSetting(db, 'branding');
        return { branding: await changed(config.statusPage.branding) };
      });
      admin.put('/components/:id/override', async (request) => {
        const id = (request.params as { id: string }).id;
        if (!components.some((component) => component.id === id)) throw new StatusPageError(`no component with id "${id}"`, 404);
        const { status } = parseBody(z.strictObject({ status: z.enum(COMPONENT_STATUSES).nullable() }), request.body);
        const overrides = { ...(((await getSettings(db)).overrides ?? {}) as Record<string, string>) };
        if (status === null) delete overrides[id];
        else overrides[id] = status;
        await putSetting(db, 'overrides', overrides, now());
        return changed({ overrides });
      });

      const bannerAnswer = async () => ({ override: ((await getSettings(db)).bannerOverride ?? null) as BannerOverride | null, banner: options.banner() });
      admin.get('/banner', bannerAnswer);
      admin.post('/banner', async (request) => {
        const body = parseBody(bannerOverrideBody, request.body);
        // A new id per override: a visitor who dismissed the last one sees this one.
        const override: BannerOverride = { id: String(now()), level: body.level, message: body.message, ...(body.duration === undefined ? {} : { until: now() + body.duration }) };
        await putSetting(db, 'bannerOverride', override, now());
        await options.refresh();
        return bannerAnswer();
      });
      admin.post('/banner/clear', async () => {
        await deleteSetting(db, 'bannerOverride');
        await options.refresh();
        return bannerAnswer();
      });
    },
    { prefix: '/admin/api/v1/status' },
  );
}
