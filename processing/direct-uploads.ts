import { createHash, randomBytes, randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { duration } from '../core/config/duration.ts';
import { formatIssues } from '../core/config/load.ts';
import type { Queryable } from '../core/db/index.ts';
import type { HttpServer } from '../core/http/server.ts';
import { uploadErrorAnswer } from './api.ts';
import { acceptVideo, isTooLarge, MULTIPART_ALLOWANCE, receiveMultipart, tooLargeError, type UploadDeps } from './accept.ts';
import { checkedCallbackUrl, parseLabels } from './api.ts';
import type { ProcessingConfig } from './config.ts';
import type { UploadQuota } from './limits.ts';

/** A one-time upload URL, bound to its limits when the platform's backend asked for it. */
export interface DirectUpload {
  id: string;
  keyId: string | null;
  maxBytes: number;
  labels: Record<string, string>;
  email: string | null;
  allowedOrigin: string | null;
  /** Where the video's events go too (an allowed host under processing.eventCallbacks). */
  callbackUrl: string | null;
  createdAt: Date;
  expiresAt: Date;
  receivingSince: Date | null;
  usedAt: Date | null;
}

const COLUMNS = `id, key_id as "keyId", max_bytes as "maxBytes", labels, email, allowed_origin as "allowedOrigin", callback_url as "callbackUrl",
  created_at as "createdAt",
  expires_at as "expiresAt", receiving_since as "receivingSince", used_at as "usedAt"`;

type Row = Omit<DirectUpload, 'maxBytes' | 'labels' | 'createdAt' | 'expiresAt' | 'receivingSince' | 'usedAt'> & {
  maxBytes: string | number;
  labels: Record<string, string> | string;
  createdAt: Date | string;
  expiresAt: Date | string;
  receivingSince: Date | string | null;
  usedAt: Date | string | null;
};

const toDirectUpload = (row: Row): DirectUpload => ({
  ...row,
  maxBytes: Number(row.maxBytes),
  labels: typeof row.labels === 'string' ? (JSON.parse(row.labels) as Record<string, string>) : row.labels,
  createdAt: new Date(row.createdAt),
  expiresAt: new Date(row.expiresAt),
  receivingSince: row.receivingSince === null ? null : new Date(row.receivingSince),
  usedAt: row.usedAt === null ? null : new Date(row.usedAt),
});

export const hashUploadToken = (token: string) => createHash('sha256').update(token).digest('hex');

async function insertDirectUpload(db: Queryable, upload: Omit<DirectUpload, 'receivingSince' | 'usedAt'>, tokenHash: string): Promise<void> {
  await db.query(
    `insert into processing_direct_uploads (id, token_hash, key_id, max_bytes, labels, email, allowed_origin, callback_url, created_at, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [upload.id, tokenHash, upload.keyId, upload.maxBytes, JSON.stringify(upload.labels), upload.email, upload.allowedOrigin, upload.callbackUrl, upload.createdAt, upload.expiresAt],
  );
}

export async function findDirectUpload(db: Queryable, token: string): Promise<DirectUpload | null> {
  const [row] = await db.query<Row>(`select ${COLUMNS} from processing_direct_uploads where token_hash = $1`, [hashUploadToken(token)]);
  return row ? toDirectUpload(row) : null;
}

export async function isAwaitingUpload(db: Queryable, id: string, now: Date): Promise<boolean> {
  const rows = await db.query('select 1 from processing_direct_uploads where id = $1 and used_at is null and expires_at > $2', [id, now]);
  return rows.length > 0;
}

/** Takes the upload for one transfer; false when another transfer has it, it was used, or it expired. */
export async function claimDirectUpload(db: Queryable, id: string, now: Date): Promise<boolean> {
  const rows = await db.query(
    'update processing_direct_uploads set receiving_since = $2 where id = $1 and receiving_since is null and used_at is null and expires_at > $2 returning id',
    [id, now],
  );
  return rows.length > 0;
}

/** Hands a plain upload that failed back, so its URL can be tried again until it expires. */
export async function releaseDirectUpload(db: Queryable, id: string): Promise<void> {
  await db.query('update processing_direct_uploads set receiving_since = null where id = $1 and used_at is null', [id]);
}

export async function markDirectUploadUsed(db: Queryable, id: string, now: Date): Promise<void> {
  await db.query('update processing_direct_uploads set used_at = $2 where id = $1', [id, now]);
}

export interface AdmissionRefusal {
  status: 403 | 404 | 409 | 410 | 413;
  code: string;
  message: string;
}

const IN_PROGRESS: AdmissionRefusal = { status: 409, code: 'UPLOAD_IN_PROGRESS', message: 'A file is already being sent to this upload link.' };

/**
 * Whether a request may use a direct upload URL: `start` begins a plain or tus transfer (declaring its size),
 * `resume` continues the tus transfer started before.
 */
export function admitDirectUpload(
  upload: DirectUpload | null,
  request: { phase: 'start' | 'resume'; now: number; origin: string | undefined; allowedOrigins: readonly string[]; declaredBytes: number | null },
): AdmissionRefusal | null {
  if (!upload) return { status: 404, code: 'UNKNOWN_UPLOAD_URL', message: 'This upload link is not valid.' };
  if (upload.usedAt) return { status: 410, code: 'UPLOAD_URL_USED', message: 'This upload link was already used; ask for a new one.' };
  if (upload.expiresAt.getTime() <= request.now) return { status: 410, code: 'UPLOAD_URL_EXPIRED', message: `This upload link expired at ${upload.expiresAt.toISOString()}; ask for a new one.` };
  // A browser names the page's origin; a simple POST needs no preflight, so the origin is checked here too.
  if (request.origin !== undefined && (!request.allowedOrigins.includes(request.origin) || (upload.allowedOrigin && request.origin !== upload.allowedOrigin))) {
    return { status: 403, code: 'ORIGIN_NOT_ALLOWED', message: 'This upload link does not accept uploads from this site.' };
  }
  if (request.phase === 'start' && upload.receivingSince) return IN_PROGRESS;
  if (request.phase === 'resume' && !upload.receivingSince) return { status: 404, code: 'NO_UPLOAD_TO_RESUME', message: 'Nothing was started on this upload link to resume.' };
  if (request.declaredBytes !== null && request.declaredBytes > upload.maxBytes) {
    return { status: 413, code: 'UPLOAD_TOO_LARGE', message: `The file is larger than this upload link allows (${upload.maxBytes} bytes).` };
  }
  return null;
}

export interface DirectUploadDeps extends UploadDeps {
  /** Base URL of the public listener. */
  publicUrl(): string;
  statusUrl(videoId: string): string;
}

const createBody = (config: ProcessingConfig) =>
  z.strictObject({
    maxBytes: z.number().int().min(1).max(config.maxUploadBytes).default(config.maxUploadBytes),
    expiresIn: duration().default(config.uploads.defaultExpiry).refine((ms) => ms > 0 && ms <= config.uploads.maxExpiry, `at most ${config.uploads.maxExpiry} ms (processing.uploads.maxExpiry)`),
    labels: z.string().default(''),
    email: z.email().optional(),
    allowedOrigin: z
      .string()
      .refine((origin) => config.uploads.allowedOrigins.includes(origin), 'not one of processing.uploads.allowedOrigins')
      .optional(),
    callbackUrl: z.string().trim().min(1).optional(),
  });

/** `POST /api/v1/uploads` (scope upload): makes a one-time upload URL for one of the platform's users. */
export function registerDirectUploadCreation(http: HttpServer, deps: DirectUploadDeps, quota: UploadQuota): void {
  const schema = createBody(deps.config);
  http.post('/api/v1/uploads', { config: { scope: 'upload' }, onRequest: quota.admit, onResponse: quota.release }, async (request, reply) => {
    const parsed = schema.safeParse(request.body ?? {});
    if (!parsed.success) throw Object.assign(new Error(`Invalid request: ${formatIssues(parsed.error).join('; ')}`), { statusCode: 400, code: 'BAD_REQUEST' });
    const body = parsed.data;
    const callbackUrl = checkedCallbackUrl(body.callbackUrl, deps.config);
    const token = randomBytes(32).toString('base64url');
    const now = deps.clock.now();
    const upload = {
      id: randomUUID(),
      keyId: request.principal?.keyId ?? null,
      maxBytes: body.maxBytes,
      labels: parseLabels(body.labels),
      email: body.email ?? null,
      allowedOrigin: body.allowedOrigin ?? null,
      callbackUrl,
      createdAt: new Date(now),
      expiresAt: new Date(now + body.expiresIn),
    };
    await insertDirectUpload(deps.db, upload, hashUploadToken(token));
    const uploadUrl = `${deps.publicUrl()}/uploads/${token}`;
    return reply.status(201).send({
      id: upload.id,
      uploadUrl,
      tusUrl: `${uploadUrl}/tus`,
      statusUrl: deps.statusUrl(upload.id),
      maxBytes: upload.maxBytes,
      expiresAt: upload.expiresAt.toISOString(),
    });
  });
}

/** CORS for the upload URLs: only origins in processing.uploads.allowedOrigins get an answer to their preflight. */
export async function registerUploadCors(http: HttpServer, config: ProcessingConfig): Promise<void> {
  await http.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && config.uploads.allowedOrigins.includes(origin) ? origin : false),
    methods: ['POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Content-Type', 'Upload-Length', 'Upload-Offset', 'Upload-Metadata', 'Upload-Defer-Length', 'Upload-Concat', 'Tus-Resumable', 'X-HTTP-Method-Override', 'X-Requested-With'],
    exposedHeaders: ['Location', 'Upload-Offset', 'Upload-Length', 'Tus-Resumable', 'Tus-Version', 'Tus-Max-Size', 'Tus-Extension', 'Upload-Expires'],
    maxAge: 600,
  });
}

const refuse = (refusal: AdmissionRefusal) => Object.assign(new Error(refusal.message), { statusCode: refusal.status, code: refusal.code });

declare module 'fastify' {
  interface FastifyRequest {
    directUpload?: DirectUpload;
  }
}

/** An onRequest hook for the upload URL routes: admits the request (before its body is read) or refuses it with the reason. */
export function directUploadGate(deps: Pick<DirectUploadDeps, 'db' | 'clock' | 'config'>, phase: 'start' | 'resume', declaredBytes: (request: FastifyRequest) => number | null) {
  return async (request: FastifyRequest) => {
    const { token } = request.params as { token: string };
    const upload = await findDirectUpload(deps.db, token);
    const refusal = admitDirectUpload(upload, {
      phase,
      now: deps.clock.now(),
      origin: request.headers.origin,
      allowedOrigins: deps.config.uploads.allowedOrigins,
      declaredBytes: declaredBytes(request),
    });
    if (refusal) throw refuse(refusal);
    request.directUpload = upload!;
  };
}

/** `POST /uploads/:token` (public): the file as a plain multipart POST, once. */
export function registerPlainDirectUpload(http: HttpServer, deps: DirectUploadDeps): void {
  const contentLength = (request: FastifyRequest) => {
    const declared = Number(request.headers['content-length']);
    return Number.isFinite(declared) && declared > 0 ? Math.max(0, declared - MULTIPART_ALLOWANCE) : null;
  };
  const bodyLimit = deps.config.maxUploadBytes + MULTIPART_ALLOWANCE;
  http.post<{ Params: { token: string } }>('/uploads/:token', { config: { scope: 'public' }, bodyLimit, onRequest: directUploadGate(deps, 'start', contentLength) }, async (request, reply) => {
    const upload = request.directUpload!;
    // Between the gate and here another request may have taken the link.
    if (!(await claimDirectUpload(deps.db, upload.id, deps.clock.date()))) throw refuse(IN_PROGRESS);
    try {
      const received = await receiveMultipart(request, deps.storage, upload.maxBytes);
      try {
        await acceptVideo(deps, { id: upload.id, ingested: received.ingested, originalName: received.originalName, email: upload.email, labels: upload.labels, keyId: upload.keyId, callbackUrl: upload.callbackUrl });
      } catch (error) {
        await deps.storage.discard(received.ingested.partPath);
        throw error;
      }
      await markDirectUploadUsed(deps.db, upload.id, deps.clock.date());
      deps.metrics.uploads.inc({ outcome: 'accepted' });
      deps.metrics.bytesIn.inc(received.ingested.bytes);
      return reply.status(201).send({ id: upload.id, status: 'queued', statusUrl: deps.statusUrl(upload.id) });
    } catch (error) {
      await releaseDirectUpload(deps.db, upload.id);
      deps.metrics.uploads.inc({ outcome: isTooLarge(error) ? 'too_large' : (error as { statusCode?: number }).statusCode ? 'invalid' : 'error' });
      if (isTooLarge(error)) throw tooLargeError(upload.maxBytes, 'the upload link\'s maxBytes');
      const answer = uploadErrorAnswer(error, upload.maxBytes);
      if (!answer?.retryAfterSeconds) throw error;
      return reply.status(answer.status).header('retry-after', String(answer.retryAfterSeconds)).send({ error: { code: answer.code, message: answer.message } });
    }
  });
}
