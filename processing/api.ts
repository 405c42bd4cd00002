import { randomUUID } from 'node:crypto';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { acceptVideo, isTooLarge, MULTIPART_ALLOWANCE, receiveMultipart, tooLargeError, type UploadDeps } from './accept.ts';
import type { UploadQuota } from './limits.ts';
import { sendOutput, type PublicLinks } from './links.ts';
import { withoutPaths } from './notices.ts';
import { deleteVideoRows, getVideo, listCheckpoints, listOutputs, listVideos, VIDEO_STATES, type Video, type VideoState } from './videos.ts';

export interface ApiDeps extends UploadDeps {
  /** Base URL of the processing API (the internal listener). */
  apiUrl(): string;
  links: PublicLinks;
  quota: UploadQuota;
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

/** The upload and status API for the platform's backend (contract for the end-to-end probe); each route declares its scope. */
export async function registerRoutes(http: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db, storage, config } = deps;
  const statusUrl = (id: string) => `${deps.apiUrl()}/api/v1/videos/${id}`;

  await http.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: config.maxUploadBytes, files: 1, fields: 10, fieldSize: 4096 } });

    // The announced multipart body is the file plus its framing and the small fields; a larger Content-Length is refused before it is read.
    scope.post(
      '/api/v1/videos',
      { config: { scope: 'upload' }, bodyLimit: config.maxUploadBytes + MULTIPART_ALLOWANCE, onRequest: deps.quota.admit, onResponse: deps.quota.release },
      async (request, reply) => {
        try {
          const { ingested, originalName, fields } = await receiveMultipart(request, storage, config.maxUploadBytes);
          try {
            const email = fields.email?.trim() || null;
            if (email && !EMAIL.test(email)) throw badRequest(`email: "${email}" is not an email address`);
            const labels = parseLabels(fields.labels ?? '');
            const id = randomUUID();
            await acceptVideo(deps, { id, ingested, originalName, email, labels, keyId: request.principal?.keyId ?? null });
            request.span?.setAttribute('video.id', id);
            deps.metrics.uploads.inc({ outcome: 'accepted' });
            deps.metrics.bytesIn.inc(ingested.bytes);
            return reply.status(202).send({ id, status: 'queued', statusUrl: statusUrl(id), publicStatusUrl: deps.links.status(id) });
          } catch (error) {
            await storage.discard(ingested.partPath);
            throw error;
          }
        } catch (error) {
          deps.metrics.uploads.inc({ outcome: isTooLarge(error) ? 'too_large' : (error as { statusCode?: number }).statusCode ? 'invalid' : 'error' });
          if (isTooLarge(error)) throw tooLargeError(config.maxUploadBytes);
          throw error;
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
    const admin = isAdmin(request);
    return { videos: videos.map((video) => ({ ...summary(video, admin), statusUrl: statusUrl(video.id) })) };
  });

  http.get<{ Params: { id: string } }>('/api/v1/videos/:id', read, async (request) => {
    const video = await getVideo(db, request.params.id);
    if (!video) throw notFound(`No video with id "${request.params.id}"`);
    const [checkpoints, outputs] = await Promise.all([listCheckpoints(db, video.id), listOutputs(db, video.id)]);
    const admin = isAdmin(request);
    return {
      ...summary(video, admin),
      source: video.source,
      publicStatusUrl: deps.links.status(video.id),
      // Which worker ran an attempt and what ffmpeg said are for administrators only.
      checkpoints: checkpoints.map((checkpoint) => ({
        stage: checkpoint.stage,
        attempt: checkpoint.attempt,
        status: checkpoint.status,
        startedAt: checkpoint.startedAt.toISOString(),
        finishedAt: checkpoint.finishedAt?.toISOString() ?? null,
        errorClass: checkpoint.errorClass,
        ...(admin ? { workerId: checkpoint.workerId, message: checkpoint.message } : {}),
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
    const output = (await listOutputs(db, request.params.id)).find((candidate) => candidate.name === request.params.name);
    if (!output) throw notFound(`Video "${request.params.id}" has no output named "${request.params.name}"`);
    return sendOutput(reply, storage, output);
  });

  http.delete<{ Params: { id: string } }>('/api/v1/videos/:id', { config: { scope: 'delete' } }, async (request, reply) => {
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

const isAdmin = (request: FastifyRequest) => request.principal?.scopes.has('admin') ?? false;

function summary(video: Video, admin: boolean) {
  return {
    id: video.id,
    state: video.state,
    // A failed video keeps the stage it failed at.
    stage: video.state === 'published' ? null : video.stage,
    labels: video.labels,
    originalName: video.originalName,
    createdAt: video.createdAt.toISOString(),
    updatedAt: video.updatedAt.toISOString(),
    error: video.state === 'failed' && video.errorClass ? { class: video.errorClass, message: admin ? (video.errorMessage ?? '') : withoutPaths(video.errorMessage ?? '') } : null,
  };
}
