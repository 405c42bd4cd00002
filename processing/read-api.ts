import { decodeCursor, errorResponses, labelsSchema, looseObject, pageOf, pageQueryProperties, requestError } from '../core/http/admin-api.ts';
import { ADMIN_API_PREFIX } from '../core/http/auth.ts';
import type { HttpServer } from '../core/http/server.ts';
import type { Clock } from '../core/clock.ts';
import { parseDuration } from '../core/config/duration.ts';
import type { Db } from '../core/db/index.ts';
import { summary } from './api.ts';
import { runGc, type GcDeps } from './gc.ts';
import { processingReport } from './report.ts';
import { queueSignals } from './signals.ts';
import { STAGES } from './stages/index.ts';
import { getVideo, listCheckpoints, listVideoEvents, selectVideosPage, VIDEO_STATES, type Video, type VideoState } from './store.ts';
import { workflowOf } from './workflow.ts';

/** What an operator sees of a video in lists: the API's summary, and whether a probe made it. */
const adminSummary = (video: Video) => ({ ...summary(video), synthetic: video.synthetic });

/** One video for an operator: its summary, every checkpoint and the workflow (stages with attempts, waits and durations). */
export async function videoDetail(db: Db, id: string, now: number) {
  const video = await getVideo(db, id);
  if (!video) return undefined;
  const checkpoints = await listCheckpoints(db, id);
  return {
    video: adminSummary(video),
    checkpoints: checkpoints.map((checkpoint) => ({
      stage: checkpoint.stage,
      attempt: checkpoint.attempt,
      status: checkpoint.status,
      workerId: checkpoint.workerId,
      startedAt: checkpoint.startedAt.toISOString(),
      finishedAt: checkpoint.finishedAt?.toISOString() ?? null,
      errorClass: checkpoint.errorClass,
      message: checkpoint.message,
    })),
    workflow: workflowOf(video, checkpoints, STAGES.map((stage) => stage.name), now),
  };
}

/** "key=value" query values as labels; a malformed one is a 400 naming `label`. */
export function labelFilter(values: readonly string[]): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  return Object.fromEntries(
    values.map((value) => {
      const at = value.indexOf('=');
      if (at <= 0) throw requestError('label', `"${value}" must look like key=value`);
      return [value.slice(0, at), value.slice(at + 1)];
    }),
  );
}

export async function listVideosPage(db: Db, query: { state?: VideoState; label?: string[]; limit: number; cursor?: string }) {
  const cursor = decodeCursor<{ createdAt: string; id: string }>(query.cursor, ['createdAt', 'id']);
  const labels = labelFilter(query.label ?? []);
  const rows = await selectVideosPage(db, { limit: query.limit + 1, ...(query.state ? { state: query.state } : {}), ...(labels ? { labels } : {}), ...(cursor ? { before: cursor } : {}) });
  const page = pageOf(rows, query.limit, (video) => ({ createdAt: video.createdAt.toISOString(), id: video.id }));
  return { videos: page.items.map(adminSummary), nextCursor: page.nextCursor };
}

const videoIdParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id'] } as const;

const videoSchema = looseObject(
  {
    id: { type: 'string' },
    state: { type: 'string', enum: [...VIDEO_STATES] },
    stage: { type: ['string', 'null'] },
    labels: labelsSchema,
    originalName: { type: ['string', 'null'] },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    error: { anyOf: [looseObject({ class: { type: 'string' }, message: { type: 'string' } }), { type: 'null' }] },
  },
  ['id', 'state', 'labels', 'createdAt'],
);

