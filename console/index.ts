import { readFile } from 'node:fs/promises';
import path from 'node:path';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseDuration } from '../core/config/duration.ts';
import { createPages, serveAssets } from '../core/http/pages.ts';
import { matchingToken } from '../core/http/auth.ts';
import { defineModule, type ModuleContext } from '../core/lifecycle/module.ts';
import {
  ackIncident, addMaintenance, addSilence, AdminError, endMaintenance, expireSilence, incidentDetail, listIncidentsPage, listMaintenances, listSilences, resetIncident, type IncidentState,
} from '../alerts/index.ts';
import { getResultsPage, getUptime, probeSummaries, type ProbesHostConfig } from '../probes/index.ts';
import { listVideosPage, VIDEO_STATES, videoDetail, type VideoState } from '../processing/index.ts';
import { consoleConfigSchema } from './config.ts';
import { createSession, SESSION_COOKIE, validSession } from './session.ts';
import { durationText, failureView, iso, uptimeBars, workflowGantt, type ProbeRowView } from './views-model.ts';

const NAV = [
  { href: '/admin', label: 'Probes' },
  { href: '/admin/incidents', label: 'Incidents' },
  { href: '/admin/silences', label: 'Silences' },
  { href: '/admin/maintenance', label: 'Maintenance' },
  { href: '/admin/videos', label: 'Videos' },
] as const;

type Form = Record<string, string | undefined>;

