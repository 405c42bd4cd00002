import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
// undici's own fetch, as the http probe's client, rather than the global one: that is a second copy of undici in Node.
import { fetch, FormData, Response } from 'undici';
import { z } from 'zod';
import { secret } from '../../core/config/secret.ts';
import { duration } from '../../core/config/duration.ts';
import { ffprobe, generateTestClip } from '../../processing/ffmpeg.ts';
import { defineKind } from '../define.ts';
import type { KindContext, KindOutcome } from '../types.ts';
import { since } from './timing.ts';

/** Answers whether the user email about `videoId` has reached `to` (an IMAP or API reader in production, an SMTP sink in tests). */
export type MailboxReader = (query: { to: string; videoId: string; since: number; signal: AbortSignal }) => Promise<boolean>;

const options = z.strictObject({
  /** Base URL of the processing API; this Vigil's own when absent. */
  apiUrl: z.url().optional(),
  /** A processing API key with the upload, read and delete scopes; VIGIL_E2E_API_KEY when absent. Never logged or reported. */
  apiKey: secret().optional(),
  clip: z
    .strictObject({ seconds: z.number().min(0.5).max(30).default(2), width: z.number().int().min(16).default(320), height: z.number().int().min(16).default(240) })
    .default({ seconds: 2, width: 320, height: 240 }),
  deadlines: z
    .strictObject({
      /** From the upload until a worker starts on it. */
      queued: duration().default(60_000),
      /** From the first stage starting until the video is published. */
      processing: duration().default(300_000),
      /** From the upload until published, over all stages. */
      published: duration().default(360_000),
    })
    .default({ queued: 60_000, processing: 300_000, published: 360_000 }),
  pollInterval: duration().default(500),
  /** Check that the "ready" email arrived (needs processing.notices.synthetic). */
  email: z
    .strictObject({ to: z.email(), deadline: duration().default(60_000), read: z.custom<MailboxReader>((value) => typeof value === 'function', 'a function ({ to, videoId, since, signal }) => Promise<boolean>') })
    .optional(),
});

type Options = z.output<typeof options>;

interface VideoStatus {
  state: 'queued' | 'processing' | 'published' | 'failed';
  stage: string | null;
  outputs: Array<{ kind: string; name: string; url: string; bytes: number }>;
  error: { class: string; message: string } | null;
}

class StageFailure extends Error {
  readonly stage: string;
  readonly failure: string;
  constructor(stage: string, failure: string, message: string) {
    super(message);
    this.stage = stage;
    this.failure = failure;
  }
}

/** Uploads a generated clip through the public API, follows it stage by stage against deadlines, verifies the output,
 * optionally waits for the user email, and deletes it. The result names the stage that was late or failed. */
export const videoE2E = defineKind({
  kind: 'videoE2E',
  options,
  async run(config, context) {
    const base = (config.apiUrl ?? context.apiUrl ?? context.publicUrl).replace(/\/$/, '');
    const traceHeaders: Record<string, string> = context.traceparent ? { traceparent: context.traceparent } : {};
    const apiKey = config.apiKey?.reveal() ?? process.env.VIGIL_E2E_API_KEY;
    const headers: Record<string, string> = apiKey ? { ...traceHeaders, authorization: `Bearer ${apiKey}` } : traceHeaders;
    const stages: Record<string, number> = {};
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-e2e-'));
    let videoId: string | undefined;
    let outcome: KindOutcome;
    try {
      const clip = path.join(dir, 'clip.mp4');
      await generateTestClip(clip, { ...config.clip, audio: true });
      videoId = await timed(stages, 'upload', () => upload(base, clip, config, headers, context.signal));
      outcome = await follow(base, videoId, config, context, headers, stages, dir);
    } catch (error) {
      const stage = error instanceof StageFailure ? error.stage : (Object.keys(stages).length === 0 ? 'upload' : 'unknown');
      outcome = { success: false, failure: error instanceof StageFailure ? error.failure : 'error', reason: `${stage}: ${(error as Error).message}`, details: { stage } };
    } finally {
      if (videoId) {
        const deleted = await timed(stages, 'delete', () => fetch(`${base}/api/v1/videos/${videoId}`, { method: 'DELETE', headers, signal: AbortSignal.timeout(10_000) }))
          .then((response) => response.status === 204 || response.status === 404)
          .catch(() => false);
        if (!deleted) outcome = outcome!.success ? { success: false, failure: 'delete', reason: `delete: the test video ${videoId} could not be deleted`, details: { stage: 'delete' } } : outcome!;
      }
      await rm(dir, { recursive: true, force: true });
    }
    const timings = Object.fromEntries(Object.entries(stages).map(([stage, ms]) => [stage, Math.round(ms * 1000) / 1000]));
    return {
      ...outcome,
      timings,
      details: { ...outcome.details, ...(videoId ? { videoId } : {}) },
      metrics: { videoStages: Object.fromEntries(Object.entries(stages).map(([stage, ms]) => [stage, ms / 1000])) },
    };
  },
});

async function timed<T>(stages: Record<string, number>, stage: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    stages[stage] = since(start, performance.now());
  }
}

