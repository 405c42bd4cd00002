import { randomUUID } from 'node:crypto';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { asDependencyUnavailable } from '../core/unavailable.ts';
import { acceptVideo, MULTIPART_ALLOWANCE, receiveMultipart, type UploadDeps } from './accept.ts';
import { callbackUrlProblem, emitEvent } from './events.ts';
import { classify } from './failures.ts';
import type { ProcessingConfig } from './config.ts';
import type { UploadQuota } from './limits.ts';
import { sendOutput, type PublicLinks } from './links.ts';
import type { StageName } from './stages/index.ts';
import { UploadTooLargeError } from './storage.ts';
import { announceDeleted, deleteVideoRows, getVideo, listCheckpoints, listOutputs, listVideos, VIDEO_STATES, type Video, type VideoState } from './store.ts';
import { queueName, retryFailedVideo } from './worker.ts';

export interface ApiDeps extends UploadDeps {
  /** Base URL of the processing API (the internal listener). */
  apiUrl(): string;
  links: PublicLinks;
  quota: UploadQuota;
}

const badRequest = (message: string, code = 'BAD_REQUEST') => Object.assign(new Error(message), { statusCode: 400, code });
const notFound = (message: string) => Object.assign(new Error(message), { statusCode: 404, code: 'NOT_FOUND' });
const conflict = (message: string) => Object.assign(new Error(message), { statusCode: 409, code: 'CONFLICT' });

const VIDEO_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Video ids are UUIDs; anything else names no video and never reaches SQL. */
export function videoIdOf(params: unknown): string {
  const id = String((params as { id?: unknown }).id ?? '');
  if (!VIDEO_ID.test(id)) throw notFound(`No video with id "${id.slice(0, 64).replace(/[^\x20-\x7e]/g, '?')}" (video ids are UUIDs)`);
  return id;
}

/** Seconds a client should wait before trying again when storage refused an upload. */
const STORAGE_RETRY_AFTER_SECONDS = 30;
const MULTIPART_MALFORMED = /Unexpected end of (?:form|multipart data)|Malformed|Boundary not found|Multipart: |part terminated early|premature close/i;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_.-]{0,62}$/;

/** "synthetic=true,probe=e2e" → { synthetic: 'true', probe: 'e2e' }; anything else is a 400 naming the bad pair. */
export function parseLabels(raw: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const [key, value, ...rest] = pair.split('=');
    if (!key || value === undefined || rest.length || !LABEL.test(key) || value.length > 200) {
      throw badRequest(`labels: "${pair}" is not a key=value pair (keys: letters, digits, "_", ".", "-"; values up to 200 characters)`);
    }
    labels[key] = value;
  }
  return labels;
}

/** An upload's `callbackUrl` (a multipart field, or a direct upload's creation): null when absent, a 400 naming the field when its host is not allowed. */
export function checkedCallbackUrl(given: string | undefined, config: Pick<ProcessingConfig, 'eventCallbacks'>): string | null {
  const callbackUrl = given?.trim() || null;
  const problem = callbackUrl && callbackUrlProblem(callbackUrl, config.eventCallbacks);
  if (problem) throw badRequest(`callbackUrl: ${problem}`);
  return callbackUrl;
}

