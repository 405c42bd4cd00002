import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR } from '../../core/clock.ts';
import { generateTestClip } from '../../processing/ffmpeg.ts';
import { costReport, formatCostReport, readCostTotals, type CostTotals } from '../../processing/report.ts';
import { getVideo, listCheckpoints, timeToPublishByBucket } from '../../processing/store.ts';
import { runVigil } from '../support/cli.ts';
import type { TestStore } from '../support/backends.ts';
import { processingTestConfig, startProcessing, upload, waitForState } from './support.ts';

const totals = (overrides: Partial<CostTotals> = {}): CostTotals => ({
  videos: 10, videoSeconds: 600, bytes: 500e6, processingSeconds: 300, cpuSeconds: 450, queueWaitMeanSeconds: 2, queueWaitP95Seconds: 9, ...overrides,
});

describe('processing cost report', () => {
  it.each([
    { name: 'observed rate', totals: totals(), options: { windowMs: 10 * HOUR, concurrency: 2 }, want: { processingSecondsPerVideoSecond: 0.5, processingSecondsPerMegabyte: 0.6, processingSecondsPerVideo: 30, cpuSecondsPerVideo: 45, uploadsPerHour: 1, workersNeeded: 1 } },
    { name: 'a given rate', totals: totals(), options: { windowMs: 10 * HOUR, concurrency: 2, uploadsPerHour: 1200 }, want: { busyJobSlots: 10, workersNeeded: 8 } },
    { name: 'concurrency 4', totals: totals(), options: { windowMs: 10 * HOUR, concurrency: 4, uploadsPerHour: 1200 }, want: { busyJobSlots: 10, workersNeeded: 4 } },
    { name: 'nothing published', totals: totals({ videos: 0, videoSeconds: 0, bytes: 0, processingSeconds: 0, cpuSeconds: 0, queueWaitMeanSeconds: null, queueWaitP95Seconds: null }), options: { windowMs: HOUR, concurrency: 2 }, want: { processingSecondsPerVideoSecond: null, processingSecondsPerVideo: null, busyJobSlots: null, workersNeeded: null } },
  ])('$name', ({ totals: input, options, want }) => {
    expect(costReport(input, options)).toMatchObject(want);
  });

  it('prints a sentence, not a table of n/a, when nothing was published', () => {
    const report = costReport(totals({ videos: 0, processingSeconds: 0 }), { windowMs: 7 * 24 * HOUR, concurrency: 2 });
    expect(formatCostReport(report, 2)).toEqual(['No video was published in the last 168.0 h, so there is nothing to measure yet.']);
  });
});

describe('processing cost report from stored checkpoints', () => {
  const temp = mkdtempSync(path.join(os.tmpdir(), 'vigil-report-'));
  const store: TestStore = { dataDir: path.join(temp, 'data'), tempDir: temp, cleanup: async () => {} };
  const clip = path.join(temp, 'clip.mp4');
  beforeAll(() => generateTestClip(clip, { seconds: 2, width: 160, height: 120 }));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('adds up a published video, and the CLI prints the figures', async () => {
    const vigil = await startProcessing(processingTestConfig(store));
    try {
      const answer = await upload(vigil.url, clip);
      await waitForState(vigil.url, answer.body.id, ['published']);
      const read = await readCostTotals(vigil.db, new Date(Date.now() - HOUR));
      expect(read.videos).toBe(1);
      expect(read.videoSeconds).toBeGreaterThan(1.9);
      expect(read.videoSeconds).toBeLessThan(2.2);
      expect(read.bytes).toBe(statSync(clip).size);
      expect(read.processingSeconds).toBeGreaterThan(0);
      // The transcode's ffmpeg reported its CPU time; the figure is what the checkpoints hold.
      const transcode = (await listCheckpoints(vigil.db, answer.body.id)).find((checkpoint) => checkpoint.stage === 'transcode')!;
      expect(transcode.cpuSeconds).toBeGreaterThan(0);
      expect(read.cpuSeconds).toBeCloseTo(transcode.cpuSeconds!, 6);
      const [bucket, ...others] = await timeToPublishByBucket(vigil.db, { from: new Date(Date.now() - HOUR), to: new Date(Date.now() + 1000), includeSynthetic: true });
      const video = (await getVideo(vigil.db, answer.body.id))!;
      const stored = (video.finishedAt!.getTime() - video.createdAt.getTime()) / 1000;
      expect(others).toEqual([]);
      expect(bucket).toEqual({ bucket: '<1m', videos: 1, medianSeconds: expect.closeTo(stored, 3), p95Seconds: expect.closeTo(stored, 3) });
      expect(read.queueWaitMeanSeconds).toBeGreaterThanOrEqual(0);
      expect(read.queueWaitP95Seconds).toBeGreaterThanOrEqual(read.queueWaitMeanSeconds!);
      expect((await readCostTotals(vigil.db, new Date(Date.now() + HOUR))).videos).toBe(0);
    } finally {
      await vigil.stop();
    }
    const config = path.join(temp, 'report.config.ts');
    writeFileSync(config, `export default { logging: { level: 'silent' }, database: { dataDir: ${JSON.stringify(store.dataDir)} }, processing: { storageDir: ${JSON.stringify(path.join(temp, 'storage'))} } };\n`);
    const { code, output } = await runVigil(['processing', 'report', '--since', '1h', '--uploads-per-hour', '600', '--config', config]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^1 video\(s\) published in the last 1\.0 h$/m);
    expect(output).toMatch(/^processing seconds per video second +\d+\.\d\d$/m);
    expect(output).toMatch(/^CPU seconds per video +\d+\.\d\d$/m);
    expect(output).toMatch(/^time to publish, sources <1m +median \d+\.\d s, p95 \d+\.\d s over 1 video\(s\)$/m);
    expect(output).toMatch(/^at 600\.0 uploads per hour: \d+\.\d\d jobs busy at once on average, \d+ worker process\(es\) at concurrency 2/m);
    // No Vigil runs: the CLI serves the same admin API from the store in its own process (GET /admin/api/v1/processing/report).
    const bad = await runVigil(['processing', 'report', '--since', 'a week', '--config', config]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('--since: "a week" is not a duration');
  }, 300_000);
});
