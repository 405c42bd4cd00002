import type { FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { Queue } from '../core/queue/index.ts';
import { withSpan } from '../core/telemetry/index.ts';
import type { ProcessingConfig } from './config.ts';
import { emitEvent } from './events.ts';
import { recordUsage } from './keys.ts';
import type { ProcessingMetrics } from './metrics.ts';
import { UploadTooLargeError, type Ingested, type Storage } from './storage.ts';
import { STAGES } from './stages/index.ts';
import { insertVideo } from './store.ts';
import { enqueueFirstStage } from './worker.ts';

export interface ReceivedUpload {
  ingested: Ingested;
  originalName: string | null;
  fields: Record<string, string>;
}

/** Room for the multipart framing and small fields around the file when a Content-Length is compared with a size limit. */
export const MULTIPART_ALLOWANCE = 64 * 1024;

const badRequest = (message: string) => Object.assign(new Error(message), { statusCode: 400, code: 'BAD_REQUEST' });

export const isTooLarge = (error: unknown) => error instanceof UploadTooLargeError || (error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE';

export const tooLargeError = (limit: number, what = 'processing.maxUploadBytes') =>
  Object.assign(new Error(`The upload is larger than the limit of ${limit} bytes (${what}).`), { statusCode: 413, code: 'UPLOAD_TOO_LARGE' });

/** Reads a multipart upload: its fields, and exactly one file in the field "file" streamed to storage (never to memory). */
export async function receiveMultipart(request: FastifyRequest, storage: Storage, limit: number): Promise<ReceivedUpload> {
  if (!request.isMultipart()) throw Object.assign(new Error('Send the video as multipart/form-data with a field named "file".'), { statusCode: 415, code: 'NOT_MULTIPART' });
  let ingested: Ingested | undefined;
  let originalName: string | null = null;
  const fields: Record<string, string> = {};
  try {
    for await (const part of request.parts({ limits: { fileSize: limit } })) {
      if (part.type === 'field') {
        fields[part.fieldname] = String(part.value);
        continue;
      }
      if (part.fieldname !== 'file' || ingested) throw badRequest(`unexpected file field "${part.fieldname}": send exactly one file, in the field "file"`);
      originalName = part.filename || null;
      ingested = await storage.ingest(part.file, limit, () => part.file.truncated);
    }
    if (!ingested) throw badRequest('the multipart field "file" is required');
    return { ingested, originalName, fields };
  } catch (error) {
    if (ingested) await storage.discard(ingested.partPath);
    throw error;
  }
}

export interface AcceptDeps {
  db: Db;
  queue: Queue;
  storage: Storage;
  clock: Clock;
}

/** What every route that receives uploads needs. */
export interface UploadDeps extends AcceptDeps {
  config: ProcessingConfig;
  metrics: ProcessingMetrics;
}

/** Makes a received file a queued video; the bytes count against `keyId`'s daily quota. */
export async function acceptVideo(
  deps: UploadDeps,
  upload: { id: string; ingested: Ingested; originalName: string | null; email: string | null; labels: Record<string, string>; keyId: string | null; callbackUrl?: string | null },
): Promise<void> {
  const { id, ingested } = upload;
  await withSpan('processing.upload', { 'video.id': id, 'processing.bytes': ingested.bytes, 'processing.sha256': ingested.sha256 }, () =>
    // The original moves to its content address inside the transaction that references it, so GC (which deletes
    // unreferenced blobs under the same row lock) can never remove the file between the move and the commit.
    deps.db.transaction(async (tx) => {
      const now = deps.clock.date();
      await insertVideo(tx, { id, sha256: ingested.sha256, bytes: ingested.bytes, originalName: upload.originalName, email: upload.email, labels: upload.labels, stage: STAGES[0].name, now, callbackUrl: upload.callbackUrl ?? null });
      if (upload.keyId) await recordUsage(tx, upload.keyId, ingested.bytes, now);
      await emitEvent(tx, deps.config, { videoId: id, type: 'video.created', data: { originalName: upload.originalName, labels: upload.labels, bytes: ingested.bytes }, now });
      await enqueueFirstStage(deps.queue, tx, id);
      await deps.storage.adoptOriginal(ingested.partPath, ingested.sha256);
    }),
  );
}
