import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';
import { defineRuleKind } from './rule-kind.ts';

const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

export interface FailureRateLevels {
  minSamples: number;
  trigger: number;
  clear: number;
  hold: number;
}

export interface FailureRateState {
  active: boolean | undefined;
  /** Set while an active state is held: since when the rate has stayed at or below the clear level. */
  clearSince?: number;
}

/**
 * Hysteresis with a hold: active once the failure rate reaches `trigger`; inactive only after it has stayed at or below
 * `clear` for `hold`. Between the two levels the state stays and a hold under way starts again. Fewer than `minSamples`
 * videos never raise it, and count as clear for an active state: once the failures have left the window of a quiet
 * site, it clears after the hold instead of waiting for enough new uploads.
 */
export function failureRateState(levels: FailureRateLevels, videos: { published: number; failed: number }, previous: FailureRateState | undefined, now: number): FailureRateState {
  const samples = videos.published + videos.failed;
  const held = (clearSince: number): FailureRateState => (now - clearSince >= levels.hold ? { active: false } : { active: true, clearSince });
  if (samples === 0 || samples < levels.minSamples) return previous?.active === true ? held(previous.clearSince ?? now) : { active: previous?.active };
  const rate = videos.failed / samples;
  if (rate >= levels.trigger) return { active: true };
  if (rate <= levels.clear) return previous?.active === true ? held(previous.clearSince ?? now) : { active: false };
  return { active: previous?.active };
}

/** The share of videos that failed processing in a window, with hysteresis between trigger and clear and a hold before clearing. */
export const failureRateRuleKind = defineRuleKind({
  kind: 'failure-rate',
  constructorName: 'failureRateRule',
  options: {
    window: duration().default(15 * 60_000),
    minSamples: z.number().int().min(1).default(10),
    /** Fires at or above this ratio of failed videos ... */
    trigger: z.number().min(0).max(1),
    /** ... and clears once it has stayed at or below this one ... */
    clear: z.number().min(0).max(1),
    /** ... for this long. */
    hold: duration().default(0),
  },
  check: (rule) => (rule.clear > rule.trigger ? ['clear must not be above trigger'] : []),
  async observe(rule, signals, previous) {
    const videos = await signals.processing(rule.window).videos();
    const samples = videos.published + videos.failed;
    const rate = videos.failureRate;
    const state = failureRateState(rule, videos, previous, signals.now);
    const summary = rule.summary ?? `video failure rate ${rate === null ? 'n/a' : percent(rate)} over ${samples} videos (trigger ${percent(rule.trigger)})`;
    return {
      labels: rule.labels,
      active: state.active,
      summary,
      ...(state.clearSince === undefined ? {} : { clearSince: state.clearSince }),
      measured: { threshold: rule.trigger, ...(rate === null ? {} : { value: rate }) },
    };
  },
});
