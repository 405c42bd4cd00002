import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assert, assertionsSchema, firstFailure, readJsonPath, type Assertion } from '../../probes/assertions.ts';
import { duration } from '../../core/config/duration.ts';
import { hash, period, timetable } from '../../probes/schedule.ts';
import { nextLocationState, quorumState, type LocationState, type Vote } from '../../probes/state.ts';

// Table tests of the probes' decisions: pure functions, no store, no clock, no network.

const T = Date.UTC(2026, 2, 10, 12);

describe('location state after a run', () => {
  const state = (value: LocationState['state'], failures = 0, successes = 0, since = T - 60_000): LocationState => ({ state: value, since, consecutiveFailures: failures, consecutiveSuccesses: successes });
  const cases: Array<[string, LocationState | undefined, { success: boolean; degraded?: boolean }, { failureThreshold: number; successThreshold: number }, LocationState]> = [
    ['a first success with threshold 1 is up', undefined, { success: true }, { failureThreshold: 1, successThreshold: 1 }, state('up', 0, 1, T)],
    ['a first success below the threshold is unknown', undefined, { success: true }, { failureThreshold: 1, successThreshold: 2 }, state('unknown', 0, 1, T)],
    ['a first failure with threshold 1 is down', undefined, { success: false }, { failureThreshold: 1, successThreshold: 1 }, state('down', 1, 0, T)],
    ['one failure below the threshold keeps up', state('up', 0, 5), { success: false }, { failureThreshold: 2, successThreshold: 1 }, state('up', 1, 0)],
    ['the failure reaching the threshold turns down, since now', state('up', 1, 0), { success: false }, { failureThreshold: 2, successThreshold: 1 }, state('down', 2, 0, T)],
    ['more failures keep the since of the change', state('down', 2, 0), { success: false }, { failureThreshold: 2, successThreshold: 1 }, state('down', 3, 0)],
    ['one success below the threshold keeps down', state('down', 3, 0), { success: true }, { failureThreshold: 1, successThreshold: 2 }, state('down', 0, 1)],
    ['the success reaching the threshold turns up', state('down', 0, 1), { success: true }, { failureThreshold: 1, successThreshold: 2 }, state('up', 0, 2, T)],
    ['a slow success is degraded', state('up', 0, 4), { success: true, degraded: true }, { failureThreshold: 1, successThreshold: 1 }, state('degraded', 0, 5, T)],
    ['a fast success after a slow one is up again', state('degraded', 0, 5), { success: true }, { failureThreshold: 1, successThreshold: 1 }, state('up', 0, 6, T)],
    ['a slow success below the threshold keeps down', state('down', 0, 0), { success: true, degraded: true }, { failureThreshold: 1, successThreshold: 2 }, state('down', 0, 1)],
  ];
  it.each(cases)('%s', (_name, previous, run, thresholds, expected) => {
    expect(nextLocationState(previous, { success: run.success, degraded: run.degraded ?? false, at: T }, thresholds)).toEqual(expected);
  });
});

describe('quorum over locations', () => {
  const fresh = (state: Vote['state']): Vote => ({ state, silentAfter: T + 1 });
  const silent = (state: Vote['state']): Vote => ({ state, silentAfter: T - 1 });
  const cases: Array<[string, Vote[], number, string]> = [
    ['no location reported', [], 1, 'unknown'],
    ['one up', [fresh('up')], 1, 'up'],
    ['one down of two, quorum 2', [fresh('down'), fresh('up')], 2, 'up'],
    ['two down of two, quorum 2', [fresh('down'), fresh('down')], 2, 'down'],
    ['one down of two, quorum 1', [fresh('down'), fresh('up')], 1, 'down'],
    ['a silent up does not outvote', [fresh('down'), silent('up')], 1, 'down'],
    ['a silent down does not count toward the quorum', [fresh('down'), silent('down'), fresh('up')], 2, 'up'],
    ['only silent locations', [silent('up'), silent('down')], 1, 'unknown'],
    ['a degraded location makes the probe degraded', [fresh('up'), fresh('degraded')], 1, 'degraded'],
    ['down wins over degraded at the quorum', [fresh('down'), fresh('degraded')], 1, 'down'],
    ['unknown locations do not vote', [fresh('unknown'), fresh('unknown')], 1, 'unknown'],
    ['a location without a deadline always votes', [{ state: 'down', silentAfter: null }], 1, 'down'],
  ];
  it.each(cases)('%s', (_name, votes, quorum, expected) => {
    expect(quorumState(votes, quorum, T)).toBe(expected);
  });
});

