import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Vigil } from '../../core/lifecycle/start.ts';
import type { TestStore } from '../support/backends.ts';
import { createPostgresDatabase } from '../support/backends.ts';
import { spawnNode, type RunningProcess } from '../support/cli.ts';
import { testClips } from '../support/clips.ts';
import { waitFor } from '../support/wait.ts';
import { STAGE_NAMES } from '../../processing/stages/index.ts';
import { ffmpegFor, getAdminVideo, getVideo, processingTestConfig, startProcessing, upload, waitForState, withKey } from './support.ts';

const WORKER = path.join(import.meta.dirname, 'fixtures/worker.ts');
// The long clip is the one recovery.test.ts uses: made once per run.
const clips = testClips({ long: { seconds: 20, width: 1280, height: 720 }, short: { seconds: 1, width: 160, height: 120 } });
const postgresUnavailable = inject('postgresUnavailable');

// Separate worker processes need a database they can share: PostgreSQL (PGlite belongs to one process).
describe.skipIf(Boolean(postgresUnavailable))('processing workers in separate processes [PostgreSQL]', () => {
  let store: TestStore;
  let api: Vigil;
  const workers: RunningProcess[] = [];

  beforeAll(async () => {
    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-test-'));
    const database = await createPostgresDatabase();
    store = {
      databaseUrl: database.url,
      dataDir: path.join(tempDir, 'data'),
      tempDir,
      cleanup: async () => {
        await database.drop();
        rmSync(tempDir, { recursive: true, force: true });
      },
    };
    api = await startProcessing(processingTestConfig(store), { roles: ['api'] });
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
  afterAll(async () => {
    await api?.stop();
    await store?.cleanup();
  });

  async function startWorker(processing: Record<string, unknown> = {}): Promise<RunningProcess> {
    const config = {
      server: { host: '127.0.0.1', port: 0 },
      database: { url: store.databaseUrl },
      logging: { level: 'silent' },
      processing: { storageDir: path.join(store.tempDir, 'storage'), pollInterval: '500ms', retryDelay: '1s', preset: 'ultrafast', ...processing },
    };
    const worker = spawnNode(WORKER, [], { VIGIL_TEST_CONFIG: JSON.stringify(config) });
    workers.push(worker);
    await waitFor('the worker to start', () => worker.output().includes('worker ready') || (worker.child.exitCode !== null && Promise.reject(new Error(worker.output()))), 30_000);
    return worker;
  }

  it('a worker killed with SIGKILL mid-transcode: another worker takes the job within a minute, publishes once, and the checkpoints show both attempts', async () => {
    const first = await startWorker({ preset: 'medium', lease: '10s' });
    const answer = await upload(api.url, clips.long);
    await waitFor('transcode to start', async () => (await getVideo(api.url, answer.body.id)).checkpoints.some((c) => c.stage === 'transcode' && c.status === 'started'), 30_000);
    first.child.kill('SIGKILL');
    await first.exited;

    await startWorker({ lease: '10s' });
    await waitForState(api.url, answer.body.id, ['published', 'failed'], 90_000);
    const video = await getAdminVideo(api.url, answer.body.id);
    expect(video.state).toBe('published');
    const transcodes = video.checkpoints.filter((checkpoint) => checkpoint.stage === 'transcode');
    // The lease (10 s) lapses and pg-boss's next supervision pass (every 10 s) hands the job on: inside a minute.
    expect(Date.parse(transcodes[1]!.startedAt) - Date.parse(transcodes[0]!.startedAt)).toBeLessThan(60_000);
    expect(transcodes.map((c) => [c.attempt, c.status, c.errorClass])).toEqual([
      [1, 'failed', 'WORKER_LOST'],
      [2, 'finished', null],
    ]);
    expect(transcodes[0]!.workerId).not.toBe(transcodes[1]!.workerId);
    expect(video.checkpoints.filter((checkpoint) => checkpoint.stage === 'publish' && checkpoint.status === 'finished')).toHaveLength(1);
    expect(video.outputs.filter((output) => output.kind === 'rendition')).toHaveLength(1);
    expect(video.outputs[0]!.path).toContain(`${path.sep}transcode-2${path.sep}`);
  }, 180_000);

  it('DELETE through the API process stops the ffmpeg of another process\'s worker within a second, and that worker counts no failure', async () => {
    const worker = await startWorker({ preset: 'medium' });
    const workerUrl = /worker ready \d+ (\S+)/.exec(worker.output())![1]!;
    const answer = await upload(api.url, clips.long);
    await waitFor('ffmpeg to run in the worker process', () => ffmpegFor(answer.body.id).length > 0, 60_000);
    expect((await fetch(`${api.url}/api/v1/videos/${answer.body.id}`, { method: 'DELETE', headers: withKey() })).status).toBe(204);
    await waitFor('ffmpeg to be killed', () => ffmpegFor(answer.body.id).length === 0, 1000, 20);
    expect((await fetch(`${api.url}/api/v1/videos/${answer.body.id}`, { headers: withKey() })).status).toBe(404);
    const metrics = await (await fetch(`${workerUrl}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_processing_stage_failures_total\{stage="transcode",class="WORKER_LOST"\} 0$/m);
    expect(metrics).not.toMatch(/^vigil_processing_stage_failures_total\{stage="transcode",class="\w+"\} [1-9]/m);
    expect(metrics).not.toMatch(/vigil_processing_videos_total\{outcome="failed"/);
  }, 180_000);

  it('two worker processes process 20 uploads between them, each exactly once', async () => {
    const pair = [await startWorker({ concurrency: 1 }), await startWorker({ concurrency: 1 })];
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await upload(api.url, clips.short, {}, `clip-${i}.mp4`)).body.id);
    await Promise.all(ids.map((id) => waitForState(api.url, id, ['published', 'failed'], 120_000)));
    const videos = await Promise.all(ids.map((id) => getAdminVideo(api.url, id)));
    expect(videos.map((video) => video.state)).toEqual(Array(20).fill('published'));
    const workersSeen = new Set<string>();
    for (const video of videos) {
      expect(video.checkpoints.map((c) => `${c.stage}:${c.attempt}:${c.status}`)).toEqual(
        STAGE_NAMES.map((stage) => `${stage}:1:finished`),
      );
      for (const checkpoint of video.checkpoints) workersSeen.add(checkpoint.workerId);
    }
    expect(workersSeen.size).toBe(pair.length);
  }, 180_000);
});
