import path from 'node:path';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { duration } from '../core/config/duration.ts';
import type { Secret } from '../core/config/secret.ts';
import type { Db } from '../core/db/index.ts';
import { idParam, instant, parseBody } from '../core/http/admin-api.ts';
import type { HttpServer } from '../core/http/server.ts';
import { ackIncident, addMaintenance, addSilence, AdminError, endMaintenance, expireSilence, listMaintenances, listSilences, resetIncident } from './admin.ts';
import { verifyActionLink, type LinkAction } from './links.ts';
import { hookAttempts, incidentById } from './store.ts';
import { createPages } from '../core/http/pages.ts';

const windowBody = z
  .strictObject({
    matchers: z.record(z.string(), z.string()),
    startsAt: instant.optional(),
    endsAt: instant.optional(),
    /** Instead of endsAt: how long from the start, with a unit, like "2h" (a bare number is refused: 5 would mean 5 ms). */
    duration: z
      .preprocess((value, ctx) => {
        if (typeof value === 'number') ctx.addIssue({ code: 'custom', input: value, message: 'give a unit, like "2h" (a bare number would mean milliseconds)' });
        return value;
      }, duration())
      .optional(),
    author: z.string().min(1),
    comment: z.string().default(''),
    /** Accept matchers that also match alerts without their labels (mute nearly everything on purpose). */
    force: z.boolean().default(false),
  })
  .refine((body) => (body.endsAt === undefined) !== (body.duration === undefined), { message: 'give exactly one of endsAt or duration' });

const actorBody = z.strictObject({ author: z.string().min(1) });



function windowOf(body: z.output<typeof windowBody>, now: number) {
  const startsAt = body.startsAt ?? now;
  return { matchers: body.matchers, startsAt, endsAt: body.endsAt ?? startsAt + body.duration!, author: body.author, comment: body.comment, force: body.force };
}

const SILENCE_FROM_LINK = 3_600_000;

/**
 * The pages behind those links: GET shows what the link will do and a button; only the POST acts (a mail scanner
 * following links changes nothing), audited as done "from a notification link".
 */
function registerActionPages(http: HttpServer, options: { db: Db; clock: Clock; adminToken: Secret | undefined }): void {
  const pages = createPages(path.join(import.meta.dirname, 'views'));
  const now = () => options.clock.now();
  const TITLES: Record<LinkAction, string> = { ack: 'Acknowledge the incident', silence: 'Silence the incident for 1 hour' };
  const resolve = async (token: string) => {
    const link = options.adminToken ? verifyActionLink(options.adminToken.reveal(), token, now()) : { problem: 'Action links are off: this Vigil has no admin token.' };
    if ('problem' in link) return { link: undefined, problem: link.problem, status: 'expired' in link ? 410 : 404 };
    const incident = await incidentById(options.db, link.incidentId);
    return incident ? { link, incident } : { link: undefined, problem: `Incident #${link.incidentId} no longer exists.`, status: 404 };
  };
  http.register(async (scope) => {
    // The confirmation form posts no fields.
    scope.addContentTypeParser('application/x-www-form-urlencoded', (_request, body, done) => {
      body.resume();
      body.on('end', () => done(null, {}));
    });
    scope.get('/alerts/actions/:token', async (request, reply) => {
      const { token } = request.params as { token: string };
      const found = await resolve(token);
      if (!found.link) return pages.send(reply, 'action', { title: 'Link not usable', message: found.problem }, found.status);
      const message = found.link.action === 'ack' ? 'Acknowledging stops the reminders for this incident; everything else goes on.' : 'Silencing mutes notifications with exactly these labels for one hour.';
      return pages.send(reply, 'action', { title: TITLES[found.link.action], incident: found.incident, message, confirm: TITLES[found.link.action], action: `/alerts/actions/${token}` });
    });
    scope.post('/alerts/actions/:token', async (request, reply) => {
      const { token } = request.params as { token: string };
      const found = await resolve(token);
      if (!found.link) return pages.send(reply, 'action', { title: 'Link not usable', message: found.problem }, found.status);
      const actor = 'notification link';
      try {
        if (found.link.action === 'ack') await ackIncident(options.db, found.incident.id, actor, now());
        else await addSilence(options.db, { matchers: found.incident.labels, startsAt: now(), endsAt: now() + SILENCE_FROM_LINK, author: actor, comment: `silenced from a notification about incident #${found.incident.id}`, force: true }, now());
      } catch (error) {
        if (!(error instanceof AdminError)) throw error;
        return pages.send(reply, 'action', { title: 'Nothing to do', incident: found.incident, message: error.message }, error.statusCode);
      }
      return pages.send(reply, 'action', { title: found.link.action === 'ack' ? 'Acknowledged' : 'Silenced for 1 hour', incident: found.incident, message: 'Done. It is in the audit log.' });
    });
  });
}

/** Silences, maintenance windows and incidents under /admin/api/v1/, behind the admin bearer token; the action-link pages. */
export function registerAdminRoutes(http: HttpServer, options: { db: Db; clock: Clock; adminToken: Secret | undefined }): void {
  const { db, clock } = options;
  const now = () => clock.now();
  registerActionPages(http, options);
  http.register(
    async (admin) => {
      admin.get('/silences', async (request) => ({ silences: await listSilences(db, now(), { all: (request.query as { all?: string }).all === 'true' }) }));
      admin.post('/silences', async (request, reply) => reply.status(201).send({ silence: await addSilence(db, windowOf(parseBody(windowBody, request.body), now()), now()) }));
      admin.post('/silences/:id/expire', async (request) => ({ silence: await expireSilence(db, idParam(request.params), parseBody(actorBody, request.body).author, now()) }));

      admin.get('/maintenances', async (request) => {
        const query = request.query as { from?: string; to?: string };
        const from = query.from ? Date.parse(query.from) : now();
        const to = query.to ? Date.parse(query.to) : from + 30 * 86_400_000;
        if (Number.isNaN(from) || Number.isNaN(to)) throw new AdminError('from and to must be ISO dates');
        return { maintenances: await listMaintenances(db, { from, to }) };
      });
      admin.post('/maintenances', async (request, reply) => {
        const body = parseBody(windowBody.and(z.object({ title: z.string().min(1) })), request.body);
        return reply.status(201).send({ maintenance: await addMaintenance(db, { ...windowOf(body, now()), title: body.title }, now()) });
      });
      admin.post('/maintenances/:id/end', async (request) => ({ maintenance: await endMaintenance(db, idParam(request.params), parseBody(actorBody, request.body).author, now()) }));

      admin.get('/incidents/:id/hook-attempts', async (request) => ({ attempts: await hookAttempts(db, { incidentId: idParam(request.params) }) }));
      admin.post('/incidents/:id/ack', async (request) => ({ incident: await ackIncident(db, idParam(request.params), parseBody(actorBody, request.body).author, now()) }));
      admin.post('/incidents/:id/reset', async (request) => ({ incident: await resetIncident(db, idParam(request.params), parseBody(actorBody, request.body).author, now()) }));
    },
    { prefix: '/admin/api/v1' },
  );
}
