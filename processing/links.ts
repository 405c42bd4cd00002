import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FastifyReply } from 'fastify';
import type { Clock } from '../core/clock.ts';
import type { Db, Queryable } from '../core/db/index.ts';
import type { HttpServer } from '../core/http/server.ts';
import type { ProcessingConfig } from './config.ts';
import type { Storage } from './storage.ts';
import { getVideo, listOutputs, type Output } from './store.ts';

/** Signs what the public side hands out: per-video status tokens and expiring output URLs. */
export interface Signer {
  statusToken(videoId: string): string;
  /** The video a status token names, or null when the token is not one this Vigil made. */
  videoOfStatusToken(token: string): string | null;
  outputQuery(videoId: string, name: string, expiresAt: number): string;
  checkOutput(videoId: string, name: string, query: { expires?: string; signature?: string }, now: number): 'valid' | 'invalid' | 'expired';
}

/** The shared HMAC key: made by the first process on the database, read by every other. */
export async function loadSigner(db: Queryable): Promise<Signer> {
  await db.query('insert into processing_signing_secret (id, secret) values (1, $1) on conflict (id) do nothing', [randomBytes(32).toString('base64url')]);
  const [row] = await db.query<{ secret: string }>('select secret from processing_signing_secret where id = 1');
  return createSigner(row!.secret);
}

export function createSigner(secret: string): Signer {
  const mac = (purpose: string, ...parts: string[]) => createHmac('sha256', secret).update([purpose, ...parts].join('\n')).digest('base64url');
  const equal = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  return {
    statusToken: (videoId) => `${videoId}.${mac('status', videoId)}`,
    videoOfStatusToken(token) {
      const dot = token.lastIndexOf('.');
      if (dot <= 0) return null;
      const videoId = token.slice(0, dot);
      return equal(token.slice(dot + 1), mac('status', videoId)) ? videoId : null;
    },
    outputQuery: (videoId, name, expiresAt) => {
      const expires = String(Math.ceil(expiresAt / 1000));
      return `expires=${expires}&signature=${mac('output', videoId, name, expires)}`;
    },
    checkOutput(videoId, name, query, now) {
      if (!query.expires || !query.signature || !/^\d{1,12}$/.test(query.expires)) return 'invalid';
      if (!equal(query.signature, mac('output', videoId, name, query.expires))) return 'invalid';
      return Number(query.expires) * 1000 <= now ? 'expired' : 'valid';
    },
  };
}

/** Streams an output file, or answers 404 when it has left storage. */
export async function sendOutput(reply: FastifyReply, storage: Storage, output: Output): Promise<FastifyReply> {
  const bytes = await storage.size(output.path);
  if (bytes === null) throw Object.assign(new Error(`The file for output "${output.name}" is no longer in storage`), { statusCode: 404, code: 'NOT_FOUND' });
  return reply
    .type(output.name.endsWith('.mp4') ? 'video/mp4' : output.name.endsWith('.jpg') ? 'image/jpeg' : 'application/octet-stream')
    .header('content-length', bytes)
    .send(createReadStream(output.path));
}

export interface LinkDeps {
  db: Db;
  storage: Storage;
  config: ProcessingConfig;
  clock: Clock;
  signer: Signer;
  /** Base URL of the public listener. */
  publicUrl(): string;
  /** Whether a direct upload with this id waits for its file (a status token may come before the video exists). */
  awaitingUpload(id: string): Promise<boolean>;
}

export type PublicLinks = ReturnType<typeof publicLinks>;

/** Absolute links the public side serves: the per-video status page and the signed output URLs. */
export function publicLinks(deps: Pick<LinkDeps, 'signer' | 'publicUrl' | 'config' | 'clock'>) {
  return {
    status: (videoId: string) => `${deps.publicUrl()}/status/videos/${deps.signer.statusToken(videoId)}`,
    output: (videoId: string, name: string) =>
      `${deps.publicUrl()}/media/${videoId}/${encodeURIComponent(name)}?${deps.signer.outputQuery(videoId, name, deps.clock.now() + deps.config.outputUrlTtl)}`,
  };
}

/** `GET /status/videos/:token` (what the uploader may see of one video) and `GET /media/:id/:name` (signed output URLs). */
export function registerPublicLinkRoutes(http: HttpServer, deps: LinkDeps): void {
  const links = publicLinks(deps);
  const open = { scope: 'public' } as const;

  http.get<{ Params: { token: string } }>('/status/videos/:token', { config: open }, async (request) => {
    const id = deps.signer.videoOfStatusToken(request.params.token);
    const video = id ? await getVideo(deps.db, id) : null;
    if (!video) {
      if (id && (await deps.awaitingUpload(id))) return { state: 'awaiting upload', stage: null, error: null, outputs: [] };
      throw Object.assign(new Error('No video for this status link: it is wrong, or the video was deleted.'), { statusCode: 404, code: 'NOT_FOUND' });
    }
    const outputs = video.state === 'published' ? await listOutputs(deps.db, video.id) : [];
    return {
      state: video.state,
      stage: video.state === 'published' ? null : video.stage,
      name: video.originalName,
      // The user sentence only, as in the emails: never the technical detail.
      error: video.state === 'failed' && video.errorClass ? { class: video.errorClass, code: video.errorCode, message: video.errorMessage ?? '' } : null,
      outputs: outputs.map((output) => ({ kind: output.kind, name: output.name, url: links.output(video.id, output.name), bytes: output.bytes })),
    };
  });

  http.get<{ Params: { id: string; name: string }; Querystring: { expires?: string; signature?: string } }>('/media/:id/:name', { config: open }, async (request, reply) => {
    const { id, name } = request.params;
    const check = deps.signer.checkOutput(id, name, request.query, deps.clock.now());
    if (check === 'invalid') throw Object.assign(new Error('This media link is not valid.'), { statusCode: 403, code: 'BAD_SIGNATURE' });
    if (check === 'expired') throw Object.assign(new Error('This media link has expired; ask for the video again to get a fresh one.'), { statusCode: 410, code: 'LINK_EXPIRED' });
    const output = (await listOutputs(deps.db, id)).find((candidate) => candidate.name === name);
    if (!output) throw Object.assign(new Error('This media is no longer available.'), { statusCode: 404, code: 'NOT_FOUND' });
    return sendOutput(reply, deps.storage, output);
  });
}
