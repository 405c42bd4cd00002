import { describe, expect, it } from 'vitest';
import { failureRateState, type FailureRateState } from '../../alerts/rules/failure-rate.ts';
import { createRuleSource, ruleSchema } from '../../alerts/rules/index.ts';
import { failureRateRule, probeRule } from '../../app/index.ts';
import { createRegistry } from '../../core/telemetry/metrics.ts';

// The failure-rate rule's hysteresis as a table: trigger 20 %, clear 5 %, at least 10 videos, 10 minutes' hold before clearing.

const T0 = Date.UTC(2026, 0, 5, 12, 0);
const MIN = 60_000;
const levels = { minSamples: 10, trigger: 0.2, clear: 0.05, hold: 10 * MIN };
const videos = (failed: number, total: number) => ({ failed, published: total - failed });

describe('failureRateState', () => {
  it.each([
    { case: 'nothing known, too few videos', previous: undefined, videos: videos(5, 5), expected: { active: undefined } },
    { case: 'nothing known, no videos', previous: undefined, videos: videos(0, 0), expected: { active: undefined } },
    { case: 'at the trigger level fires', previous: undefined, videos: videos(2, 10), expected: { active: true } },
    { case: 'below the trigger, above the clear level: unknown stays unknown', previous: undefined, videos: videos(1, 10), expected: { active: undefined } },
    { case: 'at the clear level, not active: inactive', previous: { active: false }, videos: videos(1, 20), expected: { active: false } },
    { case: 'between the levels keeps inactive', previous: { active: false }, videos: videos(3, 20), expected: { active: false } },
    { case: 'between the levels keeps active', previous: { active: true }, videos: videos(3, 20), expected: { active: true } },
    { case: 'between the levels starts a hold again', previous: { active: true, clearSince: T0 - 9 * MIN }, videos: videos(3, 20), expected: { active: true } },
    { case: 'active, now clear: the hold starts', previous: { active: true }, videos: videos(0, 20), expected: { active: true, clearSince: T0 } },
    { case: 'clear within the hold: still active', previous: { active: true, clearSince: T0 - 9 * MIN }, videos: videos(1, 20), expected: { active: true, clearSince: T0 - 9 * MIN } },
    { case: 'clear for the whole hold: clears', previous: { active: true, clearSince: T0 - 10 * MIN }, videos: videos(1, 20), expected: { active: false } },
    { case: 'back at the trigger during the hold: the hold ends', previous: { active: true, clearSince: T0 - 9 * MIN }, videos: videos(5, 20), expected: { active: true } },
    { case: 'too few videos while active: the hold starts', previous: { active: true }, videos: videos(3, 3), expected: { active: true, clearSince: T0 } },
    { case: 'too few videos during a hold: the hold runs on', previous: { active: true, clearSince: T0 - 5 * MIN }, videos: videos(0, 2), expected: { active: true, clearSince: T0 - 5 * MIN } },
    { case: 'no videos after a hold passed: clears', previous: { active: true, clearSince: T0 - 11 * MIN }, videos: videos(0, 0), expected: { active: false } },
    { case: 'too few videos keeps inactive', previous: { active: false }, videos: videos(3, 3), expected: { active: false } },
  ] satisfies Array<{ case: string; previous: FailureRateState | undefined; videos: { failed: number; published: number }; expected: FailureRateState }>)('$case', ({ previous, videos, expected }) => {
    expect(failureRateState(levels, videos, previous, T0)).toEqual(expected);
  });

  it('without a hold clears at the first evaluation at or below the clear level', () => {
    expect(failureRateState({ ...levels, hold: 0 }, videos(0, 20), { active: true }, T0)).toEqual({ active: false });
  });
});

describe('a failure-rate rule across a restart', () => {
  const rule = ruleSchema.parse(failureRateRule({ name: 'video-failures', trigger: 0.2, clear: 0.05, hold: '10m', labels: { severity: 'critical' } }));
  const sourceOver = (rates: { failed: number; total: number }, stored: Map<string, boolean>) =>
    createRuleSource([rule], {
      registry: createRegistry(),
      probeStatuses: () => Promise.reject(new Error('not read')),
      processingSignals: () => ({ videos: async () => ({ ...videos(rates.failed, rates.total), failureRate: rates.failed / rates.total }), queues: async () => [], timeToPublish: async () => [] }),
      storedActive: async (name, labels) => stored.get(`${name} ${JSON.stringify(labels)}`),
    });

  it('a new process finding the series stored active holds it for the whole hold again instead of clearing at once', async () => {
    const stored = new Map([[`video-failures ${JSON.stringify({ severity: 'critical' })}`, true]]);
    const restarted = sourceOver({ failed: 0, total: 20 }, stored);
    expect((await restarted(T0))[0]).toMatchObject({ rule: 'video-failures', active: true });
    expect((await restarted(T0 + 9 * MIN))[0]).toMatchObject({ active: true });
    expect((await restarted(T0 + 10 * MIN))[0]).toMatchObject({ active: false });
  });

  it('a process that takes the lease again goes on from the store, not from what it remembered before another evaluated', async () => {
    const stored = new Map([[`video-failures ${JSON.stringify({ severity: 'critical' })}`, true]]);
    const source = sourceOver({ failed: 0, total: 20 }, stored);
    expect((await source(T0))[0]).toMatchObject({ active: true });
    // Another process held the lease meanwhile; this one takes it back at T0 + 9 min: the hold starts again there.
    source.forget();
    expect((await source(T0 + 9 * MIN))[0]).toMatchObject({ active: true });
    expect((await source(T0 + 10 * MIN))[0]).toMatchObject({ active: true });
    expect((await source(T0 + 19 * MIN))[0]).toMatchObject({ active: false });
  });

  it('a series stored inactive, or never stored, starts from what it observes', async () => {
    expect((await sourceOver({ failed: 0, total: 20 }, new Map([[`video-failures ${JSON.stringify({ severity: 'critical' })}`, false]]))(T0))[0]).toMatchObject({ active: false });
    expect((await sourceOver({ failed: 1, total: 20 }, new Map())(T0))[0]).toMatchObject({ active: false });
    expect((await sourceOver({ failed: 2, total: 20 }, new Map())(T0))[0]).toMatchObject({ active: undefined });
  });

});

describe('the rule source', () => {
  it('reads a series\' stored condition once per lease, not on every pass while its rule has no verdict yet', async () => {
    const reads: string[] = [];
    const rule = ruleSchema.parse(probeRule({ name: 'api-down', probe: 'api' }));
    const source = createRuleSource([rule], {
      registry: createRegistry(),
      probeStatuses: async () => [],
      processingSignals: () => {
        throw new Error('not read');
      },
      storedActive: async (name) => (reads.push(name), undefined),
    });
    for (const pass of [0, 1, 2]) expect(await source(T0 + pass * MIN)).toEqual([]);
    expect(reads).toEqual(['api-down']);
    source.forget();
    await source(T0 + 3 * MIN);
    expect(reads).toEqual(['api-down', 'api-down']);
  });
});
