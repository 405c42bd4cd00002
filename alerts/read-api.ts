import type { Db } from '../core/db/index.ts';
import { decodeCursor, errorResponses, labelsSchema, looseObject, pageOf, pageQueryProperties, requestError } from '../core/http/admin-api.ts';
import { ADMIN_API_PREFIX } from '../core/http/auth.ts';
import type { HttpServer } from '../core/http/server.ts';
import { hookAttempts, incidentById, selectAuditPage, selectDeliveries, selectIncidentsPage, type IncidentFilter } from './store.ts';
import { incidentTimeline } from './timeline.ts';

const incidentSchema = looseObject(
  {
    id: { type: 'integer' },
    rule: { type: 'string' },
    labels: labelsSchema,
    summary: { type: 'string' },
    state: { type: 'string', enum: ['pending', 'firing', 'escalated', 'resolved'] },
    flapping: { type: 'boolean' },
    startedAt: { type: 'number', description: 'epoch milliseconds' },
    firedAt: { type: ['number', 'null'] },
    escalatedAt: { type: ['number', 'null'] },
    resolvedAt: { type: ['number', 'null'] },
    ackedBy: { type: ['string', 'null'] },
    ackedAt: { type: ['number', 'null'] },
  },
  ['id', 'rule', 'labels', 'summary', 'state', 'startedAt'],
);
const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;

/** The incident in full: timeline, every notification delivery and every hook attempt. */
export async function incidentDetail(db: Db, id: number) {
  const incident = await incidentById(db, id);
  if (!incident) return undefined;
  const [deliveries, attempts, audit] = await Promise.all([selectDeliveries(db, id), hookAttempts(db, { incidentId: id }), selectAuditPage(db, { incidentId: id, limit: 500 })]);
  return { incident, timeline: incidentTimeline(incident, deliveries, attempts, audit), deliveries, hookAttempts: attempts };
}

/** Incidents (paged, by state, in full) and the audit log under /admin/api/v1/. */
export function registerAlertsReadApi(http: HttpServer, db: Db): void {
  void http.register(
    async (api) => {
      api.get<{ Querystring: { state?: IncidentFilter; limit: number; cursor?: string } }>(
        '/incidents',
        {
          schema: {
            tags: ['incidents'],
            summary: 'Incidents, newest first, paged by cursor',
            querystring: {
              type: 'object',
              additionalProperties: false,
              properties: { ...pageQueryProperties, state: { type: 'string', enum: ['open', 'pending', 'firing', 'escalated', 'resolved'], description: 'open: every state but resolved' } },
            },
            response: { 200: looseObject({ incidents: { type: 'array', items: incidentSchema }, nextCursor: { type: ['string', 'null'] } }, ['incidents', 'nextCursor']), ...errorResponses },
          },
        },
        async (request) => {
          const { state, limit } = request.query;
          const cursor = decodeCursor<{ id: number }>(request.query.cursor, ['id']);
          const rows = await selectIncidentsPage(db, { limit: limit + 1, ...(state ? { state } : {}), ...(cursor ? { beforeId: cursor.id } : {}) });
          const page = pageOf(rows, limit, (incident) => ({ id: incident.id }));
          return { incidents: page.items, nextCursor: page.nextCursor };
        },
      );

      api.get<{ Params: { id: number } }>(
        '/incidents/:id',
        {
          schema: {
            tags: ['incidents'],
            summary: 'One incident with its timeline, notification deliveries and hook attempts',
            params: idParams,
            response: {
              200: looseObject(
                {
                  incident: incidentSchema,
                  timeline: { type: 'array', items: looseObject({ at: { type: 'number' }, event: { type: 'string' }, detail: { type: 'string' } }) },
                  deliveries: { type: 'array', items: looseObject({ receiver: { type: 'string' }, event: { type: 'string' }, status: { type: 'string' }, attempts: { type: 'integer' } }) },
                  hookAttempts: { type: 'array', items: looseObject({ receiver: { type: 'string' }, action: { type: 'string' }, outcome: { type: 'string' } }) },
                },
                ['incident', 'timeline', 'deliveries', 'hookAttempts'],
              ),
              ...errorResponses,
            },
          },
        },
        async (request) => {
          const detail = await incidentDetail(db, request.params.id);
          if (!detail) throw requestError('id', `no incident #${request.params.id}`, 404);
          return detail;
        },
      );

      api.get<{ Querystring: { limit: number; cursor?: string } }>(
        '/audit',
        {
          schema: {
            tags: ['audit'],
            summary: 'Every administrative change (silences, maintenance, acks, resets), newest first',
            querystring: { type: 'object', additionalProperties: false, properties: pageQueryProperties },
            response: {
              200: looseObject(
                { entries: { type: 'array', items: looseObject({ id: { type: 'integer' }, at: { type: 'number' }, actor: { type: 'string' }, action: { type: 'string' }, detail: { type: 'object', additionalProperties: true } }) }, nextCursor: { type: ['string', 'null'] } },
                ['entries', 'nextCursor'],
              ),
              ...errorResponses,
            },
          },
        },
        async (request) => {
          const cursor = decodeCursor<{ id: number }>(request.query.cursor, ['id']);
          const rows = await selectAuditPage(db, { limit: request.query.limit + 1, ...(cursor ? { beforeId: cursor.id } : {}) });
          const page = pageOf(rows, request.query.limit, (entry) => ({ id: entry.id }));
          return { entries: page.items, nextCursor: page.nextCursor };
        },
      );
    },
    { prefix: ADMIN_API_PREFIX },
  );
}
