import { mkdir } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import type { FileStore } from '@tus/file-store';
import type { Server as TusServer } from '@tus/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpServer } from '../core/http/server.ts';
import { acceptVideo, isTooLarge } from './accept.ts';
import { uploadErrorAnswer } from './api.ts';
import { claimDirectUpload, directUploadGate, findDirectUpload, markDirectUploadUsed, releaseDirectUpload, type DirectUploadDeps } from './direct-uploads.ts';

/** The Node response under tus's web Request, to add a header tus's error mapping cannot carry. */
const nodeResponseOf = (request: Request) => (request as Request & { runtime?: { node?: { res?: ServerResponse } } }).runtime?.node?.res;

// The token is the third segment: /uploads/<token>/tus[/<upload id>].
const tokenOf = (url: string) => new URL(url, 'http://local').pathname.split('/')[2] ?? '';

/**
 * Resumable direct uploads with the tus protocol: `POST /uploads/:token/tus` creates the upload (its id is the
 * direct upload's, so one link makes at most one video), `HEAD`/`PATCH /uploads/:token/tus/:id` resume and continue
 * it. Parts wait in incoming/tus/ until the last byte arrives; then the file is stored and queued like any upload.
 */
export function registerTusUploads(http: HttpServer, deps: DirectUploadDeps): void {
  const directory = path.join(deps.storage.root, 'incoming', 'tus');
  // Made on first use: the tus packages take a while to load (every CLI command would pay for them), and the file
  // store creates its directory when constructed.
  let made: Promise<{ datastore: FileStore; tus: TusServer }> | undefined;
  // A failed start (storage unusable) is tried again by the next request.
  const server = () => (made ??= make().catch((error: unknown) => {
    made = undefined;
    throw error;
  }));
  const make = async () => {
    const [{ FileStore }, { Server }] = await Promise.all([import('@tus/file-store'), import('@tus/server')]);
    // The file store makes its directory in a callback that throws (an uncaught exception) when it cannot: made here first.
    await mkdir(directory, { recursive: true });
    const datastore = new FileStore({ directory });
    const tus = new Server({
      path: '/uploads',
      datastore,
      maxSize: deps.config.maxUploadBytes,
      allowedOrigins: (origin) => deps.config.uploads.allowedOrigins.includes(origin),
      namingFunction: async (request) => (await findDirectUpload(deps.db, tokenOf(request.url)))!.id,
      generateUrl: (request, { id }) => `${deps.publicUrl()}/uploads/${tokenOf(request.url)}/tus/${id}`,
      getFileIdFromRequest: (_request, lastPath) => lastPath,
      // tus's own answers (and ours, like the 409 below) carry a status; anything else is an error of storage or the database,
      // answered with the body the other upload routes give (tus answers it as text/plain).
      async onResponseError(request, error) {
        if ('status_code' in error) return undefined;
        // A creation that failed after taking the link hands it back, so the same link can be tried again.
        if (request.method === 'POST') {
          const direct = await findDirectUpload(deps.db, tokenOf(request.url)).catch(() => null);
          if (direct) await releaseDirectUpload(deps.db, direct.id).catch(() => {});
        }
        const answer = uploadErrorAnswer(error, deps.config.maxUploadBytes);
        if (answer?.retryAfterSeconds) nodeResponseOf(request)?.setHeader('retry-after', String(answer.retryAfterSeconds));
        const refusal = answer ? { code: answer.code, message: answer.message } : { code: 'INTERNAL', message: 'The upload could not be received; send it again.' };
        return { status_code: answer?.status ?? 500, body: JSON.stringify({ error: refusal }) };
      },
      async onUploadCreate(request, upload) {
        if (!(await claimDirectUpload(deps.db, upload.id, deps.clock.date()))) throw { status_code: 409, body: 'A file is already being sent to this upload link.\n' };
        return {};
      },
      async onUploadFinish(request, upload) {
        const direct = (await findDirectUpload(deps.db, tokenOf(request.url)))!;
        const file = path.join(directory, upload.id);
        try {
          const ingested = await deps.storage.ingestFile(file, direct.maxBytes);
          try {
            await acceptVideo(deps, { id: direct.id, ingested, originalName: upload.metadata?.filename ?? null, email: direct.email, labels: direct.labels, keyId: direct.keyId, callbackUrl: direct.callbackUrl });
          } catch (error) {
            await deps.storage.discard(ingested.partPath);
            throw error;
          }
          await markDirectUploadUsed(deps.db, direct.id, deps.clock.date());
          deps.metrics.uploads.inc({ outcome: 'accepted' });
          deps.metrics.bytesIn.inc(ingested.bytes);
        } catch (error) {
          deps.metrics.uploads.inc({ outcome: isTooLarge(error) ? 'too_large' : (uploadErrorAnswer(error, direct.maxBytes)?.outcome ?? 'error') });
          await releaseDirectUpload(deps.db, direct.id).catch(() => {});
          throw error;
        } finally {
          await datastore.remove(upload.id).catch(() => {});
        }
        return { headers: { 'Vigil-Video-Id': direct.id, 'Vigil-Status-Url': deps.statusUrl(direct.id) } };
      },
    });
    return { datastore, tus };
  };

  // tus reads the request body itself.
  http.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => done(null));
  const uploadLength = (request: FastifyRequest) => {
    const declared = Number(request.headers['upload-length']);
    return Number.isFinite(declared) ? declared : null;
  };
  const handOver = async (request: FastifyRequest, reply: FastifyReply) => {
    let tus: TusServer;
    try {
      ({ tus } = await server());
    } catch (error) {
      const answer = uploadErrorAnswer(error, deps.config.maxUploadBytes);
      if (!answer?.retryAfterSeconds) throw error;
      return reply.status(answer.status).header('retry-after', String(answer.retryAfterSeconds)).send({ error: { code: answer.code, message: answer.message } });
    }
    reply.hijack();
    await tus.handle(request.raw, reply.raw);
  };
  const open = { scope: 'public' } as const;
  // A creation may carry the first bytes; a PATCH at most the rest of the file.
  const bodyLimit = deps.config.maxUploadBytes;
  const admitStart = directUploadGate(deps, 'start', uploadLength);
  http.post(
    '/uploads/:token/tus',
    {
      config: open,
      bodyLimit,
      async onRequest(request: FastifyRequest) {
        // The link's size is checked against the length declared now, so a length deferred to later is not accepted.
        if (uploadLength(request) === null) throw Object.assign(new Error('Declare the file size in Upload-Length.'), { statusCode: 400, code: 'UPLOAD_LENGTH_REQUIRED' });
        await admitStart(request);
      },
    },
    handOver,
  );
  const admitResume = directUploadGate(deps, 'resume', () => null);
  for (const method of ['HEAD', 'PATCH'] as const) {
    http.route({
      method,
      url: '/uploads/:token/tus/:id',
      config: open,
      bodyLimit,
      async onRequest(request: FastifyRequest) {
        const { id } = request.params as { id: string };
        try {
          await admitResume(request);
        } catch (error) {
          // A link that can no longer be used keeps nothing it received.
          if ((error as { statusCode?: number }).statusCode === 410) await (await server()).datastore.remove(id).catch(() => {});
          throw error;
        }
        if (id !== request.directUpload!.id) throw Object.assign(new Error('This upload link has no such upload.'), { statusCode: 404, code: 'NOT_FOUND' });
      },
      handler: handOver,
    });
  }
}