/** "service=api, env=prod" → { service: 'api', env: 'prod' }; a malformed pair is reported to the person, nothing is saved. */
function matchersOf(text: string | undefined): Record<string, string> {
  const matchers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new AdminError(`"${pair}" is not a label=value pair`);
    matchers[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return matchers;
}

function durationOf(text: string | undefined): number {
  try {
    return parseDuration(text ?? '');
  } catch (error) {
    throw new AdminError(`Duration: ${(error as Error).message}`);
  }
}

function startOf(text: string | undefined, now: number): number {
  if (!text) return now;
  const at = Date.parse(text.length === 16 ? `${text}:00Z` : text);
  if (Number.isNaN(at)) throw new AdminError(`Start: "${text}" is not a date and time`);
  return at;
}

function registerConsole(ctx: ModuleContext<ProbesHostConfig & { console: { sessionTtl: number } }>): void {
  const { db, clock } = ctx;
  const pages = createPages(path.join(import.meta.dirname, 'views'));
  void ctx.http.register(async (app) => {
    await app.register(cookie);
    await app.register(csrf, { cookieOpts: { path: '/admin', httpOnly: true, sameSite: 'strict', signed: false }, sessionPlugin: '@fastify/cookie' });
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    const assets = serveAssets(app, '/admin/assets', [path.join(import.meta.dirname, 'assets/console.css')]);
    const secure = ctx.publicUrl.startsWith('https:');

    const render = (reply: FastifyReply, view: string, title: string, model: object, status = 200) =>
      pages.send(reply, view, { title, nav: NAV, css: assets['console.css'], csrf: reply.generateCsrf(), ...model }, status);

    const signedIn = (request: FastifyRequest) => validSession(request.cookies[SESSION_COOKIE], ctx.adminTokens, clock.now());
    // Every page but the login needs a session; forms also need the CSRF token.
    const guard = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!signedIn(request)) return reply.redirect(`/admin/login?next=${encodeURIComponent(request.url)}`, 303);
    };
    const form = (request: FastifyRequest) => (request.body ?? {}) as Form;
    const actor = 'console';

    /** Runs a change from a form; a mistake is shown on `back`'s page with the message, nothing is changed. */
    const change = (back: string, fn: (request: FastifyRequest) => Promise<string>) => async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const notice = await fn(request);
        return reply.redirect(`${back}?notice=${encodeURIComponent(notice)}`, 303);
      } catch (error) {
        if (!(error instanceof AdminError)) throw error;
        return reply.redirect(`${back}?problem=${encodeURIComponent(error.message)}`, 303);
      }
    };
    const flash = (request: FastifyRequest) => {
      const query = request.query as { notice?: string; problem?: string };
      return { notice: query.notice ?? '', problem: query.problem ?? '' };
    };

    app.get('/admin/login', async (request, reply) => render(reply, 'login', 'Sign in', { problem: '', next: (request.query as { next?: string }).next ?? '/admin' }));
    app.post('/admin/login', { preHandler: app.csrfProtection }, async (request, reply) => {
      const body = form(request);
      const next = body.next?.startsWith('/admin') && !body.next.startsWith('//') ? body.next : '/admin';
      const token = matchingToken(body.token ?? '', ctx.adminTokens);
      if (!token) return render(reply, 'login', 'Sign in', { problem: 'That is not the admin token.', next }, 401);
      reply.setCookie(SESSION_COOKIE, createSession(token, clock.now(), ctx.config.console.sessionTtl), { path: '/admin', httpOnly: true, sameSite: 'strict', secure, maxAge: Math.floor(ctx.config.console.sessionTtl / 1000) });
      return reply.redirect(next, 303);
    });
    app.post('/admin/logout', { preHandler: app.csrfProtection }, async (_request, reply) => reply.clearCookie(SESSION_COOKIE, { path: '/admin' }).redirect('/admin/login', 303));

    void app.register(async (admin) => {
      admin.addHook('onRequest', guard);

      admin.get('/admin', async (_request, reply) => {
        const probes = await probeSummaries(ctx);
        const rows: ProbeRowView[] = await Promise.all(
          probes.map(async (probe) => ({
            name: probe.name,
            kind: probe.kind,
            state: probe.state,
            since: iso(probe.since),
            schedule: probe.schedule,
            labels: Object.entries(probe.labels).map(([name, value]) => `${name}=${value}`).join(', '),
            uptime: uptimeBars(await getUptime(db, probe.name, { days: 90, now: clock.now() })),
            failures: (await getResultsPage(db, { probe: probe.name, success: false, limit: 3 })).map((result) => failureView(result, (file) => `/admin/probes/${encodeURIComponent(probe.name)}/screenshots/${encodeURIComponent(file)}`)),
          })),
        );
        return render(reply, 'probes', 'Probes', { probes: rows });
      });

      admin.get<{ Params: { name: string; file: string } }>('/admin/probes/:name/screenshots/:file', async (request, reply) => {
        const probe = ctx.config.probes.find((entry) => (entry as { name?: string }).name === request.params.name) as { options?: { screenshotDir?: string } } | undefined;
        const dir = probe?.options?.screenshotDir;
        const file = path.basename(request.params.file);
        if (!dir || !file.endsWith('.png')) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'No such screenshot' } });
        const body = await readFile(path.join(dir, file)).catch(() => undefined);
        return body ? reply.type('image/png').header('x-content-type-options', 'nosniff').send(body) : reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'No such screenshot' } });
      });

      admin.get<{ Querystring: { state?: string } }>('/admin/incidents', async (request, reply) => {
        const state = ['open', 'pending', 'firing', 'escalated', 'resolved'].includes(request.query.state ?? '') ? (request.query.state as IncidentState | 'open') : 'open';
        const incidents = await listIncidentsPage(db, { state, limit: 200 });
        return render(reply, 'incidents', 'Incidents', {
          state,
          states: ['open', 'pending', 'firing', 'escalated', 'resolved'],
          incidents: incidents.map((incident) => ({ ...incident, started: iso(incident.startedAt), labelsText: Object.entries(incident.labels).map(([name, value]) => `${name}=${value}`).join(', ') })),
        });
      });

      admin.get<{ Params: { id: string } }>('/admin/incidents/:id', async (request, reply) => {
        const detail = Number.isInteger(Number(request.params.id)) ? await incidentDetail(db, Number(request.params.id)) : undefined;
        if (!detail) return render(reply, 'missing', 'Not found', { what: `There is no incident #${request.params.id}.` }, 404);
        return render(reply, 'incident', `Incident #${detail.incident.id}`, {
          ...flash(request),
          incident: { ...detail.incident, labelsText: Object.entries(detail.incident.labels).map(([name, value]) => `${name}=${value}`).join(', ') },
          timeline: detail.timeline.map((entry) => ({ ...entry, at: iso(entry.at) })),
          deliveries: detail.deliveries.map((delivery) => ({ ...delivery, created: iso(delivery.createdAt), delivered: iso(delivery.deliveredAt) })),
          attempts: detail.hookAttempts.map((attempt) => ({ ...attempt, started: iso(attempt.startedAt), finished: iso(attempt.finishedAt) })),
        });
      });
      admin.post<{ Params: { id: string } }>('/admin/incidents/:id/ack', { preHandler: admin.csrfProtection }, async (request, reply) =>
        change(`/admin/incidents/${Number(request.params.id)}`, async () => {
          await ackIncident(db, Number(request.params.id), actor, clock.now());
          return 'Acknowledged: no more reminders for this incident.';
        })(request, reply),
      );
      admin.post<{ Params: { id: string } }>('/admin/incidents/:id/reset', { preHandler: admin.csrfProtection }, async (request, reply) =>
        change(`/admin/incidents/${Number(request.params.id)}`, async () => {
          await resetIncident(db, Number(request.params.id), actor, clock.now());
          return 'Reset: the restart hooks may try again.';
        })(request, reply),
      );

      admin.get('/admin/silences', async (request, reply) => {
        const silences = await listSilences(db, clock.now());
        return render(reply, 'silences', 'Silences', {
          ...flash(request),
          silences: silences.map((silence) => ({ ...silence, matchersText: Object.entries(silence.matchers).map(([name, value]) => `${name}=${value}`).join(', '), starts: iso(silence.startsAt), ends: iso(silence.endsAt) })),
        });
      });
      admin.post('/admin/silences', { preHandler: admin.csrfProtection }, change('/admin/silences', async (request) => {
        const body = form(request);
        const startsAt = clock.now();
        const silence = await addSilence(db, { matchers: matchersOf(body.matchers), startsAt, endsAt: startsAt + durationOf(body.duration), author: body.author?.trim() || actor, comment: body.comment ?? '' }, clock.now());
        return `Silence #${silence.id} is active until ${iso(silence.endsAt)}.`;
      }));
      admin.post<{ Params: { id: string } }>('/admin/silences/:id/expire', { preHandler: admin.csrfProtection }, async (request, reply) =>
        change('/admin/silences', async () => {
          const silence = await expireSilence(db, Number(request.params.id), actor, clock.now());
          return `Silence #${silence.id} has expired.`;
        })(request, reply),
      );

      admin.get('/admin/maintenance', async (request, reply) => {
        const maintenances = await listMaintenances(db, { from: clock.now(), to: clock.now() + 365 * 86_400_000 });
        return render(reply, 'maintenance', 'Maintenance', {
          ...flash(request),
          maintenances: maintenances.map((window) => ({ ...window, matchersText: Object.entries(window.matchers).map(([name, value]) => `${name}=${value}`).join(', '), starts: iso(window.startsAt), ends: iso(window.endsAt) })),
        });
      });
      admin.post('/admin/maintenance', { preHandler: admin.csrfProtection }, change('/admin/maintenance', async (request) => {
        const body = form(request);
        const startsAt = startOf(body.start, clock.now());
        const window = await addMaintenance(db, { title: body.title ?? '', matchers: matchersOf(body.matchers), startsAt, endsAt: startsAt + durationOf(body.duration), author: body.author?.trim() || actor, comment: body.comment ?? '' }, clock.now());
        return `Maintenance #${window.id} is planned from ${iso(window.startsAt)} to ${iso(window.endsAt)}.`;
      }));
      admin.post<{ Params: { id: string } }>('/admin/maintenance/:id/end', { preHandler: admin.csrfProtection }, async (request, reply) =>
        change('/admin/maintenance', async () => {
          const window = await endMaintenance(db, Number(request.params.id), actor, clock.now());
          return `Maintenance #${window.id} has ended.`;
        })(request, reply),
      );

      admin.get<{ Querystring: { state?: string; label?: string; cursor?: string } }>('/admin/videos', async (request, reply) => {
        const state = VIDEO_STATES.includes(request.query.state as VideoState) ? (request.query.state as VideoState) : undefined;
        const label = request.query.label?.trim() ?? '';
        let listing;
        let problem = '';
        try {
          listing = await listVideosPage(db, { limit: 50, ...(state ? { state } : {}), ...(label ? { label: [label] } : {}), ...(request.query.cursor ? { cursor: request.query.cursor } : {}) });
        } catch (error) {
          if (!(error as { statusCode?: number }).statusCode) throw error;
          problem = (error as Error).message;
          listing = { videos: [], nextCursor: null };
        }
        const older = listing.nextCursor ? `/admin/videos?${new URLSearchParams({ ...(state ? { state } : {}), ...(label ? { label } : {}), cursor: listing.nextCursor })}` : '';
        return render(reply, 'videos', 'Videos', {
          problem,
          state: state ?? '',
          label,
          states: VIDEO_STATES,
          older,
          videos: listing.videos.map((video) => ({ ...video, labelsText: Object.entries(video.labels).map(([name, value]) => `${name}=${value}`).join(', ') })),
        });
      });

      admin.get<{ Params: { id: string } }>('/admin/videos/:id', async (request, reply) => {
        const detail = await videoDetail(db, request.params.id, clock.now());
        if (!detail) return render(reply, 'missing', 'Not found', { what: `There is no video ${request.params.id}.` }, 404);
        return render(reply, 'video', `Video ${detail.video.id}`, {
          video: { ...detail.video, labelsText: Object.entries(detail.video.labels).map(([name, value]) => `${name}=${value}`).join(', ') },
          stages: detail.workflow.stages.map((stage) => ({
            ...stage,
            wait: durationText(stage.waitMs),
            took: durationText(stage.durationMs),
            attempts: stage.attempts.map((attempt) => ({ ...attempt, took: durationText(attempt.durationMs) })),
          })),
          total: durationText(detail.workflow.totalMs),
          gantt: workflowGantt(detail.workflow, detail.video.createdAt, clock.now()),
        });
      });
    });
  });
}

/** The operator console at /admin: server-rendered pages over the other modules' exported functions. */
export const consoleModule = defineModule<'console', typeof consoleConfigSchema, ProbesHostConfig>({
  name: 'console',
  config: { key: 'console', schema: consoleConfigSchema },
  migrations: [],
  setup(ctx) {
    if (ctx.roles.has('api')) registerConsole(ctx);
    return [];
  },
});
