import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { queueName } from '../../processing/worker.ts';
import { describeEachBackend, storePer } from '../support/backends.ts';
import { runVigil } from '../support/cli.ts';
import { repeatClip, testClips } from '../support/clips.ts';
import { waitFor } from '../support/wait.ts';
import { ADMIN_TOKEN, ffmpegFor, ffmpegProcessesFor, getAdminVideo, getVideo, processingTestConfig, startProcessing, upload, waitForState, withKey } from './support.ts';

const { short, long } = testClips({ short: { seconds: 2, width: 320, height: 240 }, long: { seconds: 30, width: 1280, height: 720 } });

const transcodeStarted = (url: string, id: string) =>
  waitFor('the transcode to start', async () => (await getVideo(url, id)).checkpoints.some((c) => c.stage === 'transcode' && c.status === 'started'), 60_000);

/** A multipart request written by hand, so the body can be cut or carry two files. */
function rawUpload(url: string, body: Buffer, boundary: string): Promise<{ status: number; body: { error: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/v1/videos`, { method: 'POST', headers: { ...withKey(), 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describeEachBackend('processing lifecycle', (backend) => {
  const suite = storePer('suite', backend);
  const running: Vigil[] = [];
  const start = async (processing: Record<string, unknown> = {}, roles?: string[]) => {
    const vigil = await startProcessing(processingTestConfig(suite.store, processing), roles ? { roles } : {});
    running.push(vigil);
    return vigil;
  };
  afterEach(async () => {
    for (const vigil of running.splice(0)) await vigil.stop();
  });

  it('reports not ready and answers uploads 503 RESOURCE with Retry-After while the storage directory is unusable, ready again once it is back; 400 for a cut or doubled multipart body; 404 for a malformed id', async () => {
    const blocker = path.join(suite.store.tempDir, 'not-a-directory');
    writeFileSync(blocker, 'x');
    const vigil = await start({ storageDir: path.join(blocker, 'storage') });
    const ready = await fetch(`${vigil.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/storage directory is not writable \(ENOTDIR\)/);
    const refused = await fetch(`${vigil.url}/api/v1/videos`, { method: 'POST', body: (() => {
      const form = new FormData();
      form.append('file', new Blob([readFileSync(short)]), 'clip.mp4');
      return form;
    })(), headers: withKey() });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toEqual({ code: 'RESOURCE', message: expect.not.stringMatching(/not-a-directory|ENOTDIR/) });

    rmSync(blocker);
    await waitFor('readiness once storage is back', async () => (await fetch(`${vigil.url}/readyz`)).status === 200, 10_000);

    const boundary = 'vigil-test-boundary';
    const part = (name: string) => Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"; filename="a.mp4"\r\ncontent-type: video/mp4\r\n\r\n${'x'.repeat(2000)}\r\n`);
    const cut = await rawUpload(vigil.url, part('file').subarray(0, 1000), boundary);
    expect(cut.status).toBe(400);
    expect(cut.body.error.code).toBe('MALFORMED_MULTIPART');
    const doubled = await rawUpload(vigil.url, Buffer.concat([part('file'), part('file'), Buffer.from(`--${boundary}--\r\n`)]), boundary);
    expect(doubled.status).toBe(400);
    expect(doubled.body.error.message).toMatch(/exactly one file/);
    for (const id of ['%00', 'nope', "1'%20or%20'1'='1"]) expect((await fetch(`${vigil.url}/api/v1/videos/${id}`, { headers: withKey() })).status, id).toBe(404);
  });

  it('DELETE of a video mid-transcode stops its ffmpeg within a second and counts no failure', async () => {
    const vigil = await start({ preset: 'medium' });
    const answer = await upload(vigil.url, long);
    await transcodeStarted(vigil.url, answer.body.id);
    await waitFor('ffmpeg to run', () => ffmpegFor(answer.body.id).length > 0, 10_000);
    expect((await fetch(`${vigil.url}/api/v1/videos/${answer.body.id}`, { method: 'DELETE', headers: withKey() })).status).toBe(204);
    await waitFor('ffmpeg to be killed', () => ffmpegFor(answer.body.id).length === 0, 1000, 20);
    const metrics = await (await fetch(`${vigil.url}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_processing_stage_failures_total\{stage="transcode",class="UNDEFINED"\} 0$/m);
    expect(metrics).not.toMatch(/^vigil_processing_stage_failures_total\{stage="transcode",class="\w+"\} [1-9]/m);
    expect(metrics).not.toMatch(/vigil_processing_videos_total\{outcome="failed"/);
  });

  it.runIf(backend.name === 'PGlite')('an ffmpeg that stops making progress (alive, but stopped) renews no lease: its attempt is stopped as timed_out after one lease and the retry publishes', async () => {
    const vigil = await start({ preset: 'medium', lease: '10s' });
    const answer = await upload(vigil.url, long);
    await transcodeStarted(vigil.url, answer.body.id);
    const [stuck] = await waitFor('ffmpeg to run', () => ffmpegProcessesFor(answer.body.id)[0] && ffmpegProcessesFor(answer.body.id), 10_000);
    process.kill(stuck!.pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    const first = await waitFor(
      'the stuck attempt to be stopped',
      async () => (await getAdminVideo(vigil.url, answer.body.id)).checkpoints.find((c) => c.stage === 'transcode' && c.attempt === 1 && c.status !== 'started'),
      40_000,
    );
    // Stopped by the worker itself (a lease without progress), not by the stage timeout of an hour, and before the lapse.
    expect(Date.now() - stoppedAt).toBeLessThan(30_000);
    expect(first).toMatchObject({ status: 'failed', errorClass: 'TIMEOUT', errorCode: 'timed_out', message: expect.stringMatching(/no progress for 10 s \(processing\.lease\)/) });
    expect(() => process.kill(stuck!.pid, 0)).toThrow();
    const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed'], 240_000);
    expect(video.state).toBe('published');
    expect(video.checkpoints.filter((c) => c.stage === 'transcode').map((c) => [c.attempt, c.status])).toEqual([
      [1, 'failed'],
      [2, 'finished'],
    ]);
  }, 300_000);

  it('retries a failed video from the CLI and the admin API, with fresh attempts; a video that is not failed is a 409', async () => {
    const vigil = await start({ stages: { transcode: { retries: 0 } } });
    const derived = path.join(suite.store.tempDir, 'storage', 'derived');
    rmSync(derived, { recursive: true, force: true });
    mkdirSync(path.dirname(derived), { recursive: true });
    writeFileSync(derived, 'not a directory');
    const [viaCli, viaApi] = [await upload(vigil.url, short, {}, 'a.mp4'), await upload(vigil.url, short, {}, 'b.mp4')];
    for (const answer of [viaCli, viaApi]) {
      const failed = await waitForState(vigil.url, answer.body.id, ['published', 'failed']);
      expect(failed.error).toMatchObject({ class: 'RESOURCE', code: 'storage_unavailable', message: 'We had a storage problem on our side, every time we tried; the file you sent is not the cause.' });
    }
    rmSync(derived);
    const cli = await runVigil(['processing', 'retry', viaCli.body.id, '--url', vigil.url], { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(cli.output).toContain(`video ${viaCli.body.id} queued again at the transcode stage`);
    expect(cli.code).toBe(0);
    const api = await fetch(`${vigil.url}/admin/api/v1/videos/${viaApi.body.id}/retry`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(api.status).toBe(200);
    for (const answer of [viaCli, viaApi]) {
      const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed']);
      expect(video.state).toBe('published');
      expect(video.checkpoints.filter((c) => c.stage === 'transcode').map((c) => [c.attempt, c.status])).toEqual([[1, 'failed'], [1, 'finished']]);
    }
    const again = await fetch(`${vigil.url}/admin/api/v1/videos/${viaApi.body.id}/retry`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(again.status).toBe(409);
    expect((await fetch(`${vigil.url}/admin/api/v1/videos/${viaApi.body.id}/retry`, { method: 'POST' })).status).toBe(401);
  });

  it.runIf(backend.name === 'PGlite')('four restarts during one transcode spend none of its attempts: it publishes with retries 0', async () => {
    const processing = { preset: 'medium', stages: { transcode: { retries: 0 } } };
    let vigil = await start(processing);
    const answer = await upload(vigil.url, long);
    for (let restart = 0; restart < 4; restart++) {
      await transcodeStarted(vigil.url, answer.body.id);
      await vigil.stop(200);
      running.splice(running.indexOf(vigil), 1);
      vigil = await start(restart === 3 ? { ...processing, preset: 'ultrafast' } : processing);
    }
    const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed'], 180_000);
    expect(video.state).toBe('published');
    expect(video.checkpoints.filter((c) => c.stage === 'transcode').map((c) => [c.attempt, c.status, c.errorClass])).toEqual([
      [1, 'failed', 'WORKER_LOST'],
      [2, 'failed', 'WORKER_LOST'],
      [3, 'failed', 'WORKER_LOST'],
      [4, 'failed', 'WORKER_LOST'],
      [5, 'finished', null],
    ]);
  }, 300_000);

  it.runIf(backend.name === 'PGlite')('a job claimed but not started when its process ended is recovered at once on restart, not after the lease', async () => {
    // A ten-minute lease: only recovery at start can finish this video inside the test.
    const api = await start({ lease: '10m' }, ['api']);
    const answer = await upload(api.url, short);
    const [claimed] = await api.queue.fetch(queueName('store'));
    expect(claimed?.data).toEqual({ videoId: answer.body.id, stage: 'store' });
    await api.stop();
    running.splice(running.indexOf(api), 1);
    const vigil = await start({ lease: '10m' });
    const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed'], 60_000);
    expect(video.state).toBe('published');
    expect(video.checkpoints.map((c) => `${c.stage}:${c.attempt}:${c.status}`)[0]).toBe('store:1:finished');
  }, 120_000);

  it.runIf(backend.name === 'PGlite')('a transcode longer than the lease keeps its claim and publishes in one attempt', async () => {
    // Long enough that even a quiet machine transcodes it for well over two leases (90 s of it took just over 20 s).
    const longer = path.join(suite.store.tempDir, 'longer.mp4');
    await repeatClip(long, 4, longer);
    const vigil = await start({ lease: '10s', preset: 'medium' });
    const answer = await upload(vigil.url, longer);
    await waitForState(vigil.url, answer.body.id, ['published', 'failed'], 360_000);
    const video = await getAdminVideo(vigil.url, answer.body.id);
    expect(video.state).toBe('published');
    const transcodes = video.checkpoints.filter((c) => c.stage === 'transcode');
    expect(transcodes.map((c) => [c.attempt, c.status])).toEqual([[1, 'finished']]);
    // Otherwise the test proves nothing: the attempt must have outlived the lease more than once.
    expect(Date.parse(transcodes[0]!.finishedAt!) - Date.parse(transcodes[0]!.startedAt)).toBeGreaterThan(20_000);
  }, 480_000);
});
