import { describe, expect, it } from 'vitest';
import { routeSchema, type RouteConfig } from '../../alerts/config.ts';
import { decide, DELIVERY_FAILED_RULE, escalation, followUp, nextSignalState, repeatsDue, routesFor, targetsFor, type DecideInput } from '../../alerts/decide.ts';
import { deadPredecessor } from '../../alerts/leader.ts';
import { compileMatchers, windowMatcherProblems } from '../../alerts/matchers.ts';
import { activeTimesMuter, inhibitionMuter, maintenanceMuter, muteReason, silenceMuter } from '../../alerts/mute.ts';
import type { NotificationRecord } from '../../alerts/store.ts';
import type { Incident, NotificationEvent } from '../../alerts/types.ts';

// The alert pipeline's decisions as tables: each row one case, no database, no clock.

const T0 = Date.UTC(2026, 0, 5, 12, 0); // a Monday, 12:00 UTC
const MIN = 60_000;
const HOUR = 60 * MIN;

const route = (input: Record<string, unknown>): RouteConfig => routeSchema.parse(input);

let nextId = 1;
function incident(labels: Record<string, string>, overrides: Partial<Incident> = {}): Incident {
  return {
    id: nextId++,
    fingerprint: `f${nextId}`,
    rule: 'rule',
    labels,
    summary: 'down',
    lastSummary: null,
    state: 'firing',
    flapping: false,
    startedAt: T0,
    firedAt: T0,
    escalatedAt: null,
    resolvedAt: null,
    ackedBy: null,
    ackedAt: null,
    resets: 0,
    ...overrides,
  };
}

function record(receiver: string, event: NotificationEvent, status: NotificationRecord['status'], overrides: Partial<NotificationRecord> = {}): NotificationRecord {
  return { id: nextId++, key: `k${nextId}`, receiver, onBehalfOf: null, event, status, route: 0, deliveredAt: status === 'delivered' ? T0 : null, ...overrides };
}

describe('routing with continue', () => {
  const routes = [
    route({ match: { severity: 'critical' }, receivers: ['pager'], continue: true }),
    route({ match: { service: '/db|api/' }, receivers: ['ops'] }),
    route({ match: { service: 'web' }, receivers: ['web-team'] }),
    route({ receivers: ['catch-all'] }),
  ];
  it.each([
    [{ service: 'db', severity: 'critical' }, ['pager', 'ops']],
    [{ service: 'api', severity: 'warning' }, ['ops']],
    [{ service: 'web', severity: 'critical' }, ['pager', 'web-team']],
    [{ service: 'apis' }, ['catch-all']],
    [{}, ['catch-all']],
  ])('%j → %j', (labels, receivers) => {
    expect(routesFor(routes, labels).flatMap((matched) => matched.route.receivers)).toEqual(receivers);
  });
});

