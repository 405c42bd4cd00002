import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { ProcessingError } from '../../processing/failures.ts';
import { generateTestClip, runFfmpeg } from '../../processing/ffmpeg.ts';
import { verifyStage } from '../../processing/stages/verify.ts';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { getAdminVideo, processingTestConfig, startProcessing, startSmtp, upload, USER_TEXT_LEAKS, verifyContext, waitForState, withoutLinks } from './support.ts';

let dir: string;
const files: Record<string, string> = {};
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-inputs-'));
  const at = (name: string) => (files[name] = path.join(dir, name));
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-frames:v', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', at('one-frame.mp4')], { timeoutMs: 30_000 });
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x2:rate=25:duration=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', at('one-pixel-high.mp4')], { timeoutMs: 30_000 });
  await generateTestClip(at('three-seconds.mp4'), { seconds: 3, width: 320, height: 240 });
  // 750 KB whose header claims a 16000×16000 picture: ffprobe reads the claim (about 50 MB), decoding it would take hundreds.
  writeFileSync(at('huge.pgm'), Buffer.concat([Buffer.from('P5\n16000 16000\n255\n'), Buffer.alloc(750_000)]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeEachBackend('hostile and odd inputs', (backend) => {
  let store: TestStore;
  let vigil: Vigil;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeAll(async () => {
    smtp = await startSmtp();
    store = await backend.createStore();
    // A 2 s ceiling makes the 3 s clip the over-long input.
    vigil = await startProcessing(processingTestConfig(store, { limits: { maxDuration: '2s' } }, { smtp: { url: smtp.url } }));
  });
  afterAll(async () => {
    await vigil?.stop();
    await smtp?.close();
    await store?.cleanup();
  });

  it('publishes a one-frame video with its thumbnail', async () => {
    const answer = await upload(vigil.url, files['one-frame.mp4']!);
    const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed']);
    expect(video.error).toBeNull();
    expect(video.outputs.map((output) => output.kind).sort()).toEqual(['rendition', 'thumbnail']);
    expect(video.checkpoints.every((checkpoint) => checkpoint.attempt === 1)).toBe(true);
  });

  it.each([
    ['one-pixel-high.mp4', 'too_small', /320×2 pixels; the smallest we can process is 16×16/],
    ['huge.pgm', 'too_many_pixels', /16000×16000 pixels; the largest we accept is 67108864 pixels/],
    ['three-seconds.mp4', 'too_long', /lasts 0:00:03; the longest we accept is 0:00:02/],
  ])('fails %s as INPUT_INVALID %s at the probe, once, and tells the uploader in a plain sentence', async (name, code, sentence) => {
    const email = `${name}@example.com`;
    const answer = await upload(vigil.url, files[name]!, { email }, name);
    const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed']);
    expect(video.error).toEqual({ class: 'INPUT_INVALID', code, message: expect.stringMatching(sentence) });
    expect(video.error!.message).not.toMatch(USER_TEXT_LEAKS);
    expect(video.checkpoints.filter((checkpoint) => checkpoint.status === 'failed').map((checkpoint) => [checkpoint.stage, checkpoint.attempt])).toEqual([['probe', 1]]);
    expect((await getAdminVideo(vigil.url, answer.body.id)).errorDetail).toBeTruthy();
    await expect.poll(() => smtp.messages.filter((message) => JSON.stringify(message.to).includes(email)).length, { timeout: 20_000 }).toBe(1);
    const mail = smtp.messages.find((message) => JSON.stringify(message.to).includes(email))!;
    expect(mail.text).toMatch(sentence);
    expect(withoutLinks(mail.text!)).not.toMatch(USER_TEXT_LEAKS);
  });

  it('never shows users a path, an address or ffmpeg output, while admins get the detail', async () => {
    const answer = await upload(vigil.url, Buffer.concat([Buffer.from('\x00\x00\x00\x18ftypmp42'), Buffer.alloc(5000, 7)]), {}, 'broken.mp4');
    const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed']);
    expect(video.error?.class).toBe('INPUT_INVALID');
    // Links (the public status URL) are addresses, not server paths.
    expect(withoutLinks(JSON.stringify(video))).not.toMatch(USER_TEXT_LEAKS);
    const detail = await getAdminVideo(vigil.url, answer.body.id);
    expect(detail.errorDetail).toMatch(/ffprobe|Invalid data|moov/);
  });
});

describe('verify keeps the real failure class', () => {
  it('a rendition that cannot be probed in time is timed_out, not a bad output', async () => {
    const error = await verifyStage.run(verifyContext(files['three-seconds.mp4']!, dir, 1)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProcessingError);
    expect((error as ProcessingError).code).toBe('timed_out');
  });
});
