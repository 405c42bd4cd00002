import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { generateTestClip } from '../../processing/ffmpeg.ts';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { waitFor } from '../support/wait.ts';
import { ADMIN_TOKEN, processingTestConfig, startProcessing, upload, waitForState, withKey } from './support.ts';

const SECRET = 'events-test-secret-0123456789';

interface Received {
  id: string;
  type: string;
  videoId: string;
  sequence: number;
  createdAt: string;
  data: Record<string, unknown>;
}

/** A platform's event endpoint: checks each signature the way the README tells receivers to, and drops copies by id. */
async function startReceiver() {
  const events: Received[] = [];
  const seen = new Set<string>();
  let refuse = 0;
  let refused = 0;
  let badSignatures = 0;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      if (refuse > 0) {
        refuse--;
        refused++;
        response.writeHead(503).end();
        return;
      }
      const header = String(request.headers['x-vigil-signature'] ?? '');
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) ?? [];
      const expected = createHmac('sha256', SECRET).update(`${t}.${body}`).digest();
      if (!t || !v1 || !timingSafeEqual(Buffer.from(v1, 'hex'), expected)) badSignatures++;
      const event = JSON.parse(body) as Received;
      expect(request.headers['idempotency-key']).toBe(event.id);
      if (!seen.has(event.id)) events.push(event);
      seen.add(event.id);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/vigil-events`,
    events,
    refuseNext: (count: number) => (refuse = count),
    get refused() {
      return refused;
    },
    get badSignatures() {
      return badSignatures;
    },
    of: (videoId: string) => events.filter((event) => event.videoId === videoId),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describeEachBackend('processing events', (backend) => {
  let store: TestStore;
  let vigil: Vigil;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let clipDir: string;
  let clip: string;

  beforeAll(async () => {
    clipDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-events-'));
    clip = path.join(clipDir, 'clip.mp4');
    await generateTestClip(clip, { seconds: 1, width: 160, height: 120, audio: false });
    receiver = await startReceiver();
    store = await backend.createStore();
    vigil = await startProcessing(
      processingTestConfig(store, { events: [{ name: 'platform', url: receiver.url, secret: SECRET }], eventDelivery: { retryInitial: '200ms', retryMax: '1s' } }),
    );
  });
  afterAll(async () => {
    await vigil?.stop();
    await receiver?.close();
    await store?.cleanup();
    rmSync(clipDir, { recursive: true, force: true });
  });

  const sequenceOf = (videoId: string) => receiver.of(videoId).map((event) => event.sequence);
  const typesOf = (videoId: string) => receiver.of(videoId).map((event) => `${event.type}${event.data.stage ? ` ${String(event.data.stage)}` : ''}${event.data.code ? ` ${String(event.data.code)}` : ''}`);

  it('pushes every change of a good upload, a bad upload and a delete, signed, in order per video, through a receiver that was down for a while', async () => {
    receiver.refuseNext(6);
    const good = await upload(vigil.url, clip);
    const bad = await upload(vigil.url, randomBytes(20_000), {}, 'notes.mp4');
    await waitForState(vigil.url, good.body.id, ['published']);
    await waitForState(vigil.url, bad.body.id, ['failed']);
    expect((await fetch(`${vigil.url}/api/v1/videos/${good.body.id}`, { method: 'DELETE', headers: withKey() })).status).toBe(204);

    await waitFor('the deletion event', async () => receiver.of(good.body.id).some((event) => event.type === 'video.deleted') || undefined, 30_000, 100);
    await waitFor('the failure event', async () => receiver.of(bad.body.id).some((event) => event.type === 'video.failed') || undefined, 30_000, 100);
    expect(receiver.refused).toBe(6);
    expect(receiver.badSignatures).toBe(0);

    // The transcode's start is followed by its progress reports (as many as it lasted intervals): counted once here.
    const goodTypes = typesOf(good.body.id).filter((type, index, all) => type !== 'video.processing transcode' || all[index - 1] !== type);
    expect(receiver.of(good.body.id).filter((event) => event.data.progress).at(-1)?.data.progress).toMatchObject({ percent: 100 });
    expect(goodTypes).toEqual([
      'video.created',
      'video.processing store',
      'video.processing probe',
      'video.processing probe',
      'video.warning audio_missing',
      'video.processing transcode',
      'video.processing verify',
      'video.processing publish',
      'video.ready',
      'video.deleted',
    ]);
    expect(sequenceOf(good.body.id)).toEqual(receiver.of(good.body.id).map((_event, index) => index + 1));
    const [input, warning] = receiver.of(good.body.id).filter((event) => event.data.input || event.type === 'video.warning');
    expect(input!.data.input).toMatchObject({ video: { codec: 'h264', width: 160, height: 120 }, findings: [{ code: 'audio_missing' }] });
    expect(warning!.data).toMatchObject({ code: 'audio_missing' });
    const ready = receiver.of(good.body.id).find((event) => event.type === 'video.ready')!;
    expect(ready.data.outputs).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'rendition', name: '720p.mp4', url: expect.stringMatching(/^http.*signature=/), bytes: expect.any(Number) })]));

    expect(typesOf(bad.body.id)).toEqual(['video.created', 'video.processing store', 'video.processing probe', 'video.failed not_a_video']);
    expect(sequenceOf(bad.body.id)).toEqual([1, 2, 3, 4]);
    const failed = receiver.of(bad.body.id).at(-1)!;
    expect(failed.data).toEqual({ code: 'not_a_video', class: 'INPUT_INVALID', message: 'The file is not a video we can read.', detail: `/admin/api/v1/videos/${bad.body.id}` });

    // Admins see each event's delivery; the metrics count the retries.
    const admin = (await (await fetch(`${vigil.url}/admin/api/v1/videos/${bad.body.id}/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
      events: Array<{ sequence: number; deliveries: Array<{ endpoint: string; status: string }> }>;
    };
    expect(admin.events.map((event) => [event.sequence, event.deliveries.map((delivery) => `${delivery.endpoint}:${delivery.status}`)])).toEqual([1, 2, 3, 4].map((n) => [n, ['platform:delivered']]));
    const metrics = await (await fetch(`${vigil.url}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_processing_event_deliveries_total\{endpoint="platform",outcome="retry"\} 6$/m);
    expect(metrics).toMatch(/^vigil_processing_events_pending\{endpoint="platform"\} 0$/m);
  }, 120_000);
});
