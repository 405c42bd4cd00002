import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessingError } from '../../processing/failures.ts';
import { runFfmpeg } from '../../processing/ffmpeg.ts';
import { verifyStage } from '../../processing/stages/verify.ts';
import { describeEachBackend } from '../support/backends.ts';
import { testClips } from '../support/clips.ts';
import { waitFor } from '../support/wait.ts';
import { getAdminVideo, processingTestConfig, smtpStoreAndVigilPerTest, startProcessing, upload, USER_TEXT_LEAKS, verifyContext, waitForState, withoutLinks, type VideoView, withKey } from './support.ts';

const { clip } = testClips({ clip: { seconds: 3, width: 320, height: 240 } });

const failedAttempts = (video: VideoView, stage: string) => video.checkpoints.filter((c) => c.stage === stage && c.status === 'failed');

describeEachBackend('processing failures', (backend) => {
  const perTest = smtpStoreAndVigilPerTest(backend);

  async function start(processing: Record<string, unknown> = {}) {
    const { smtp, store } = await perTest.smtpAndStore();
    const vigil = perTest.stopAfter(await startProcessing(processingTestConfig(store, processing, { smtp: { url: smtp.url } })));
    return { vigil, smtp, store };
  }

  it('ends random bytes, a zero-byte file and a truncated MP4 as INPUT_INVALID without retry, with exactly one email each saying why', async () => {
    const { vigil, smtp } = await start();
    const whole = readFileSync(clip);
    const inputs = { random: randomBytes(200_000), empty: Buffer.alloc(0), truncated: whole.subarray(0, Math.floor(whole.length / 2)) };
    const answers = await Promise.all(
      Object.entries(inputs).map(async ([name, bytes]) => [name, await upload(vigil.url, bytes, { email: `${name}@example.com` }, `${name}.mp4`)] as const),
    );
    for (const [name, answer] of answers) {
      expect(answer.status, name).toBe(202);
      const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed']);
      expect(video.state, name).toBe('failed');
      expect(video.error?.class, name).toBe('INPUT_INVALID');
      const failed = video.checkpoints.filter((checkpoint) => checkpoint.status === 'failed');
      expect(failed, name).toHaveLength(1);
      expect(failed[0]!.attempt, name).toBe(1);
      expect(video.checkpoints.filter((checkpoint) => checkpoint.stage === failed[0]!.stage), name).toHaveLength(1);
    }
    // A good upload's "ready" mail is queued after the failures' notices: once it arrives, any duplicate would have too.
    const good = await upload(vigil.url, clip, { email: 'good@example.com' });
    await waitForState(vigil.url, good.body.id, ['published']);
    await expect.poll(() => smtp.messages.some((message) => message.subject?.includes('is ready')), { timeout: 20_000 }).toBe(true);
    expect(smtp.messages).toHaveLength(4);
    // ffprobe now and then takes random bytes for an audio-only stream: no picture is as right an answer as no media.
    const sentences: Record<string, RegExp> = { random: /not a video we can read|no video picture/, empty: /The file is empty \(0 bytes\)/, truncated: /damaged or incomplete|not a video we can read/ };
    for (const [name] of answers) {
      const mail = smtp.messages.find((message) => message.to && JSON.stringify(message.to).includes(`${name}@example.com`))!;
      expect(mail.subject).toBe(`Your video "${name}.mp4" could not be processed`);
      expect(mail.text, name).toMatch(sentences[name]!);
      expect(withoutLinks(mail.text!), name).not.toMatch(USER_TEXT_LEAKS);
    }
  });

  it('kills a stage over its timeout, retries it with backoff and ends it permanent after the limit; one "retried" and one "failed" email', async () => {
    const { vigil, smtp } = await start({ stages: { transcode: { timeout: '10ms', retries: 2 } }, retryDelay: '1s' });
    const answer = await upload(vigil.url, clip, { email: 'slow@example.com' });
    const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed'], 60_000);
    expect(video.state).toBe('failed');
    expect(video.error).toEqual({ class: 'TIMEOUT', code: 'timed_out', message: 'Processing took longer than allowed, every time we tried.' });
    expect((await getAdminVideo(vigil.url, answer.body.id)).errorDetail).toMatch(/exceeded its 10 ms budget.*gave up after 3 failed attempts/);
    const attempts = failedAttempts(video, 'transcode');
    expect(attempts.map((attempt) => [attempt.attempt, attempt.errorClass])).toEqual([[1, 'TIMEOUT'], [2, 'TIMEOUT'], [3, 'TIMEOUT']]);
    // Backoff: retryDelay 1 s doubling (with jitter) between attempts.
    const gaps = attempts.slice(1).map((attempt, i) => Date.parse(attempt.startedAt) - Date.parse(attempts[i]!.finishedAt!));
    expect(gaps[0]).toBeGreaterThanOrEqual(900);
    expect(gaps[1]).toBeGreaterThanOrEqual(1900);
    await expect.poll(() => smtp.messages.map((message) => message.subject).sort(), { timeout: 20_000 }).toEqual([
      'We received "clip.mp4"; processing will be retried automatically',
      'Your video "clip.mp4" could not be processed',
    ]);
    const metrics = () => fetch(`${vigil.url}/metrics`).then((response) => response.text());
    await expect.poll(metrics).toMatch(/vigil_processing_videos_total\{outcome="failed",class="TIMEOUT"\} 1/);
    expect(await metrics()).toMatch(/vigil_processing_stage_failures_total\{stage="transcode",class="TIMEOUT"\} 3/);
  });

  it('gives RESOURCE while the derived-files directory is unusable and publishes once it is back', async () => {
    const { vigil, store } = await start({ retryDelay: '1s', stages: { transcode: { retries: 5 } } });
    const derived = path.join(store.tempDir, 'storage', 'derived');
    mkdirSync(path.dirname(derived), { recursive: true });
    writeFileSync(derived, 'not a directory');
    const answer = await upload(vigil.url, clip);
    await waitFor('a RESOURCE failure', async () => {
      const response = await fetch(`${vigil.url}/api/v1/videos/${answer.body.id}`, { headers: withKey() });
      const video = (await response.json()) as VideoView;
      return video.checkpoints.some((checkpoint) => checkpoint.errorClass === 'RESOURCE') ? video : undefined;
    });
    rmSync(derived);
    const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed']);
    expect(video.state).toBe('published');
    const transcodes = video.checkpoints.filter((checkpoint) => checkpoint.stage === 'transcode');
    expect(transcodes[0]).toMatchObject({ attempt: 1, status: 'failed', errorClass: 'RESOURCE' });
    expect(transcodes.at(-1)!.status).toBe('finished');
  });

  it('answers 413 to an upload over the size limit and leaves no partial file', async () => {
    const { vigil, store } = await start({ maxUploadBytes: '1MB' });
    // Announced by Content-Length: refused before the body is read, in the upload route's own words.
    const announced = await upload(vigil.url, randomBytes(3 * 1024 * 1024));
    expect(announced.status).toBe(413);
    expect(announced.body.error).toEqual({ code: 'UPLOAD_TOO_LARGE', message: expect.stringContaining('1048576 bytes') });
    // Streamed without a length: refused once the limit is crossed, the partial file removed.
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(randomBytes(3 * 1024 * 1024))]), 'big.mp4');
    const encoded = new Response(form);
    const streamed = await fetch(`${vigil.url}/api/v1/videos`, { method: 'POST', body: encoded.body, headers: withKey({ 'content-type': encoded.headers.get('content-type')! }), duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: unknown }).error).toEqual({ code: 'UPLOAD_TOO_LARGE', message: expect.stringContaining('1048576 bytes') });
    const storage = path.join(store.tempDir, 'storage');
    expect(existsSync(path.join(storage, 'incoming')) ? readdirSync(path.join(storage, 'incoming')) : []).toEqual([]);
    expect(existsSync(path.join(storage, 'originals'))).toBe(false);
    expect(await vigil.db.query('select id from processing_videos')).toEqual([]);
    const small = await upload(vigil.url, clip);
    expect(small.status).toBe(202);
  });
});

describe('verify stage', () => {
  it('fails a rendition that ffmpeg wrote with exit 0 but that is short or lacks its audio', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-verify-'));
    try {
      const short = path.join(dir, 'short.mp4');
      await runFfmpeg(['-i', clip, '-t', '1', '-c', 'copy', short], { timeoutMs: 20_000 });
      const silent = path.join(dir, 'silent.mp4');
      await runFfmpeg(['-i', clip, '-an', '-c', 'copy', silent], { timeoutMs: 20_000 });
      const context = (file: string) => verifyContext(file, dir, 20_000);
      const shortError = await verifyStage.run(context(short)).catch((error: unknown) => error);
      expect(shortError).toBeInstanceOf(ProcessingError);
      expect((shortError as ProcessingError).message).toMatch(/720p.mp4 lasts 1\.\d+ s, the source 3\.00 s/);
      await expect(verifyStage.run(context(silent))).rejects.toThrow(/lost the audio stream/);
      await expect(verifyStage.run(context(clip))).resolves.toEqual({ outputs: [expect.objectContaining({ name: '720p.mp4', durationSeconds: expect.closeTo(3, 1) })] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
