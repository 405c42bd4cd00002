import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';
import { defineRuleKind } from './rule-kind.ts';

const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

/** The share of videos that failed processing in a window, with hysteresis between trigger and clear. */
export const failureRateRuleKind = defineRuleKind({
  kind: 'failure-rate',
  constructorName: 'failureRateRule',
  options: {
    window: duration().default(15 * 60_000),
    minSamples: z.number().int().min(1).default(10),
    /** Fires at or above this ratio of failed videos ... */
    trigger: z.number().min(0).max(1),
    /** ... and clears at or below this one. */
    clear: z.number().min(0).max(1),
  },
  check: (rule) => (rule.clear > rule.trigger ? ['clear must not be above trigger'] : []),
  async observe(rule, signals) {
    const { videos } = await signals.processing(rule.window);
    const samples = videos.published + videos.failed;
    const rate = videos.failureRate;
    // Between the clear and trigger levels, or with too few samples, the incident keeps its state.
    const active = rate === null || samples < rule.minSamples ? undefined : rate >= rule.trigger ? true : rate <= rule.clear ? false : undefined;
    return { labels: rule.labels, active, summary: rule.summary ?? `video failure rate ${rate === null ? 'n/a' : percent(rate)} over ${samples} videos (trigger ${percent(rule.trigger)})` };
  },
});