describe('muting', () => {
  const silence = { id: 3, matchers: { service: 'api' }, startsAt: T0, endsAt: T0 + HOUR, author: 'ana', comment: 'deploy', createdAt: T0 };
  const badRegex = { ...silence, id: 4, matchers: { team: '/(/' } };
  const window = { id: 7, title: 'DB upgrade', matchers: { service: 'db' }, startsAt: T0, endsAt: T0 + HOUR, author: 'ana', comment: '' };
  it.each([
    ['silence matches', [silenceMuter([silence])], { service: 'api' }, 'silence #3'],
    ['silence does not match', [silenceMuter([silence])], { service: 'web' }, undefined],
    ['a stored silence with a bad regex mutes nothing and does not throw', [silenceMuter([badRegex])], { team: 'x' }, undefined],
    ['maintenance in its window', [maintenanceMuter([window], T0 + MIN)], { service: 'db' }, 'maintenance #7'],
    ['maintenance before its window', [maintenanceMuter([window], T0 - MIN)], { service: 'db' }, undefined],
    ['maintenance after its end', [maintenanceMuter([window], T0 + HOUR)], { service: 'db' }, undefined],
    ['silence asked first', [silenceMuter([{ ...silence, matchers: { service: 'db' } }]), maintenanceMuter([window], T0)], { service: 'db' }, 'silence #3'],
  ])('%s', (_case, muters, labels, expected) => {
    expect(muteReason(muters, incident(labels))).toBe(expected);
  });

  const rule = { source: { service: 'db' }, target: { severity: 'warning' }, equal: ['site'] };
  it.each([
    ['source firing at the same site', { severity: 'warning', site: 'eu' }, [{ service: 'db', site: 'eu' }], true],
    ['source firing at another site', { severity: 'warning', site: 'eu' }, [{ service: 'db', site: 'us' }], false],
    ['equal label missing on both counts as equal', { severity: 'warning' }, [{ service: 'db' }], true],
    ['no source firing', { severity: 'warning', site: 'eu' }, [{ service: 'api', site: 'eu' }], false],
    ['not a target', { severity: 'critical', site: 'eu' }, [{ service: 'db', site: 'eu' }], false],
    ['the source itself is never inhibited by its rule', { service: 'db', severity: 'warning', site: 'eu' }, [{ service: 'db', site: 'eu' }], false],
  ])('inhibition with equal: %s', (_case, labels, firing, muted) => {
    const sources = firing.map((sourceLabels) => incident(sourceLabels));
    expect(inhibitionMuter([rule], sources).mutedBy(incident(labels)) !== undefined).toBe(muted);
  });

  it.each([
    ['inside business hours', T0, undefined],
    ['at night', Date.UTC(2026, 0, 5, 22, 0), "outside the route's active times"],
    ['on a Sunday', Date.UTC(2026, 0, 4, 12, 0), "outside the route's active times"],
  ])('active times: %s', (_case, at, expected) => {
    const business = route({ receivers: ['ops'], activeTimes: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00' }] });
    expect(activeTimesMuter(business, at).mutedBy(incident({}))).toBe(expected);
  });
});

describe('matchers an admin types', () => {
  it.each([
    [{ team: '/(/' }, false, /team: \/\(\/ is not a valid regular expression/],
    [{ team: '/.*/' }, false, /match alerts without those labels/],
    [{ team: '' }, false, /match alerts without those labels/],
    [{ team: '/.*/' }, true, undefined],
    [{ service: 'api', team: '/.*/' }, false, undefined],
    [{ service: '/api|web/' }, false, undefined],
    [{}, true, /at least one matcher/],
  ])('%j (force %s)', (matchers, force, problem) => {
    const problems = windowMatcherProblems(matchers, { force });
    if (problem) expect(problems.join('; ')).toMatch(problem);
    else expect(problems).toEqual([]);
  });

  it('compiles once and anchors', () => {
    const compiled = compileMatchers({ service: '/api|web/' });
    expect([compiled.test({ service: 'api' }), compiled.test({ service: 'apis' }), compiled.test({})]).toEqual([true, false, false]);
  });
});

describe('repeat schedule', () => {
  const growing = route({ receivers: ['ops'], repeatInterval: '1h', repeatFactor: 2, repeatMax: '6h' });
  it.each([
    [0, 0],
    [59 * MIN, 0],
    [HOUR, 1],
    [3 * HOUR - 1, 1],
    [3 * HOUR, 2],
    [7 * HOUR, 3],
    [13 * HOUR, 4],
    [19 * HOUR, 5],
  ])('after %i ms: %i reminders due', (elapsed, due) => {
    expect(repeatsDue(growing, T0, T0 + elapsed)).toBe(due);
  });
});

describe('escalation', () => {
  const after = HOUR;
  it.each([
    ['firing less than escalateAfter', incident({}, { firedAt: T0 }), T0 + after - 1, [], undefined],
    ['firing for escalateAfter', incident({}, { firedAt: T0 }), T0 + after, [], { reason: 'still down after 60 min', sequence: 0 }],
    ['a hook asks (budget spent)', incident({}, { firedAt: T0 }), T0 + MIN, [{ reason: 'fixer: 2 attempts did not fix it', sequence: 0 }], { reason: 'fixer: 2 attempts did not fix it', sequence: 0 }],
    ['already escalated, the same request', incident({}, { state: 'escalated' }), T0 + 2 * after, [{ reason: 'r', sequence: 0 }], undefined],
    ['escalated, the budget ran out again after a reset', incident({}, { state: 'escalated', resets: 1 }), T0 + MIN, [{ reason: 'r', sequence: 0 }, { reason: 'again', sequence: 1 }], { reason: 'again', sequence: 1 }],
    ['pending never escalates', incident({}, { state: 'pending', firedAt: null }), T0 + 2 * after, [{ reason: 'r', sequence: 0 }], undefined],
  ])('%s', (_case, subject, now, requests, expected) => {
    expect(escalation(subject, now, after, requests)).toEqual(expected);
  });
});

describe('flapping', () => {
  const config = { changes: 4, window: 10 * MIN };
  const run = (steps: Array<[number, boolean]>) => {
    let state: ReturnType<typeof nextSignalState> | undefined;
    return steps.map(([at, active]) => {
      state = nextSignalState(state, active, T0 + at, config);
      return state.flapping ? (state.settled ? 'settled' : 'flapping') : state.settled ? 'settled' : 'steady';
    });
  };
  it.each([
    ['one change is not flapping', [[0, true], [MIN, false]] as Array<[number, boolean]>, ['steady', 'steady']],
    [
      'four changes within the window flap',
      [[0, true], [MIN, false], [2 * MIN, true], [3 * MIN, false], [4 * MIN, true]] as Array<[number, boolean]>,
      ['steady', 'steady', 'steady', 'steady', 'flapping'],
    ],
    [
      'it settles once a whole window passes without a change',
      [[0, true], [MIN, false], [2 * MIN, true], [3 * MIN, false], [4 * MIN, true], [10 * MIN, true], [15 * MIN, true]] as Array<[number, boolean]>,
      ['steady', 'steady', 'steady', 'steady', 'flapping', 'flapping', 'settled'],
    ],
    ['changes spread wider than the window do not flap', [[0, true], [6 * MIN, false], [12 * MIN, true], [18 * MIN, false], [24 * MIN, true]] as Array<[number, boolean]>, ['steady', 'steady', 'steady', 'steady', 'steady']],
  ])('%s', (_case, steps, expected) => {
    expect(run(steps)).toEqual(expected);
  });
});

describe('what to send', () => {
  const ops = { index: 0, route: route({ receivers: ['ops'], fallback: 'spare', repeatInterval: '1h', repeatFactor: 1 }) };
  const base = (overrides: Partial<DecideInput>): DecideInput => ({
    incident: incident({ service: 'api' }),
    routes: [ops],
    accepts: () => true,
    history: [],
    mutedOn: () => undefined,
    openingDueAt: () => T0,
    now: T0,
    ...overrides,
  });
  const keys = (input: DecideInput) => decide(input).enqueue.map((planned) => `${planned.target.receiver}:${planned.event}${planned.mutedBy ? ` (muted: ${planned.mutedBy})` : ''}`);

  it.each([
    ['a WARNING goes to the route', base({ change: { event: 'warning' } }), ['ops:warning']],
    ['a WARNING while silenced is queued muted', base({ change: { event: 'warning' }, mutedOn: () => 'silence #1' }), ['ops:warning (muted: silence #1)']],
    ['UP after a delivered opening', base({ change: { event: 'up' }, history: [record('ops', 'warning', 'delivered')] }), ['ops:up']],
    ['UP while the opening is still on its way', base({ change: { event: 'up' }, history: [record('ops', 'warning', 'pending')] }), ['ops:up']],
    ['no UP after a muted opening', base({ change: { event: 'up' }, history: [record('ops', 'warning', 'muted')] }), []],
    ['no UP after no opening', base({ change: { event: 'up' } }), []],
    ['no UP while muted', base({ change: { event: 'up' }, history: [record('ops', 'warning', 'delivered')], mutedOn: () => 'maintenance #2' }), []],
    [
      'once the receiver failed for good, the fallback gets the rest of the story (UP)',
      base({ change: { event: 'up' }, history: [record('ops', 'warning', 'failed'), record('spare', 'warning', 'delivered', { onBehalfOf: 'ops' })] }),
      ['spare:up'],
    ],
    ['a receiver that does not act on the event gets nothing', base({ change: { event: 'up' }, history: [record('ops', 'warning', 'delivered')], accepts: (_receiver, event) => event !== 'up' }), []],
  ])('%s', (_case, input, expected) => {
    expect(keys(input)).toEqual(expected);
  });

  it.each([
    ['nothing due yet', base({ history: [record('ops', 'warning', 'delivered')], now: T0 + 59 * MIN }), []],
    ['a reminder an hour after the opening was delivered', base({ history: [record('ops', 'warning', 'delivered')], now: T0 + HOUR }), ['ops:repeat']],
    ['no reminder for an acknowledged incident', base({ incident: incident({}, { ackedAt: T0, ackedBy: 'ana' }), history: [record('ops', 'warning', 'delivered')], now: T0 + HOUR }), []],
    ['no reminder while flapping', base({ incident: incident({}, { flapping: true }), history: [record('ops', 'flapping', 'delivered')], now: T0 + HOUR }), []],
    ['no reminder after a muted opening', base({ history: [record('ops', 'warning', 'muted')], now: T0 + HOUR }), []],
    ['a RETRY per reset', base({ incident: incident({}, { resets: 2 }), now: T0 + MIN }), ['ops:retry']],
  ])('periodic look: %s', (_case, input, expected) => {
    expect(keys(input)).toEqual(expected);
  });

  it('keys are stable per incident, receiver, event and sequence (the outbox dedupes on them)', () => {
    const subject = incident({}, { resets: 2 });
    const [retry] = decide(base({ incident: subject, now: T0 + MIN })).enqueue;
    expect(retry!.key).toBe(`${subject.id}:ops:retry-2`);
    const [fallbackUp] = decide(base({ incident: subject, change: { event: 'up' }, history: [record('ops', 'warning', 'failed'), record('spare', 'warning', 'delivered', { onBehalfOf: 'ops' })] })).enqueue;
    expect(fallbackUp!.key).toBe(`${subject.id}:ops:up:fallback`);
  });

  it('releases muted notifications once their mute has ended, and keeps the others', () => {
    const muted = record('ops', 'warning', 'muted', { route: 0 });
    expect(decide(base({ history: [muted] })).release).toEqual([muted.id]);
    expect(decide(base({ history: [muted], mutedOn: () => 'silence #1' })).release).toEqual([]);
  });

  it.each([
    ['a delivery failure of ops goes to its fallback, never to ops itself', incident({ receiver: 'ops' }, { rule: DELIVERY_FAILED_RULE }), [], ['spare']],
    ['a delivery failure of another receiver goes to ops', incident({ receiver: 'chat' }, { rule: DELIVERY_FAILED_RULE }), [], ['ops']],
    ['a receiver that failed hands over to the fallback', incident({}), [record('ops', 'warning', 'failed')], ['spare']],
  ])('targets: %s', (_case, subject, history, receivers) => {
    expect(targetsFor(subject, [ops], history).map((target) => target.receiver)).toEqual(receivers);
  });

  it.each([
    ['delivered', [record('ops', 'warning', 'delivered')], 'send'],
    ['pending', [record('ops', 'warning', 'pending')], 'hold'],
    ['failed', [record('ops', 'warning', 'failed')], 'skip'],
    ['only another receiver', [record('chat', 'warning', 'delivered')], 'skip'],
  ])('UP follows an opening that was %s: %s', (_case, history, expected) => {
    expect(followUp(history, 'ops')).toBe(expected);
  });
});

describe('own dead lease', () => {
  const alive = (pid: number) => pid === 200;
  it.each([
    ['same instance, pid gone: ours, dead', 'host/inst#100', 'host/inst', 'host/inst#100'],
    ['same instance, pid alive: another live process', 'host/inst#200', 'host/inst', undefined],
    ['another instance', 'other/inst#100', 'host/inst', undefined],
    ['a named holder', 'node-a', 'host/inst', undefined],
    ['no holder', undefined, 'host/inst', undefined],
  ])('%s', (_case, holder, instance, expected) => {
    expect(deadPredecessor(holder, instance, alive)).toBe(expected);
  });
});
