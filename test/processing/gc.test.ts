import { existsSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { processingConfigSchema } from '../../processing/config.ts';
import { runGc } from '../../processing/gc.ts';
import { Storage } from '../../processing/storage.ts';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { testClips } from '../support/clips.ts';
import { getAdminVideo, getVideo, processingTestConfig, startProcessing, upload, waitForState, withKey } from './support.ts';

describeEachBackend('processing storage GC', (backend) => {
  let store: TestStore;
  let vigil: Vigil;
  const clips = testClips({ a: { seconds: 1, width: 160, height: 120 }, b: { seconds: 1, width: 176, height: 144 } });
  let storageDir: string;

  beforeAll(async () => {
    store = await backend.createStore();
    storageDir = path.join(store.tempDir, 'storage');
    vigil = await startProcessing(processingTestConfig(store));
  });
  afterAll(async () => {
    await vigil?.stop();
    await store?.cleanup();
  });

  const originalOf = async (id: string) => {
    const [row] = await vigil.db.query<{ sha256: string }>('select sha256 from processing_videos where id = $1', [id]);
    return path.join(storageDir, 'originals', row!.sha256.slice(0, 2), row!.sha256);
  };
  const gc = (overrides: Record<string, unknown> = {}) =>
    runGc({
      db: vigil.db,
      storage: new Storage(storageDir),
      config: processingConfigSchema.parse({ storageDir, ...overrides }),
      clock: new FakeClock(Date.now() + 2 * 3_600_000),
      logger: createLogger({ level: 'silent' }),
    });

  it('removes expired synthetic uploads, their derived files and unreferenced originals, orphans, and nothing still referenced', async () => {
    const answers = await Promise.all([
      upload(vigil.url, clips.a, { labels: 'synthetic=true' }),
      upload(vigil.url, clips.a),
      upload(vigil.url, clips.b, { labels: 'synthetic=true' }),
    ]);
    await Promise.all(answers.map((a) => waitForState(vigil.url, a.body.id, ['published'])));
    const [syntheticShared, kept, syntheticAlone] = await Promise.all(answers.map((a) => getAdminVideo(vigil.url, a.body.id)));
    const sharedOriginal = await originalOf(kept!.id);
    const aloneOriginal = await originalOf(syntheticAlone!.id);
    const aloneBytes = statSync(aloneOriginal).size;
    // A mark left by an interrupted earlier run on a blob that is referenced again must not lead to its deletion.
    await vigil.db.query('update processing_blobs set gc_marked_at = now()');
    const orphan = path.join(storageDir, 'derived', 'gone-video', 'transcode-1', '720p.mp4');
    mkdirSync(path.dirname(orphan), { recursive: true });
    writeFileSync(orphan, Buffer.alloc(1000));
    const abandoned = path.join(storageDir, 'incoming', 'abandoned.part');
    writeFileSync(abandoned, Buffer.alloc(500));
    const old = new Date(Date.now() - 60_000);
    for (const file of [orphan, abandoned]) utimesSync(file, old, old);

    const report = await gc({ retention: { orphans: '1h' } });

    expect(report).toMatchObject({ deletedVideos: 2, deletedOutputs: 4, deletedOriginals: 1, deletedOrphans: 2 });
    const derivedBytes = [syntheticShared!, syntheticAlone!].flatMap((video) => video.outputs).reduce((sum, output) => sum + output.bytes, 0);
    expect(report.freedBytes).toBe(derivedBytes + 1500 + aloneBytes);
    for (const video of [syntheticShared!, syntheticAlone!]) {
      expect((await fetch(`${vigil.url}/api/v1/videos/${video.id}`, { headers: withKey() })).status).toBe(404);
      for (const output of video.outputs) expect(existsSync(output.path)).toBe(false);
    }
    expect(existsSync(aloneOriginal)).toBe(false);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(abandoned)).toBe(false);
    // Still referenced: the shared original and every file of the kept video.
    expect(existsSync(sharedOriginal)).toBe(true);
    expect((await getAdminVideo(vigil.url, kept!.id)).outputs).toEqual(kept!.outputs);
    const after = await getVideo(vigil.url, kept!.id);
    for (const output of after.outputs) expect((await fetch(output.url)).status).toBe(200);
  });

  it('keeps stored bytes under gc.maxBytes by removing the oldest derived files, keeping originals', async () => {
    const before = await vigil.db.query<{ id: string }>(`select id from processing_videos where state = 'published'`);
    expect(before.length).toBeGreaterThan(0);
    const report = await gc({ gc: { maxBytes: 1 } });
    expect(report.deletedOutputs).toBeGreaterThan(0);
    expect(report.deletedOriginals).toBe(0);
    const video = await getVideo(vigil.url, before[0]!.id);
    expect(video.outputs).toEqual([]);
    expect(existsSync(await originalOf(video.id))).toBe(true);
    expect(report.storedBytes).toBe(Number((await vigil.db.query<{ bytes: string }>('select sum(bytes) as bytes from processing_blobs'))[0]!.bytes));
  });
});
