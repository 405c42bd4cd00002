import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';
import { DURATION_BUCKET_NAMES } from '../../processing/index.ts';
import { defineRuleKind } from './rule-kind.ts';

/** The time-to-publish promise of one source-duration bucket: p95 of upload-to-published over a window. */
export const timeToPublishRuleKind = defineRuleKind({
  kind: 'time-to-publish',
  constructorName: 'timeToPublishRule',
  options: {
    /** Sources of this length: <1m, 1-5m, 5-20m, 20-60m, >60m. */
    bucket: z.enum(DURATION_BUCKET_NAMES),
    /** Fires while the p95 of upload-to-published time in the window is above this. */
    p95Above: duration(),
    window: duration().default(60 * 60_000),
    /** Fewer published videos than this in the window leave the incident as it is. */
    minSamples: z.number().int().min(1).default(5),
  },
  async observe(rule, signals) {
    const figures = (await signals.processing(rule.window).timeToPublish()).find((candidate) => candidate.bucket === rule.bucket);
    const videos = figures?.videos ?? 0;
    const active = !figures || videos < rule.minSamples ? undefined : figures.p95Seconds * 1000 > rule.p95Above;
    const p95 = figures ? `${figures.p95Seconds.toFixed(1)} s` : 'n/a';
    return {
      labels: { ...rule.labels, duration: rule.bucket },
      active,
      summary: rule.summary ?? `time to publish ${rule.bucket} videos: p95 ${p95} over ${videos} videos (promise ${rule.p95Above / 1000} s)`,
    };
  },
});