/** Videos, their workflow, the processing queues and the storage GC under /admin/api/v1/. */
export function registerProcessingReadApi(http: HttpServer, deps: { db: Db; clock: Clock; gc: GcDeps }): void {
  const { db, clock } = deps;
  void http.register(
    async (api) => {
      api.get<{ Querystring: { state?: VideoState; label?: string[]; limit: number; cursor?: string } }>(
        '/videos',
        {
          schema: {
            tags: ['processing'],
            summary: 'Videos, newest first, paged by cursor',
            querystring: {
              type: 'object',
              additionalProperties: false,
              properties: { ...pageQueryProperties, state: { type: 'string', enum: [...VIDEO_STATES] }, label: { type: 'array', items: { type: 'string' }, description: 'key=value; repeat for several' } },
            },
            response: { 200: looseObject({ videos: { type: 'array', items: videoSchema }, nextCursor: { type: ['string', 'null'] } }, ['videos', 'nextCursor']), ...errorResponses },
          },
        },
        async (request) => listVideosPage(db, request.query),
      );

      api.get<{ Params: { id: string } }>(
        '/videos/:id/workflow',
        {
          schema: {
            tags: ['processing'],
            summary: 'One video with its checkpoints and workflow: stages with attempts, worker, durations, waiting time and error class',
            params: videoIdParams,
            response: {
              200: looseObject(
                {
                  video: videoSchema,
                  checkpoints: { type: 'array', items: looseObject({ stage: { type: 'string' }, attempt: { type: 'integer' }, status: { type: 'string' }, workerId: { type: 'string' } }) },
                  workflow: looseObject({ stages: { type: 'array', items: looseObject({ stage: { type: 'string' }, status: { type: 'string' }, waitMs: { type: ['number', 'null'] }, durationMs: { type: ['number', 'null'] } }) }, totalMs: { type: ['number', 'null'] } }),
                },
                ['video', 'checkpoints', 'workflow'],
              ),
              ...errorResponses,
            },
          },
        },
        async (request) => {
          const detail = await videoDetail(db, request.params.id, clock.now());
          if (!detail) throw requestError('id', `no video "${request.params.id}"`, 404);
          return detail;
        },
      );

      api.get<{ Params: { id: string } }>(
        '/videos/:id/events',
        {
          schema: {
            tags: ['processing'],
            summary: "One video's processing events in sequence, with each endpoint's delivery (status, attempts, last error)",
            params: videoIdParams,
            response: { 200: looseObject({ events: { type: 'array', items: looseObject({ id: { type: 'string' }, sequence: { type: 'integer' }, type: { type: 'string' } }) } }, ['events']), ...errorResponses },
          },
        },
        async (request) => ({ events: await listVideoEvents(db, request.params.id) }),
      );

      api.get(
        '/queues',
        {
          schema: {
            tags: ['processing'],
            summary: 'Each pipeline stage queue: depth, running, age of the oldest waiting video, completions in the last 10 minutes',
            response: { 200: looseObject({ queues: { type: 'array', items: looseObject({ name: { type: 'string' }, depth: { type: 'integer' }, active: { type: 'integer' }, oldestQueuedAgeSeconds: { type: 'number' } }) } }, ['queues']), ...errorResponses },
          },
        },
        async () => ({ queues: await queueSignals(db, clock.now(), 600_000) }),
      );

      api.get<{ Querystring: { since: string; uploadsPerHour?: number } }>(
        '/processing/report',
        {
          schema: {
            tags: ['processing'],
            summary: 'Processing cost from the stored checkpoints over a window: what `vigil processing report` prints',
            querystring: {
              type: 'object',
              additionalProperties: false,
              properties: { since: { type: 'string', default: '7d', description: 'The window, e.g. 7d' }, uploadsPerHour: { type: 'number', minimum: 0 } },
            },
            response: { 200: looseObject({ report: looseObject({}), timeToPublish: { type: 'array', items: looseObject({}) }, concurrency: { type: 'integer' } }), ...errorResponses },
          },
        },
        async (request) => {
          let windowMs: number;
          try {
            windowMs = parseDuration(request.query.since);
          } catch (error) {
            throw requestError('since', (error as Error).message);
          }
          const { uploadsPerHour } = request.query;
          return processingReport(db, { now: clock.now(), windowMs, concurrency: deps.gc.config.concurrency, ...(uploadsPerHour !== undefined ? { uploadsPerHour } : {}) });
        },
      );

      api.post(
        '/processing/gc',
        {
          schema: {
            tags: ['processing'],
            summary: 'Run the storage GC once and report what it freed',
            response: { 200: looseObject({ deletedVideos: { type: 'integer' }, deletedOutputs: { type: 'integer' }, deletedOriginals: { type: 'integer' }, deletedOrphans: { type: 'integer' }, deletedEvents: { type: 'integer' }, freedBytes: { type: 'number' }, storedBytes: { type: 'number' } }), ...errorResponses },
          },
        },
        async () => runGc(deps.gc),
      );
    },
    { prefix: ADMIN_API_PREFIX },
  );
}