describe('next run of a schedule', () => {
  const iso = (ms: number) => new Date(ms).toISOString();
  const cases: Array<[string, { every: number } | { cron: string }, string, string]> = [
    ['every 10s, no jitter', { every: 10_000 }, '2026-03-10T12:00:03.000Z', '2026-03-10T12:00:10.000Z'],
    ['every 10s, exactly on a slot', { every: 10_000 }, '2026-03-10T12:00:10.000Z', '2026-03-10T12:00:20.000Z'],
    ['every 1h', { every: 3_600_000 }, '2026-03-10T12:30:00.000Z', '2026-03-10T13:00:00.000Z'],
    ['cron every 5 minutes', { cron: '*/5 * * * *' }, '2026-03-10T12:01:00.000Z', '2026-03-10T12:05:00.000Z'],
    ['cron with seconds', { cron: '*/15 * * * * *' }, '2026-03-10T12:00:16.000Z', '2026-03-10T12:00:30.000Z'],
    ['cron at 03:00 daily, past it today', { cron: '0 3 * * *' }, '2026-03-10T12:00:00.000Z', '2026-03-11T03:00:00.000Z'],
    ['cron on Mondays (2026-03-16 is one)', { cron: '0 9 * * 1' }, '2026-03-10T12:00:00.000Z', '2026-03-16T09:00:00.000Z'],
    ['cron on the 1st of a month', { cron: '0 0 1 * *' }, '2026-03-10T12:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ['cron in February only, over a year end', { cron: '0 0 1 2 *' }, '2026-03-10T12:00:00.000Z', '2027-02-01T00:00:00.000Z'],
    ['cron on the 15th or a Friday: the Friday comes first', { cron: '0 9 15 * 5' }, '2026-03-10T12:00:00.000Z', '2026-03-13T09:00:00.000Z'],
    ['cron on the 12th or a Monday: the 12th comes first', { cron: '0 9 12 * 1' }, '2026-03-10T12:00:00.000Z', '2026-03-12T09:00:00.000Z'],
    ['cron on weekdays only (day of month unrestricted)', { cron: '0 9 * * 1-5' }, '2026-03-13T12:00:00.000Z', '2026-03-16T09:00:00.000Z'],
  ];
  it.each(cases)('%s', (_name, schedule, after, expected) => {
    expect(iso(timetable('probe', schedule, 0).next(Date.parse(after)))).toBe(expected);
  });

  it.each([
    [{ every: 30_000 }, 30_000],
    [{ cron: '*/5 * * * *' }, 300_000],
    [{ cron: '0 3 * * *' }, 86_400_000],
  ])('has a period: %j', (schedule, expected) => expect(period(schedule)).toBe(expected));

  it('shifts slots by the hashed offset when jitter is allowed', () => {
    const offset = hash('probe') % 10_000;
    expect(timetable('probe', { every: 10_000 }).next(T) - T).toBe(offset === 0 ? 10_000 : offset);
  });
});

describe('durations in probe definitions', () => {
  const schema = z.object({ value: duration(100) });
  const cases: Array<[unknown, number | string]> = [
    ['250ms', 250],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    [' 10s ', 10_000],
    [5, '5 has no unit; write 5s or 5ms'],
    [5000, '5000 has no unit; write 5000s or 5000ms'],
    ['0s', 'must be at least 100ms, got 0s'],
    ['50ms', 'must be at least 100ms, got 50ms'],
    ['5 s', 'is not a duration'],
    ['ten seconds', 'is not a duration'],
    ['-1s', 'is not a duration'],
  ];
  it.each(cases)('%j', (input, expected) => {
    const parsed = schema.safeParse({ value: input });
    if (typeof expected === 'number') expect(parsed.data?.value).toBe(expected);
    else expect(parsed.error?.issues.map((issue) => issue.message).join('; ')).toContain(expected);
  });
});

describe('assertions', () => {
  const document = { items: [{ id: 1, tags: ['a'] }, { id: 2, tags: [] }], total: 2, next: null, 'odd key': true };
  it.each([
    ['$.total', 2],
    ['total', 2],
    ['$.items[0].id', 1],
    ['$.items[*].id', [1, 2]],
    ['$.items[*].tags[0]', ['a']],
    ['$.items[5].id', undefined],
    ["$['odd key']", true],
    ['$.next', null],
    ['$.missing.deeper', undefined],
  ])('reads %s', (path, expected) => expect(readJsonPath(document, path)).toEqual(expected));

  const observed: Record<string, unknown> = { status: 503, body: 'Service Unavailable', responseTime: 1234.5, answers: ['10.0.0.7', '10.0.0.8'], rcode: 'NXDOMAIN' };
  const cases: Array<[string, Assertion, string | undefined]> = [
    ['equal status passes', assert.status().equals(503), undefined],
    ['unequal status names both values', assert.status().equals(200), 'status equals 200: got 503'],
    ['oneOf', assert.status().oneOf([200, 204]), 'status oneOf [200,204]: got 503'],
    ['lessThan', assert.status().lessThan(500), 'status lessThan 500: got 503'],
    ['greaterThan passes', assert.status().greaterThan(499), undefined],
    ['contains', assert.body().contains('OK'), 'body contains "OK": got "Service Unavailable"'],
    ['notContains', assert.body().notContains('Unavailable'), 'body notContains "Unavailable": got "Service Unavailable"'],
    ['matches a regex with flags', assert.body().matches(/service/i), undefined],
    ['length', assert.body().length().lessThan(5), 'body length lessThan 5: got 19'],
    ['response time humanised', assert.responseTime().lessThan(1000), 'responseTime lessThan 1s: got 1.2s'],
    ['an array contains an element', assert.answers().contains('10.0.0.8'), undefined],
    ['an array lacks an element', assert.answers().contains('10.0.0.9'), 'answers contains "10.0.0.9": got ["10.0.0.7","10.0.0.8"]'],
    ['an expected NXDOMAIN', assert.rcode().equals('NXDOMAIN'), undefined],
    ['isNull on a missing value passes', assert.certDaysLeft().isNull(), undefined],
    ['isNotNull on a missing value', assert.certDaysLeft().isNotNull(), 'certDaysLeft isNotNull: got nothing'],
  ];
  it.each(cases)('%s', (_name, assertion, expected) => {
    expect(firstFailure([assertion], (a) => observed[a.source])).toBe(expected);
  });

  it.each([
    [assert.status().lessThan('500' as unknown as number), 'lessThan compares with a number, got "500"'],
    [assert.body().matches('('), 'not a regular expression'],
    [assert.jsonPath('items..id').equals(1), 'is not a JSONPath this probe reads'],
    [{ source: 'status', comparison: 'isNull', target: 1 } as Assertion, 'takes no value'],
  ])('rejects a malformed assertion when the config is read: %j', (assertion, message) => {
    const parsed = assertionsSchema(['status', 'body', 'json']).safeParse([assertion]);
    expect(parsed.error?.issues[0]?.message).toContain(message);
  });
});
