import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, statfsSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { generateTestClip } from '../../processing/ffmpeg.ts';
import type { TestStore } from '../support/backends.ts';
import { waitFor } from '../support/wait.ts';
import { getAdminVideo, getVideo, processingTestConfig, startProcessing, upload, waitForState } from './support.ts';

const notRoot = process.getuid?.() === 0 ? undefined : 'a small tmpfs needs root';

/** Writes zeros into `file` until the volume is full but for `leave` bytes. */
function fill(file: string, leave: number): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) {
      const { bavail, bsize } = statfsSync(path.dirname(file));
      const room = bavail * bsize - leave;
      if (room <= 0) break;
      writeSync(fd, chunk, 0, Math.min(chunk.length, room));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(Boolean(notRoot))(`a full storage volume${notRoot ? ` [skipped: ${notRoot}]` : ''}`, () => {
  let tempDir: string;
  let storageDir: string;
  let clip: string;
  let vigil: Vigil | undefined;

  beforeAll(async () => {
    tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-full-'));
    storageDir = path.join(tempDir, 'storage');
    mkdirSync(storageDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', storageDir]);
    clip = path.join(tempDir, 'clip.mp4');
    await generateTestClip(clip, { seconds: 2, width: 320, height: 240 });
  }, 60_000);

  afterEach(async () => {
    await vigil?.stop(2000);
    vigil = undefined;
    // The next test starts from an empty volume (a stored original would be shared, leaving more room).
    for (const entry of readdirSync(storageDir)) rmSync(path.join(storageDir, entry), { recursive: true, force: true });
  });

  afterAll(() => {
    execFileSync('umount', [storageDir]);
    rmSync(tempDir, { recursive: true, force: true });
  });

  const store = (): TestStore => ({ dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => {} });

  it('makes a video wait without spending its retries while the disk is full, and publishes it once space returns', async () => {
    vigil = await startProcessing(processingTestConfig(store(), { storageDir, minFreeBytes: '1KB', stages: { transcode: { retries: 1 } } }));
    const filler = path.join(storageDir, 'filler');
    // Room for the upload itself, not for what transcoding writes.
    fill(filler, statSync(clip).size + 32 * 1024);
    const accepted = await upload(vigil.url, clip);
    expect(accepted.status).toBe(202);
    const id = accepted.body.id;

    const waiting = await waitForState(vigil.url, id, ['waiting', 'published', 'failed']);
    expect(waiting.state).toBe('waiting');
    expect((await getAdminVideo(vigil.url, id)).errorDetail).toMatch(/^ENOSPC on the storage directory/);
    await waitFor('more waits than the stage has retries', async () => (await getAdminVideo(vigil!.url, id)).checkpoints.filter((c) => c.status === 'waited').length >= 3, 60_000, 200);
    const metrics = await (await fetch(`${vigil.url}/metrics`)).text();
    expect(metrics).toMatch(/vigil_processing_videos_waiting\{stage="[a-z]+"\} 1/);

    // Uploads meanwhile are refused with a storage answer, and /readyz says why.
    fill(path.join(storageDir, 'filler-2'), 0);
    const refused = await upload(vigil.url, clip);
    rmSync(path.join(storageDir, 'filler-2'));
    const ready = await fetch(`${vigil.url}/readyz`);
    console.log(`full storage volume: upload answered ${refused.status} ${refused.body.error?.code}, /readyz ${ready.status}`);
    expect([503, 507]).toContain(refused.status);

    rmSync(filler);
    const published = await waitForState(vigil.url, id, ['published', 'failed'], 120_000);
    expect(published.state).toBe('published');
    const admin = await getAdminVideo(vigil.url, id);
    const waited = admin.checkpoints.filter((checkpoint) => checkpoint.status === 'waited');
    expect(waited.length).toBeGreaterThanOrEqual(3);
    expect(waited[0]!.message).toMatch(/^ENOSPC on the storage directory/);
    expect(admin.checkpoints.filter((checkpoint) => checkpoint.status === 'failed')).toEqual([]);
    console.log(`full storage volume: the video waited through ${waited.length} attempts (transcode retries: 1) and published after space returned`);
  }, 180_000);

  it('gives up after processing.waitCeiling, naming the cause for admins and a storage problem for the uploader', async () => {
    vigil = await startProcessing(processingTestConfig(store(), { storageDir, minFreeBytes: '1KB', waitCeiling: '3s' }));
    fill(path.join(storageDir, 'filler'), statSync(clip).size + 32 * 1024);
    const accepted = await upload(vigil.url, clip);
    const failed = await waitForState(vigil.url, accepted.body.id, ['failed', 'published'], 60_000);
    expect(failed.error).toEqual({ class: 'RESOURCE', code: 'storage_unavailable', message: 'We had a storage problem on our side, every time we tried; the file you sent is not the cause.' });
    const admin = await getAdminVideo(vigil.url, accepted.body.id);
    expect(admin.errorDetail).toMatch(/^ENOSPC on the storage directory: .*processing\.waitCeiling\)$/);
    expect((await getVideo(vigil.url, accepted.body.id)).state).toBe('failed');
  }, 120_000);
});
