import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { ffprobe } from '../../processing/ffmpeg.ts';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { testClips } from '../support/clips.ts';
import { STAGE_NAMES } from '../../processing/stages/index.ts';
import { getAdminVideo, getVideo, processingTestConfig, startProcessing, startSmtp, upload, waitForState, withKey } from './support.ts';


describeEachBackend('processing pipeline', (backend) => {
  let store: TestStore;
  let vigil: Vigil;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const { clip } = testClips({ clip: { seconds: 5, width: 640, height: 360 } });

  beforeAll(async () => {
    smtp = await startSmtp();
    store = await backend.createStore();
    vigil = await startProcessing(processingTestConfig(store, {}, { smtp: { url: smtp.url } }));
  });
  afterAll(async () => {
    await vigil?.stop();
    await smtp?.close();
    await store?.cleanup();
  });

  it('publishes a 5 s 640x360 clip as a playable MP4 and a thumbnail, every stage checkpointed, and mails "ready" once', async () => {
    const answer = await upload(vigil.url, clip, { email: 'user@example.com' });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: 'queued', statusUrl: `${vigil.url}/api/v1/videos/${answer.body.id}` });

    const video = await waitForState(vigil.url, answer.body.id, ['published', 'failed']);
    expect(video.error).toBeNull();
    expect(video.state).toBe('published');
    expect(video.stage).toBeNull();
    expect(video.checkpoints.map((checkpoint) => [checkpoint.stage, checkpoint.status])).toEqual(STAGE_NAMES.map((stage) => [stage, 'finished']));
    // What the probe stage found, for the platform: the clip is a plain H.264/AAC file with no findings.
    expect(video.input).toMatchObject({
      container: expect.stringContaining('mp4'),
      video: { codec: 'h264', width: 640, height: 360, frameRate: 25, bitDepth: 8, rotation: 0 },
      audio: { codec: 'aac' },
      findings: [],
    });
    expect(video.progress).toBeNull();
    const detailed = await getAdminVideo(vigil.url, answer.body.id);
    for (const checkpoint of detailed.checkpoints) {
      expect(checkpoint.attempt).toBe(1);
      // The worker id names this process start, not its pid (pids repeat across container restarts).
      expect(checkpoint.workerId).toMatch(new RegExp(`^${os.hostname()}/[0-9a-f-]{36}$`));
      expect(Date.parse(checkpoint.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(checkpoint.startedAt));
    }

    const rendition = video.outputs.find((output) => output.kind === 'rendition')!;
    expect(rendition.name).toBe('720p.mp4');
    expect(JSON.stringify(video)).not.toContain(store.tempDir);
    const probed = await ffprobe(detailed.outputs.find((output) => output.name === rendition.name)!.path);
    expect(Math.abs(probed.durationSeconds - 5)).toBeLessThanOrEqual(0.1);
    expect(probed.streams).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'video', codec: 'h264', width: 640, height: 360 }), { type: 'audio', codec: 'aac' }]));
    expect(rendition.durationSeconds).toBeCloseTo(probed.durationSeconds, 3);

    const download = await fetch(rendition.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('video/mp4');
    expect((await download.arrayBuffer()).byteLength).toBe(rendition.bytes);
    const thumbnail = video.outputs.find((output) => output.kind === 'thumbnail')!;
    const image = Buffer.from(await (await fetch(thumbnail.url)).arrayBuffer());
    expect(image.subarray(0, 2).toString('hex')).toBe('ffd8');

    await expect.poll(() => smtp.messages.length, { timeout: 20_000 }).toBe(1);
    expect(smtp.messages[0]!.subject).toMatch(/is ready/);
    expect(smtp.messages[0]!.text).toContain(answer.body.id);
  });

  it('lists videos by state, answers 404 and 400 with reasons, and deletes a video with its files', async () => {
    const first = await upload(vigil.url, clip, { labels: 'synthetic=true,probe=e2e' });
    const second = await upload(vigil.url, clip);
    expect(second.body.id).not.toBe(first.body.id);
    const [a, b] = await Promise.all([first, second].map((answer) => waitForState(vigil.url, answer.body.id, ['published', 'failed'])));
    expect(a!.labels).toEqual({ synthetic: 'true', probe: 'e2e' });
    // Identical bytes are one stored original shared by both videos.
    expect(b!.state).toBe('published');

    const listed = (await (await fetch(`${vigil.url}/api/v1/videos?state=published&limit=50`, { headers: withKey() })).json()) as { videos: Array<{ id: string }> };
    expect(listed.videos.map((video) => video.id)).toEqual(expect.arrayContaining([first.body.id, second.body.id]));
    const badState = await fetch(`${vigil.url}/api/v1/videos?state=done`, { headers: withKey() });
    expect(badState.status).toBe(400);
    expect(((await badState.json()) as { error: { message: string } }).error.message).toMatch(/state: "done"/);
    expect((await fetch(`${vigil.url}/api/v1/videos/nope`, { headers: withKey() })).status).toBe(404);
    const badLabels = await upload(vigil.url, clip, { labels: 'synthetic' });
    expect(badLabels.status).toBe(400);
    expect(badLabels.body.error!.message).toMatch(/labels: "synthetic"/);

    const [blob] = await vigil.db.query<{ sha256: string }>('select sha256 from processing_videos where id = $1', [first.body.id]);
    const original = path.join(store.tempDir, 'storage', 'originals', blob!.sha256.slice(0, 2), blob!.sha256);
    const rendition = (await getAdminVideo(vigil.url, a!.id)).outputs[0]!.path;
    expect((await fetch(`${vigil.url}/api/v1/videos/${first.body.id}`, { method: 'DELETE', headers: withKey() })).status).toBe(204);
    expect((await fetch(`${vigil.url}/api/v1/videos/${first.body.id}`, { headers: withKey() })).status).toBe(404);
    const { existsSync } = await import('node:fs');
    expect(existsSync(rendition)).toBe(false);
    // Still referenced by the other uploads of the same bytes.
    expect(existsSync(original)).toBe(true);
    expect((await getVideo(vigil.url, second.body.id)).state).toBe('published');
  });
});
