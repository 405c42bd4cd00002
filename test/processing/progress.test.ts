import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, systemClock } from '../../core/clock.ts';
import type { ProcessingError } from '../../processing/failures.ts';
import { generateTestClip, runFfmpeg } from '../../processing/ffmpeg.ts';
import { progressOf, watchProgress, type StageProgress } from '../../processing/progress.ts';
import { transcodeArgs } from '../../processing/stages/transcode.ts';
import { processingConfigSchema } from '../../processing/config.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');

describe('progressOf', () => {
  it.each([
    { case: 'ffmpeg says 2x: 30 s of 60 s left at 2x is 15 s', media: 30, speed: 2, elapsed: 10_000, percent: 50, finishIn: 15_000 },
    { case: 'no speed yet: the pace since the start (20 s of video in 10 s)', media: 20, speed: null, elapsed: 10_000, percent: 33.3, finishIn: 20_000 },
    { case: 'nothing written yet: no estimate', media: 0, speed: null, elapsed: 5_000, percent: 0, finishIn: null },
    { case: 'past the source duration (audio longer than video): capped at 100 %', media: 61, speed: 1.5, elapsed: 40_000, percent: 100, finishIn: 0 },
    { case: "ffmpeg's last block: done, though the last frame starts before the end", media: 59.96, speed: 2, elapsed: 30_000, percent: 100, finishIn: 0, finished: true },
  ])('$case', ({ media, speed, elapsed, percent, finishIn, finished }) => {
    const progress = progressOf({ mediaSeconds: media, speed, ...(finished ? { finished } : {}) }, 60, T0, T0 + elapsed);
    expect(progress.percent).toBe(percent);
    expect(progress.estimatedFinishAt === null ? null : progress.estimatedFinishAt.getTime() - (T0 + elapsed)).toBe(finishIn);
  });
});

describe('watchProgress', () => {
  const watch = (clock: FakeClock, reportsProgress = true) => {
    const reports: StageProgress[] = [];
    const stalls: ProcessingError[] = [];
    const renewals: number[] = [];
    const watcher = watchProgress({
      clock,
      sourceSeconds: 100,
      interval: 10_000,
      lease: 60_000,
      reportsProgress,
      renew: () => renewals.push(clock.now() - T0),
      report: (p) => reports.push(p),
      stalled: (e) => stalls.push(e),
    });
    return { reports, stalls, renewals, watcher };
  };

  it('passes on the first report at once, then at most one per interval, and always the one reaching 100 %', async () => {
    const clock = new FakeClock(T0);
    const { reports, watcher } = watch(clock);
    for (let second = 1; second <= 25; second++) {
      watcher.update({ mediaSeconds: second * 4, speed: 4 });
      await clock.advance(1000);
    }
    watcher.stop();
    expect(reports.map((report) => report.percent)).toEqual([4, 44, 84, 100]);
  });

  it('renews the lease every third of it while progress advances, and not once it stops advancing: a stuck ffmpeg keeps no job', async () => {
    const clock = new FakeClock(T0);
    const { renewals, stalls, watcher } = watch(clock);
    // Two minutes of progress (twice the lease), then ffmpeg still writes blocks but its figure stays.
    for (let second = 1; second <= 120; second++) {
      watcher.update({ mediaSeconds: second / 2, speed: 0.5 });
      await clock.advance(1000);
    }
    expect(renewals).toEqual([20_000, 40_000, 60_000, 80_000, 100_000, 120_000]);
    for (let second = 1; second <= 50; second++) {
      watcher.update({ mediaSeconds: 60, speed: 0 });
      await clock.advance(1000);
    }
    expect(renewals).toHaveLength(6);
    expect(stalls).toEqual([]);
    await clock.advance(11_000);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toMatchObject({ code: 'timed_out', failureClass: 'TIMEOUT' });
    expect(stalls[0]!.message).toMatch(/no progress for 60 s \(processing\.lease\) at 60\.0 s of the source/);
    await clock.advance(600_000);
    expect(renewals).toHaveLength(6);
    expect(stalls).toHaveLength(1);
  });

  it('stops an ffmpeg that reports nothing within a lease, renewing nothing meanwhile', async () => {
    const clock = new FakeClock(T0);
    const { renewals, stalls } = watch(clock);
    await clock.advance(59_000);
    expect(stalls).toEqual([]);
    await clock.advance(2_000);
    expect(stalls[0]!.message).toMatch(/no progress for 60 s \(processing\.lease\) before ffmpeg reported any progress/);
    expect(renewals).toEqual([]);
  });

  it('a stage without a progress figure is renewed while it runs and never stalls; nothing after stop', async () => {
    const clock = new FakeClock(T0);
    const { renewals, stalls, watcher } = watch(clock, false);
    await clock.advance(61_000);
    expect(renewals).toEqual([20_000, 40_000, 60_000]);
    watcher.stop();
    await clock.advance(600_000);
    expect(renewals).toHaveLength(3);
    expect(stalls).toEqual([]);
  });
});

describe('a real transcode reports progress and its CPU time', () => {
  let dir: string;
  let clip: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-progress-'));
    clip = path.join(dir, 'clip.mp4');
    await generateTestClip(clip, { seconds: 30, width: 640, height: 360 });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('at least three reports, percent monotonic up to 100, and CPU seconds from ffmpeg', async () => {
    const config = processingConfigSchema.parse({ preset: 'ultrafast', renditions: [{ name: '360p', height: 360 }] });
    const reports: StageProgress[] = [];
    const watcher = watchProgress({ clock: systemClock, sourceSeconds: 30, interval: 0, lease: 60_000, reportsProgress: true, renew: () => {}, report: (p) => reports.push(p), stalled: () => {} });
    const source = { durationSeconds: 30, formatName: 'mov', width: 640, height: 360, hasAudio: true };
    const files = { renditions: [path.join(dir, '360p.mp4')], thumbnail: path.join(dir, 'thumbnail.jpg') };
    const { cpuSeconds } = await runFfmpeg(transcodeArgs(clip, source, config, files), { timeoutMs: 120_000, onProgress: (p) => watcher.update(p) });
    watcher.stop();
    expect(reports.length).toBeGreaterThanOrEqual(3);
    const percents = reports.map((report) => report.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
    expect(cpuSeconds).toBeGreaterThan(0);
  }, 120_000);
});
