import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { migrate, openDb, type Db } from '../../core/db/index.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { processingConfigSchema } from '../../processing/config.ts';
import { createEventDelivery, emitEvent, type EventType } from '../../processing/events.ts';
import { runGc } from '../../processing/gc.ts';
import { processingMetrics } from '../../processing/metrics.ts';
import { processingMigrations } from '../../processing/migrations.ts';
import { Storage } from '../../processing/storage.ts';
import { eventBacklog } from '../../processing/store.ts';
import { describeEachBackend, pgliteBackend, postgresBackend, testConfig, vigilPer, type TestStore } from '../support/backends.ts';
import { spawnNode, type RunningProcess } from '../support/cli.ts';
import { notAVideo, testClips } from '../support/clips.ts';
import { waitFor } from '../support/wait.ts';
import { ADMIN_TOKEN, processingTestConfig, startProcessing, TEST_KEY, upload, waitForState, withKey } from './support.ts';
import { scanForInternals } from '../support/internals.ts';

const SECRET = 'events-test-secret-0123456789';
const CALLBACK_SECRET = 'events-test-callback-secret-0123';
const WORKER = path.join(import.meta.dirname, 'fixtures/worker.ts');
const { clip } = testClips({ clip: { seconds: 1, width: 160, height: 120, audio: false } });
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

interface Received {
  id: string;
  type: string;
  videoId: string;
  sequence: number;
  createdAt: string;
  data: Record<string, unknown>;
}

/**
 * A platform's event endpoint: checks each signature the way the README tells receivers to, and drops copies by id.
 * `posts` keeps every POST (copies too); `down` answers 503; `hold` leaves a matching POST unanswered (a receiver slow
 * enough for its sender to die meanwhile); `delayMs` answers each POST after a while, and `maxInFlightPerVideo` shows
 * whether two were ever sent for one video at once.
 */