/** The upload and status API for the platform's backend (contract for the end-to-end probe); each route declares its scope. */
export async function registerRoutes(http: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db, storage, config } = deps;
  const statusUrl = (id: string) => `${deps.apiUrl()}/api/v1/videos/${id}`;

  await http.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: config.maxUploadBytes, files: 1, fields: 10, fieldSize: 4096 } });

    // The announced multipart body is the file plus its framing and the small fields; a larger Content-Length is refused before it is read.
    const { code, message } = uploadErrorAnswer(new UploadTooLargeError(), config.maxUploadBytes)!;
    scope.post(
      '/api/v1/videos',
      { config: { scope: 'upload', bodyTooLarge: { code, message } }, bodyLimit: config.maxUploadBytes + MULTIPART_ALLOWANCE, onRequest: deps.quota.admit, onResponse: deps.quota.release },
      async (request, reply) => {
        try {
          const { ingested, originalName, fields } = await receiveMultipart(request, storage, config.maxUploadBytes);
          try {
            const email = fields.email?.trim() || null;
            if (email && !EMAIL.test(email)) throw badRequest(`email: "${email}" is not an email address`);
            const labels = parseLabels(fields.labels ?? '');
            const callbackUrl = checkedCallbackUrl(fields.callbackUrl, config);
            const id = randomUUID();
            await acceptVideo(deps, { id, ingested, originalName, email, labels, keyId: request.principal?.keyId ?? null, callbackUrl });
            request.span?.setAttribute('video.id', id);
            deps.metrics.uploads.inc({ outcome: 'accepted' });
            deps.metrics.bytesIn.inc(ingested.bytes);
            return reply.status(202).send({ id, status: 'queued', statusUrl: statusUrl(id), publicStatusUrl: deps.links.status(id) });
          } catch (error) {
            await storage.discard(ingested.partPath);
            throw error;
          }
        } catch (error) {
          const answer = uploadErrorAnswer(error, config.maxUploadBytes);
          deps.metrics.uploads.inc({ outcome: answer?.outcome ?? ((error as { statusCode?: number }).statusCode ? 'invalid' : 'error') });
          if (!answer) throw error;
          if (answer.retryAfterSeconds) reply.header('retry-after', String(answer.retryAfterSeconds));
          return reply.status(answer.status).send({ error: { code: answer.code, message: answer.message } });
        }
      },
    );
  });

  const read = { config: { scope: 'read' } } as const;
  http.get<{ Querystring: { state?: string; limit?: string } }>('/api/v1/videos', read, async (request) => {
    const { state, limit: rawLimit } = request.query;
    if (state !== undefined && !VIDEO_STATES.includes(state as VideoState)) throw badRequest(`state: "${state}" is not one of ${VIDEO_STATES.join(', ')}`);
    const limit = rawLimit === undefined ? 50 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw badRequest(`limit: "${rawLimit}" is not a whole number from 1 to 500`);
    const videos = await listVideos(db, { limit, ...(state ? { state: state as VideoState } : {}) });
    return { videos: videos.map((video) => ({ ...summary(video), statusUrl: statusUrl(video.id) })) };
  });

  http.get('/api/v1/videos/:id', read, async (request) => {
    const id = videoIdOf(request.params);
    const video = await getVideo(db, id);
    if (!video) throw notFound(`No video with id "${id}"`);
    const [checkpoints, outputs] = await Promise.all([listCheckpoints(db, video.id), listOutputs(db, video.id)]);
    const running = checkpoints.findLast((checkpoint) => checkpoint.status === 'started' && checkpoint.progress);
    return {
      ...summary(video),
      progress: running?.progress
        ? { stage: running.stage, percent: running.progress.percent, speed: running.progress.speed, estimatedFinishAt: running.progress.estimatedFinishAt?.toISOString() ?? null }
        : null,
      source: video.source,
      input: video.diagnostics,
      publicStatusUrl: deps.links.status(video.id),
      checkpoints: checkpoints.map((checkpoint) => ({
        stage: checkpoint.stage,
        attempt: checkpoint.attempt,
        status: checkpoint.status,
        startedAt: checkpoint.startedAt.toISOString(),
        finishedAt: checkpoint.finishedAt?.toISOString() ?? null,
        errorClass: checkpoint.errorClass,
        errorCode: checkpoint.errorCode,
      })),
      outputs: outputs.map((output) => ({
        kind: output.kind,
        name: output.name,
        url: deps.links.output(video.id, output.name),
        bytes: output.bytes,
        ...(output.durationSeconds !== null ? { durationSeconds: output.durationSeconds } : {}),
      })),
    };
  });

  http.get<{ Params: { id: string; name: string } }>('/api/v1/videos/:id/outputs/:name', read, async (request, reply) => {
    const id = videoIdOf(request.params);
    const output = (await listOutputs(db, id)).find((candidate) => candidate.name === request.params.name);
    if (!output) throw notFound(`Video "${id}" has no output named "${request.params.name}"`);
    return sendOutput(reply, storage, output);
  });

  http.delete('/api/v1/videos/:id', { config: { scope: 'delete' } }, async (request, reply) => {
    const id = videoIdOf(request.params);
    const deleted = await db.transaction(async (tx) => {
      const video = await getVideo(tx, id, { forUpdate: true });
      if (!video) return null;
      // Before the rows go: the event's callback delivery takes its address from the video's row.
      await emitEvent(tx, config, { videoId: video.id, type: 'video.deleted', data: {}, now: deps.clock.date() });
      const { unreferencedSha256 } = await deleteVideoRows(tx, video.id);
      // A running attempt stops the moment this commits, in whichever worker process runs it.
      await announceDeleted(tx, video.id);
      // Removed while the blob row's delete is uncommitted, for the same reason the upload adopts its file inside its transaction.
      if (unreferencedSha256) await storage.removeOriginal(unreferencedSha256);
      return video;
    });
    if (!deleted) throw notFound(`No video with id "${id}"`);
    if (deleted.jobId && deleted.stage && deleted.state !== 'published' && deleted.state !== 'failed') {
      await deps.queue.cancel(queueName(deleted.stage as StageName), deleted.jobId).catch(() => {});
    }
    await storage.removeVideoFiles(id);
    return reply.status(204).send();
  });

  http.register(
    async (admin) => {
      const adminOnly = { config: { scope: 'admin' } } as const;
      admin.get('/videos/:id', adminOnly, async (request) => {
        const id = videoIdOf(request.params);
        const video = await getVideo(db, id);
        if (!video) throw notFound(`No video with id "${id}"`);
        const [checkpoints, outputs] = await Promise.all([listCheckpoints(db, id), listOutputs(db, id)]);
        return { ...summary(video), errorDetail: video.errorDetail, source: video.source, checkpoints, outputs };
      });
      admin.post('/videos/:id/retry', adminOnly, async (request) => {
        const id = videoIdOf(request.params);
        const video = await retryFailedVideo(deps, id);
        if (video) return { ...summary(video), statusUrl: statusUrl(id) };
        const existing = await getVideo(db, id);
        if (!existing) throw notFound(`No video with id "${id}"`);
        throw conflict(`Video "${id}" is ${existing.state}; only a failed video can be retried`);
      });
    },
    { prefix: '/admin/api/v1' },
  );
}