async function upload(base: string, clip: string, config: Options, headers: Record<string, string>, signal: AbortSignal): Promise<string> {
  const form = new FormData();
  form.set('file', new Blob([await readFile(clip)], { type: 'video/mp4' }), 'vigil-e2e.mp4');
  form.set('labels', 'synthetic=true');
  if (config.email) form.set('email', config.email.to);
  // Encoded to bytes first (a clip of a few hundred KB): aborting an upload that streams a FormData body rejects
  // inside fetch where no caller can catch it.
  const encoded = new Response(form);
  const bytes = Buffer.from(await encoded.arrayBuffer());
  const response = await fetch(`${base}/api/v1/videos`, { method: 'POST', body: bytes, headers: { ...headers, 'content-type': encoded.headers.get('content-type')! }, signal });
  const body = (await response.json().catch(() => ({}))) as { id?: string; error?: { message?: string } };
  if (response.status !== 202 || !body.id) throw new StageFailure('upload', 'upload', `POST /api/v1/videos answered ${response.status}${body.error?.message ? `: ${body.error.message}` : ''}`);
  return body.id;
}

async function follow(base: string, id: string, config: Options, context: KindContext, headers: Record<string, string>, stages: Record<string, number>, dir: string): Promise<KindOutcome> {
  const uploadedAt = performance.now();
  let processingStartedAt: number | undefined;
  for (;;) {
    const response = await fetch(`${base}/api/v1/videos/${id}`, { headers, signal: context.signal });
    if (response.status !== 200) throw new StageFailure('processing', 'status', `GET /api/v1/videos/${id} answered ${response.status}`);
    const status = (await response.json()) as VideoStatus;
    const now = performance.now();
    if (status.state !== 'queued' && processingStartedAt === undefined) {
      processingStartedAt = now;
      stages.queued = since(uploadedAt, now);
    }
    if (status.state === 'failed') throw new StageFailure(status.stage ?? 'processing', 'processing', `the video failed (${status.error?.class ?? 'unknown'}: ${status.error?.message ?? 'no message'})`);
    if (status.state === 'published') {
      stages.processing = since(processingStartedAt ?? now, now);
      stages.published = since(uploadedAt, now);
      // Output URLs are signed links, possibly to another listener: they get no key.
      const { authorization: _key, ...withoutKey } = headers;
      await timed(stages, 'verify', () => verify(status, config, withoutKey, context.signal, dir));
      if (config.email) await timed(stages, 'email', () => awaitEmail(id, config.email!, context, Date.now() - (now - uploadedAt)));
      return { success: true, details: { outputs: status.outputs.map((output) => output.name) } };
    }
    if (processingStartedAt === undefined && now - uploadedAt > config.deadlines.queued) {
      throw new StageFailure('queued', 'deadline', `still queued after ${Math.round(now - uploadedAt)} ms, past the ${config.deadlines.queued} ms deadline`);
    }
    if (processingStartedAt !== undefined && now - processingStartedAt > config.deadlines.processing) {
      throw new StageFailure('processing', 'deadline', `still ${status.state} at stage ${status.stage} after ${Math.round(now - processingStartedAt)} ms of processing, past the ${config.deadlines.processing} ms deadline`);
    }
    if (now - uploadedAt > config.deadlines.published) {
      throw new StageFailure('published', 'deadline', `not published ${Math.round(now - uploadedAt)} ms after the upload, past the ${config.deadlines.published} ms deadline`);
    }
    await context.clock.sleep(config.pollInterval, context.signal);
  }
}

async function verify(status: VideoStatus, config: Options, headers: Record<string, string>, signal: AbortSignal, dir: string): Promise<void> {
  const rendition = status.outputs.find((output) => output.name.endsWith('.mp4'));
  if (!rendition) throw new StageFailure('verify', 'output', `published without a video output (outputs: ${status.outputs.map((output) => output.name).join(', ') || 'none'})`);
  const response = await fetch(rendition.url, { headers, signal });
  if (response.status !== 200) throw new StageFailure('verify', 'output', `GET ${rendition.name} answered ${response.status}`);
  const file = path.join(dir, 'output.mp4');
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  const info = await ffprobe(file, { timeoutMs: 30_000, signal });
  if (!info.streams.some((stream) => stream.type === 'video')) throw new StageFailure('verify', 'output', `${rendition.name} has no video stream`);
  if (Math.abs(info.durationSeconds - config.clip.seconds) > 1) throw new StageFailure('verify', 'output', `${rendition.name} lasts ${info.durationSeconds} s, the upload ${config.clip.seconds} s`);
}

async function awaitEmail(videoId: string, email: NonNullable<Options['email']>, context: KindContext, uploadedAt: number): Promise<void> {
  const start = performance.now();
  for (;;) {
    if (await email.read({ to: email.to, videoId, since: uploadedAt, signal: context.signal })) return;
    if (performance.now() - start > email.deadline) throw new StageFailure('email', 'deadline', `no email to ${email.to} about the video within ${email.deadline} ms`);
    await context.clock.sleep(500, context.signal);
  }
}