async function startReceiver(secret = SECRET, options: { delayMs?: number } = {}) {
  const events: Received[] = [];
  const posts: Received[] = [];
  const seen = new Set<string>();
  const inFlight = new Map<string, number>();
  let maxInFlightPerVideo = 0;
  let badSignatures = 0;
  const state = { down: false, hold: (_event: Received) => false };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      if (state.down) {
        response.writeHead(503).end();
        return;
      }
      const header = String(request.headers['x-vigil-signature'] ?? '');
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) ?? [];
      const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
      if (!t || !v1 || !timingSafeEqual(Buffer.from(v1, 'hex'), expected)) badSignatures++;
      const event = JSON.parse(body) as Received;
      scanForInternals(`the ${event.type} event`, body);
      expect(request.headers['idempotency-key']).toBe(event.id);
      posts.push(event);
      if (state.hold(event)) return;
      const running = (inFlight.get(event.videoId) ?? 0) + 1;
      inFlight.set(event.videoId, running);
      maxInFlightPerVideo = Math.max(maxInFlightPerVideo, running);
      setTimeout(() => {
        inFlight.set(event.videoId, running - 1);
        if (!seen.has(event.id)) events.push(event);
        seen.add(event.id);
        response.writeHead(204).end();
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/vigil-events`,
    events,
    posts,
    state,
    get badSignatures() {
      return badSignatures;
    },
    get maxInFlightPerVideo() {
      return maxInFlightPerVideo;
    },
    of: (videoId: string) => events.filter((event) => event.videoId === videoId),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describeEachBackend('processing events', (backend) => {
  let receiver: Receiver;
  let callbackReceiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    callbackReceiver = await startReceiver(CALLBACK_SECRET);
  });
  afterAll(async () => {
    await receiver?.close();
    await callbackReceiver?.close();
  });
  const suite = vigilPer('suite', backend, (store) =>
    startProcessing(processingTestConfig(store, { events: [{ name: 'platform', url: receiver.url, secret: SECRET }], eventCallbacks: { allowedHosts: ['127.0.0.1'], secret: CALLBACK_SECRET } })),
  );

  const sequenceOf = (videoId: string) => receiver.of(videoId).map((event) => event.sequence);
  const typesOf = (videoId: string) => receiver.of(videoId).map((event) => `${event.type}${event.data.stage ? ` ${String(event.data.stage)}` : ''}${event.data.code ? ` ${String(event.data.code)}` : ''}`);

  it('pushes every change of a good upload, a bad upload and a delete, signed, in order per video', async () => {
    const good = await upload(suite.vigil.url, clip);
    const bad = await upload(suite.vigil.url, notAVideo(), {}, 'notes.mp4');
    await waitForState(suite.vigil.url, good.body.id, ['published']);
    await waitForState(suite.vigil.url, bad.body.id, ['failed']);
    expect((await fetch(`${suite.vigil.url}/api/v1/videos/${good.body.id}`, { method: 'DELETE', headers: withKey() })).status).toBe(204);

    await waitFor('the deletion event', async () => receiver.of(good.body.id).some((event) => event.type === 'video.deleted') || undefined, 30_000, 100);
    await waitFor('the failure event', async () => receiver.of(bad.body.id).some((event) => event.type === 'video.failed') || undefined, 30_000, 100);
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
    const admin = (await (await fetch(`${suite.vigil.url}/admin/api/v1/videos/${bad.body.id}/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
      events: Array<{ sequence: number; deliveries: Array<{ endpoint: string; status: string }> }>;
    };
    expect(admin.events.map((event) => [event.sequence, event.deliveries.map((delivery) => `${delivery.endpoint}:${delivery.status}`)])).toEqual([1, 2, 3, 4].map((n) => [n, ['platform:delivered']]));
    const metrics = await (await fetch(`${suite.vigil.url}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_processing_events_pending\{endpoint="platform"\} 0$/m);
  }, 120_000);

  it('sends the events of an upload with a callbackUrl there too, signed with the callback secret, and refuses a host not allowed', async () => {
    const refused = await upload(suite.vigil.url, randomBytes(1000), { callbackUrl: 'https://elsewhere.example/hook' }, 'x.mp4');
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('callbackUrl: names a host that is not allowed (allowed: 127.0.0.1)');
    expect((await upload(suite.vigil.url, randomBytes(1000), { callbackUrl: 'file:///etc/passwd' }, 'x.mp4')).status).toBe(400);

    const bad = await upload(suite.vigil.url, notAVideo(), { callbackUrl: `${callbackReceiver.url}?video=mine` }, 'notes.mp4');
    expect(bad.status).toBe(202);
    await waitFor('the failure event at the callback', async () => callbackReceiver.of(bad.body.id).some((event) => event.type === 'video.failed') || undefined, 30_000, 100);
    await waitFor('the failure event at the endpoint', async () => receiver.of(bad.body.id).some((event) => event.type === 'video.failed') || undefined, 30_000, 100);
    expect(callbackReceiver.badSignatures).toBe(0);
    expect(callbackReceiver.of(bad.body.id).map((event) => event.id)).toEqual(receiver.of(bad.body.id).map((event) => event.id));
    expect(callbackReceiver.events.every((event) => event.videoId === bad.body.id)).toBe(true);
    // The receiver has the event before its sender counts the answer.
    await waitFor('the four callback deliveries counted', async () => /^vigil_processing_event_deliveries_total\{endpoint="callback",outcome="delivered"\} 4$/m.test(await (await fetch(`${suite.vigil.url}/metrics`)).text()) || undefined, 10_000, 100);
  }, 60_000);

  it('takes a callbackUrl with a direct upload link, checked the same way, for the plain and the tus upload of that link', async () => {
    const createLink = (body: Record<string, unknown>) =>
      fetch(`${suite.vigil.url}/api/v1/uploads`, { method: 'POST', headers: { ...withKey(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const refused = await createLink({ callbackUrl: 'https://elsewhere.example/hook' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe('callbackUrl: names a host that is not allowed (allowed: 127.0.0.1)');
    expect((await createLink({ callbackUrl: 'file:///etc/passwd' })).status).toBe(400);

    const plain = (await (await createLink({ callbackUrl: `${callbackReceiver.url}?via=plain` })).json()) as { id: string; uploadUrl: string; tusUrl: string };
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(randomBytes(20_000))]), 'plain.mp4');
    expect((await fetch(plain.uploadUrl, { method: 'POST', body: form })).status).toBe(201);

    const resumable = (await (await createLink({ callbackUrl: `${callbackReceiver.url}?via=tus` })).json()) as { id: string; tusUrl: string };
    const bytes = randomBytes(20_000);
    const tus = await fetch(resumable.tusUrl, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': String(bytes.length), 'content-type': 'application/offset+octet-stream' },
      body: new Uint8Array(bytes),
    });
    expect(tus.status).toBe(201);

    for (const id of [plain.id, resumable.id]) {
      await waitFor(`the failure event of ${id} at the callback`, async () => callbackReceiver.of(id).some((event) => event.type === 'video.failed') || undefined, 30_000, 100);
      expect(callbackReceiver.of(id).map((event) => event.type)[0]).toBe('video.created');
    }
    expect(callbackReceiver.badSignatures).toBe(0);
  }, 60_000);
});

describeEachBackend('processing event delivery on a fake clock', (backend) => {
  let store: TestStore;
  let db: Db;
  let receiver: Receiver;
  const registry = new Registry();
  const clock = new FakeClock(Date.parse('2025-03-01T12:00:00Z'));
  const T0 = clock.now();

  beforeAll(async () => {
    receiver = await startReceiver();
    store = await backend.createStore();
    db = await openDb(testConfig(store).database);
    await migrate(db, processingMigrations);
    mkdirSync(path.join(store.tempDir, 'storage'), { recursive: true });
  });
  afterAll(async () => {
    await db?.close();
    await receiver?.close();
    await store?.cleanup();
  });

  const config = () => processingConfigSchema.parse({ storageDir: path.join(store.tempDir, 'storage'), events: [{ name: 'platform', url: receiver.url, secret: SECRET }] });
  const delivery = () =>
    createEventDelivery({
      db,
      clock,
      logger: createLogger({ level: 'silent' }),
      metrics: processingMetrics(registry, async () => [], async () => eventBacklog(db, clock.date())),
      endpoints: config().events,
      callbacks: config().eventCallbacks,
      policy: config().eventDelivery,
      interval: 1000,
    });
  /** Runs delivery at each moment a retry falls due (what is due earlier waits behind a video's head), up to `until`. */
  const deliverUntil = async (until: number) => {
    const events = delivery();
    for (;;) {
      await events.deliverDue();
      const [next] = await db.query<{ at: Date | null }>(`select min(next_attempt_at) as at from processing_event_deliveries where status = 'pending' and next_attempt_at > $1`, [
        clock.date(),
      ]);
      if (!next?.at || next.at.getTime() > until) return;
      clock.set(next.at);
    }
  };
  const emit = (videoId: string, type: EventType, at: number) => db.transaction((tx) => emitEvent(tx, config(), { videoId, type, data: {}, now: new Date(at) }));

  it('a receiver down for two hours gets everything afterwards, in order per video, retried with doubling delays', async () => {
    receiver.state.down = true;
    for (const video of ['video-a', 'video-b']) {
      for (const type of ['video.created', 'video.processing', 'video.ready'] as const) await emit(video, type, T0);
    }
    await deliverUntil(T0 + 2 * 3_600_000);
    const heads = await db.query<{ attempts: number; next: Date }>(
      `select d.attempts, d.next_attempt_at as next from processing_event_deliveries d join processing_events e on e.id = d.event_id where e.sequence = 1`,
    );
    // 10 s doubling, each wait jittered over the upper half of its step, up to the hour: 10 to 12 tries in two hours
    // (a fixed 10 s would be 720), each video's later events waiting.
    for (const head of heads) expect(head.attempts).toBeGreaterThanOrEqual(10);
    for (const head of heads) expect(head.attempts).toBeLessThanOrEqual(12);
    expect(receiver.posts).toEqual([]);
    const retries = heads.reduce((sum, head) => sum + head.attempts, 0);

    receiver.state.down = false;
    clock.set(Math.max(...heads.map((head) => head.next.getTime())));
    await deliverUntil(clock.now());
    for (const video of ['video-a', 'video-b']) {
      expect(receiver.of(video).map((event) => `${event.sequence} ${event.type}`)).toEqual(['1 video.created', '2 video.processing', '3 video.ready']);
    }
    expect(receiver.posts).toHaveLength(6);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(new RegExp(`^vigil_processing_event_deliveries_total\\{endpoint="platform",outcome="retry"\\} ${retries}$`, 'm'));
    expect(metrics).toMatch(/^vigil_processing_events_pending\{endpoint="platform"\} 0$/m);
  });

  it('the storage GC deletes events a week after their delivery, keeping the latest of each video so its sequence carries on', async () => {
    const gc = (at: number) =>
      runGc({ db, storage: new Storage(path.join(store.tempDir, 'storage')), config: config(), clock: new FakeClock(at), logger: createLogger({ level: 'silent' }) });
    const deliveredAt = clock.now();
    expect((await gc(deliveredAt + 6 * 86_400_000)).deletedEvents).toBe(0);
    expect((await gc(deliveredAt + 7 * 86_400_000 + 1000)).deletedEvents).toBe(4);
    await emit('video-a', 'video.deleted', deliveredAt + 8 * 86_400_000);
    const rows = await db.query<{ sequence: number; type: string }>(`select sequence, type from processing_events where video_id = 'video-a' order by sequence`);
    expect(rows).toEqual([
      { sequence: 3, type: 'video.ready' },
      { sequence: 4, type: 'video.deleted' },
    ]);
  });
});

// Several processes delivering from one database need PostgreSQL (PGlite belongs to one process).
describe.skipIf(Boolean(inject('postgresUnavailable')))('processing events from two Vigil instances on one database [PostgreSQL]', () => {
  let store: TestStore;
  let receiver: Receiver;
  const instances: Vigil[] = [];

  beforeAll(async () => {
    receiver = await startReceiver(SECRET, { delayMs: 150 });
    store = await postgresBackend.createStore();
    const config = processingTestConfig(store, { pollInterval: '100ms', events: [{ name: 'platform', url: receiver.url, secret: SECRET }] });
    instances.push(await startProcessing(config), await startProcessing(config));
  });
  afterAll(async () => {
    for (const instance of instances) await instance.stop();
    await receiver?.close();
    await store?.cleanup();
  });

  it('one instance at a time sends the next event of a video: each once, in order, never two of one video at once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await upload(instances[i % 2]!.url, notAVideo(), {}, `notes-${i}.mp4`)).body.id);
    await waitFor('every failure event', async () => ids.every((id) => receiver.of(id).some((event) => event.type === 'video.failed')) || undefined, 60_000, 100);
    for (const id of ids) expect(receiver.posts.filter((event) => event.videoId === id).map((event) => event.sequence)).toEqual([1, 2, 3, 4]);
    expect(receiver.maxInFlightPerVideo).toBe(1);
  }, 90_000);
});

// A whole Vigil on PGlite in a child process, killed with SIGKILL while a POST is in flight and started again on its data.
describe('processing events across a kill -9 and restart [PGlite]', () => {
  let store: TestStore;
  let receiver: Receiver;
  let running: RunningProcess | undefined;

  beforeAll(async () => {
    receiver = await startReceiver();
    store = await pgliteBackend.createStore();
  });
  afterAll(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    await running?.exited;
    await receiver?.close();
    await store?.cleanup();
  });

  async function startChild(): Promise<string> {
    const config = {
      server: { host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN },
      database: { dataDir: store.dataDir },
      logging: { level: 'silent' },
      processing: {
        storageDir: path.join(store.tempDir, 'storage'),
        pollInterval: '200ms',
        keys: [{ name: 'test', scopes: ['upload', 'read', 'delete', 'admin'], key: TEST_KEY }],
        events: [{ name: 'platform', url: receiver.url, secret: SECRET, timeout: '3s' }],
      },
    };
    running = spawnNode(WORKER, [], { VIGIL_TEST_CONFIG: JSON.stringify(config), VIGIL_TEST_ROLES: 'api,worker' });
    const child = running;
    const line = await waitFor('Vigil to start', () => /worker ready \d+ (\S+)/.exec(child.output())?.[1] ?? (child.child.exitCode !== null ? Promise.reject(new Error(child.output())) : undefined), 60_000);
    return line;
  }

  it('loses no event and keeps every id: the POST cut short is sent again with the same id, the rest follow in order', async () => {
    let url = await startChild();
    receiver.state.hold = (event) => event.sequence === 2;
    const bad = await upload(url, notAVideo(), {}, 'notes.mp4');
    await waitFor('the second event in flight', async () => receiver.posts.some((event) => event.videoId === bad.body.id && event.sequence === 2) || undefined, 30_000, 50);
    running!.child.kill('SIGKILL');
    await running!.exited;
    const before = receiver.posts.map((event) => [event.sequence, event.id]);

    receiver.state.hold = () => false;
    url = await startChild();
    await waitFor('the failure event', async () => receiver.of(bad.body.id).some((event) => event.type === 'video.failed') || undefined, 60_000, 100);
    // The kill may cut a stage short too: it runs again after the restart, announced again as a new event.
    const got = receiver.of(bad.body.id);
    expect(got.map((event) => event.sequence)).toEqual(got.map((_event, index) => index + 1));
    expect(got.map((event) => event.type)).toEqual(['video.created', ...Array<string>(got.length - 2).fill('video.processing'), 'video.failed']);
    // At least once: the POST the kill cut short came again, with the id it had; any other copy (a POST slower than
    // the timeout on a loaded machine) carries its event's id too.
    const ids = new Map(receiver.of(bad.body.id).map((event) => [event.sequence, event.id]));
    for (const [sequence, id] of before) expect(ids.get(sequence as number)).toBe(id);
    for (const post of receiver.posts) expect(post.id).toBe(ids.get(post.sequence));
    expect(receiver.posts.filter((event) => event.sequence === 2).length).toBeGreaterThanOrEqual(2);
    const admin = (await (await fetch(`${url}/admin/api/v1/videos/${bad.body.id}/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { events: Array<{ sequence: number; id: string }> };
    expect(admin.events.map((event) => [event.sequence, event.id])).toEqual([...ids.entries()]);
  }, 150_000);
});
