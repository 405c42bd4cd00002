import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { Queue } from '../core/queue/index.ts';
import { withSpan } from '../core/telemetry/index.ts';
import type { ProcessingConfig } from './config.ts';
import type { ProcessingMetrics } from './metrics.ts';
import { UploadTooLargeError, type Ingested, type Storage } from './storage.ts';
import { deleteVideoRows, getVideo, insertVideo, listCheckpoints, listOutputs, listVideos, VIDEO_STATES, type Video, type VideoState } from './videos.ts';
import { enqueueFirstStage } from './worker.ts';

export interface ApiDeps {
  db: Db;
  queue: Queue;
  storage: Storage;
  config: ProcessingConfig;
  clock: Clock;
  metrics: ProcessingMetrics;
  publicUrl(): string;
}

const badRequest = (message: string, code = 'BAD_REQUEST') => Object.assign(new Error(message), { statusCode: 400, code });
const notFound = (message: string) => Object.assign(new Error(message), { statusCode: 404, code: 'NOT_FOUND' });

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

/** The upload and status API (contract for the end-to-end probe). */
export async function registerRoutes(http: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db, storage, config } = deps;
  const statusUrl = (id: string) => `${deps.publicUrl()}/api/v1/videos/${id}`;
  const outputUrl = (id: string, name: string) => `${statusUrl(id)}/outputs/${encodeURIComponent(name)}`;

  await http.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: config.maxUploadBytes, files: 1, fields: 10, fieldSize: 4096 } });

    // The announced multipart body is the file plus its framing and the small fields; a larger Content-Length is refused before it is read.
    scope.post('/api/v1/videos', { bodyLimit: config.maxUploadBytes + 64 * 1024 }, async (request, reply) => {
      if (!request.isMultipart()) throw Object.assign(new Error('Send the video as multipart/form-data with a field named "file".'), { statusCode: 415, code: 'NOT_MULTIPART' });
      let ingested: Ingested | undefined;
      let originalName: string | null = null;
      const fields: Record<string, string> = {};
      try {
        for await (const part of request.parts()) {
          if (part.type === 'field') {
            fields[part.fieldname] = String(part.value);
            continue;
          }
          if (part.fieldname !== 'file' || ingested) throw badRequest(`unexpected file field "${part.fieldname}": send exactly one file, in the field "file"`);
          originalName = part.filename || null;
          ingested = await storage.ingest(part.file, config.maxUploadBytes, () => part.file.truncated);
        }
        if (!ingested) throw badRequest('the multipart field "file" is required');
        const email = fields.email?.trim() || null;
        if (email && !EMAIL.test(email)) throw badRequest(`email: "${email}" is not an email address`);
        const labels = parseLabels(fields.labels ?? '');
        const upload = ingested;
        const id = randomUUID();
        await withSpan('processing.upload', { 'video.id': id, 'processing.bytes': upload.bytes, 'processing.sha256': upload.sha256 }, () =>
          // The original moves to its content address inside the transaction that references it, so GC (which deletes
          // unreferenced blobs under the same row lock) can never remove the file between the move and the commit.
          db.transaction(async (tx) => {
            await insertVideo(tx, { id, sha256: upload.sha256, bytes: upload.bytes, originalName, email, labels, now: deps.clock.date() });
            await enqueueFirstStage(deps.queue, tx, id);
            await storage.adoptOriginal(upload.partPath, upload.sha256);
          }),
        );
        request.span?.setAttribute('video.id', id);
        deps.metrics.uploads.inc({ outcome: 'accepted' });
        deps.metrics.bytesIn.inc(upload.bytes);
        return reply.status(202).send({ id, status: 'queued', statusUrl: statusUrl(id) });
      } catch (error) {
        if (ingested) await storage.discard(ingested.partPath);
        const tooLarge = error instanceof UploadTooLargeError || (error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE';
        deps.metrics.uploads.inc({ outcome: tooLarge ? 'too_large' : (error as { statusCode?: number }).statusCode ? 'invalid' : 'error' });
        if (tooLarge) {
          throw Object.assign(new Error(`The upload is larger than the limit of ${config.maxUploadBytes} bytes (processing.maxUploadBytes).`), { statusCode: 413, code: 'UPLOAD_TOO_LARGE' });
        }
        throw error;
      }
    });
  });

  http.get<{ Querystring: { state?: string; limit?: string } }>('/api/v1/videos', async (request) => {
    const { state, limit: rawLimit } = request.query;
    if (state !== undefined && !VIDEO_STATES.includes(state as VideoState)) throw badRequest(`state: "${state}" is not one of ${VIDEO_STATES.join(', ')}`);
    const limit = rawLimit === undefined ? 50 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw badRequest(`limit: "${rawLimit}" is not a whole number from 1 to 500`);
    const videos = await listVideos(db, { limit, ...(state ? { state: state as VideoState } : {}) });
    return { videos: videos.map((video) => ({ ...summary(video), statusUrl: statusUrl(video.id) })) };
  });

  http.get<{ Params: { id: string } }>('/api/v1/videos/:id', async (request) => {
    const video = await getVideo(db, request.params.id);
    if (!video) throw notFound(`No video with id "${request.params.id}"`);
    const [checkpoints, outputs] = await Promise.all([listCheckpoints(db, video.id), listOutputs(db, video.id)]);
    return {
      ...summary(video),
      source: video.source,
      checkpoints: checkpoints.map((checkpoint) => ({
        stage: checkpoint.stage,
        attempt: checkpoint.attempt,
        status: checkpoint.status,
        startedAt: checkpoint.startedAt.toISOString(),
        finishedAt: checkpoint.finishedAt?.toISOString() ?? null,
        workerId: checkpoint.workerId,
        errorClass: checkpoint.errorClass,
        message: checkpoint.message,
      })),
      outputs: outputs.map((output) => ({
        kind: output.kind,
        name: output.name,
        path: output.path,
        url: outputUrl(video.id, output.name),
        bytes: output.bytes,
        ...(output.durationSeconds !== null ? { durationSeconds: output.durationSeconds } : {}),
      })),
    };
  });

  http.get<{ Params: { id: string; name: string } }>('/api/v1/videos/:id/outputs/:name', async (request, reply) => {
    const output = (await listOutputs(db, request.params.id)).find((candidate) => candidate.name === request.params.name);
    if (!output) throw notFound(`Video "${request.params.id}" has no output named "${request.params.name}"`);
    const bytes = await storage.size(output.path);
    if (bytes === null) throw notFound(`The file for output "${output.name}" is no longer in storage`);
    return reply
      .type(output.name.endsWith('.mp4') ? 'video/mp4' : output.name.endsWith('.jpg') ? 'image/jpeg' : 'application/octet-stream')
      .header('content-length', bytes)
      .send(createReadStream(output.path));
  });

  http.delete<{ Params: { id: string } }>('/api/v1/videos/:id', async (request, reply) => {
    const found = await db.transaction(async (tx) => {
      const video = await getVideo(tx, request.params.id, { forUpdate: true });
      if (!video) return false;
      const { unreferencedSha256 } = await deleteVideoRows(tx, video.id);
      // Removed while the blob row's delete is uncommitted, for the same reason the upload adopts its file inside its transaction.
      if (unreferencedSha256) await storage.removeOriginal(unreferencedSha256);
      return true;
    });
    if (!found) throw notFound(`No video with id "${request.params.id}"`);
    await storage.removeVideoFiles(request.params.id);
    return reply.status(204).send();
  });
}

function summary(video: Video) {
  return {
    id: video.id,
    state: video.state,
    // A failed video keeps the stage it failed at.
    stage: video.state === 'published' ? null : video.stage,
    labels: video.labels,
    originalName: video.originalName,
    createdAt: video.createdAt.toISOString(),
    updatedAt: video.updatedAt.toISOString(),
    error: video.state === 'failed' && video.errorClass ? { class: video.errorClass, message: video.errorMessage ?? '' } : null,
  };
}