export interface UploadErrorAnswer {
  status: number;
  code: string;
  message: string;
  outcome: string;
  /** For a refusal that will pass (RETRYING): when to send the file again. */
  retryAfterSeconds?: number;
}

const notSaved = (why: string, seconds: number) =>
  `Your video was not saved because ${why}. Nothing is wrong with the file: please upload it again in ${seconds} seconds.`;

/** The answer for an upload that went wrong before it was accepted, or undefined for an error the server handler reports. */
export function uploadErrorAnswer(error: unknown, maxUploadBytes: number): UploadErrorAnswer | undefined {
  const code = (error as { code?: string }).code;
  if (error instanceof UploadTooLargeError || code === 'FST_REQ_FILE_TOO_LARGE') {
    return { status: 413, code: 'UPLOAD_TOO_LARGE', message: `The upload is larger than the limit of ${maxUploadBytes} bytes (processing.maxUploadBytes).`, outcome: 'too_large' };
  }
  if (code === 'FST_FILES_LIMIT') return { status: 400, code: 'BAD_REQUEST', message: 'Send exactly one file, in the multipart field "file".', outcome: 'invalid' };
  if ((error as { statusCode?: number }).statusCode) return undefined;
  // A store that cannot be reached is not a storage problem, although a stage waits on both alike.
  const unavailable = asDependencyUnavailable(error, 'database');
  if (unavailable && unavailable.reason !== 'full') {
    const seconds = unavailable.retryAfterSeconds;
    return { status: 503, code: 'UNAVAILABLE', message: notSaved(`the service cannot reach its ${unavailable.dependency} at the moment`, seconds), outcome: 'unavailable', retryAfterSeconds: seconds };
  }
  if (classify(error).code === 'storage_unavailable') {
    const seconds = STORAGE_RETRY_AFTER_SECONDS;
    return { status: 503, code: 'RESOURCE', message: notSaved('our storage is not accepting uploads right now', seconds), outcome: 'storage', retryAfterSeconds: seconds };
  }
  if (error instanceof Error && MULTIPART_MALFORMED.test(error.message)) {
    return { status: 400, code: 'MALFORMED_MULTIPART', message: `The multipart body could not be read (${error.message}); send it again, whole.`, outcome: 'invalid' };
  }
  return undefined;
}

/** A video as every API answer starts it: what it is and where it stands, never a path. */
export function summary(video: Video) {
  return {
    id: video.id,
    state: video.state,
    // A failed video keeps the stage it failed at.
    stage: video.state === 'published' ? null : video.stage,
    labels: video.labels,
    originalName: video.originalName,
    createdAt: video.createdAt.toISOString(),
    updatedAt: video.updatedAt.toISOString(),
    error: video.state === 'failed' && video.errorClass ? { class: video.errorClass, code: video.errorCode, message: video.errorMessage ?? '' } : null,
  };
}
