import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRuleSource, ruleSchema } from '../../alerts/rules/index.ts';
import { FakeClock } from '../../core/clock.ts';
import { Registry } from 'prom-client';
import { processingSignalParts } from '../../processing/index.ts';
import { insertVideo, publishVideo, setSource } from '../../processing/store.ts';
import { durationBucketOf } from '../../processing/time-to-publish.ts';
import { databasePerTest, describeEachBackend } from '../support/backends.ts';

describe('source-duration buckets', () => {
  it.each([
    [0, '<1m'],
    [59.9, '<1m'],
    [60, '1-5m'],
    [299, '1-5m'],
    [300, '5-20m'],
    [1200, '20-60m'],
    [3600, '>60m'],
    [86_400, '>60m'],
  ])('%d s → %s', (seconds, bucket) => {
    expect(durationBucketOf(seconds)).toBe(bucket);
  });
});

describeEachBackend('the time-to-publish rule', (backend) => {
  const scratch = databasePerTest(backend);

  /** A video of `sourceSeconds` uploaded at `uploadedAt` and published `tookSeconds` later, as the worker records it. */
  const published = async (sourceSeconds: number, uploadedAt: number, tookSeconds: number) => {
    const { db } = scratch;
    const id = randomUUID();
    await insertVideo(db, { id, sha256: randomUUID(), bytes: 1, originalName: null, email: null, labels: {}, stage: 'store', now: new Date(uploadedAt) });
    await setSource(db, id, { durationSeconds: sourceSeconds, formatName: 'mp4', width: 320, height: 240, hasAudio: true });
    await publishVideo(db, id, new Date(uploadedAt + tookSeconds * 1000));
  };

  it('fires while the bucket p95 is above the promise, and resolves once the window holds fast videos only', async () => {
    const clock = new FakeClock(Date.parse('2025-03-01T12:00:00Z'));
    const rule = ruleSchema.parse({ kind: 'time-to-publish', name: 'short-clips-slow', bucket: '<1m', p95Above: '30s', window: '10m', minSamples: 3, labels: { service: 'processing' } });
    const observe = createRuleSource([rule], {
      probeStatuses: async () => [],
      processingSignals: (windowMs, now) => processingSignalParts(scratch.db, { windowMs, now }),
      registry: new Registry(),
    });

    // Two fast short clips: too few samples to judge, the incident keeps its state.
    for (let i = 0; i < 2; i++) await published(20, clock.now() - 60_000, 10);
    expect((await observe(clock.now()))[0]).toMatchObject({ rule: 'short-clips-slow', active: undefined, labels: { service: 'processing', duration: '<1m' } });

    // Long sources do not count against the short-clip promise, however slow.
    await published(600, clock.now() - 60_000, 900);
    expect((await observe(clock.now()))[0]!.active).toBeUndefined();

    // Three slow short clips: p95 above 30 s.
    await clock.advance(60_000);
    for (let i = 0; i < 3; i++) await published(20, clock.now() - 120_000, 90);
    const firing = (await observe(clock.now()))[0]!;
    expect(firing.active).toBe(true);
    expect(firing.summary).toMatch(/^time to publish <1m videos: p95 \d+\.\d s over 5 videos \(promise 30 s\)$/);

    // Eleven minutes on, the slow ones have left the window; fast ones alone resolve it.
    await clock.advance(11 * 60_000);
    for (let i = 0; i < 3; i++) await published(20, clock.now() - 30_000, 12);
    const resolved = (await observe(clock.now()))[0]!;
    expect(resolved.active).toBe(false);
    expect(resolved.summary).toContain('p95 12.0 s over 3 videos');
  });
});
