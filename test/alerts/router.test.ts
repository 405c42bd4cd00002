import { afterEach, expect, it } from 'vitest';
import { ackIncident, addMaintenance, addSilence, endMaintenance, expireSilence, listIncidents } from '../../alerts/admin.ts';
import { describeEachBackend } from '../support/backends.ts';
import { startAlertHarness, storeAndSmtpPerTest } from './support.ts';

const rule = (name: string, labels: Record<string, string>) => ({ name, kind: 'probe', probe: name, labels });
const RULES = [
  rule('db-down', { service: 'db', severity: 'critical', site: 'eu' }),
  rule('api-errors', { service: 'api', severity: 'warning', site: 'eu' }),
  rule('web-errors', { service: 'web', severity: 'warning', site: 'us' }),
];
const LABELS: Record<string, Record<string, string>> = Object.fromEntries(RULES.map((r) => [r.name, r.labels]));
const RECEIVERS = { ops: { type: 'email', to: ['ops@example.com'] }, oncall: { type: 'email', to: ['oncall@example.com'] } };

describeEachBackend('alert routing', (backend) => {
  const perTest = storeAndSmtpPerTest(backend);
  let stop: (() => Promise<void>) | undefined;


  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  const harness = async (alerts: Record<string, unknown>) => {
    const h = await startAlertHarness(perTest.store, {
      alerts: { evaluationInterval: '10s', rules: RULES, receivers: RECEIVERS, routes: [{ receivers: ['ops'] }], outbox: { pollInterval: '10s' }, ...alerts },
      smtp: { url: perTest.smtp.url },
    });
    stop = h.stop;
    const set = (name: string, active: boolean) => h.observe(name, active, LABELS[name], `${name} ${active ? 'failing' : 'ok'}`);
    return Object.assign(h, { set, fail: (...names: string[]) => names.forEach((name) => set(name, true)) });
  };
  const subjects = (to?: string) => perTest.smtp.mails.filter((mail) => !to || mail.to === to).map((mail) => mail.subject.replace(/ — .*$/, ''));

  it('routes in order: first match wins, `continue` goes on to the next', async () => {
    const h = await harness({
      routes: [
        { match: { severity: 'critical' }, receivers: ['oncall'], continue: true },
        { match: { service: '/db|api/' }, receivers: ['ops'] },
        { match: { service: 'web' }, receivers: ['oncall'] },
      ],
    });
    h.fail('db-down', 'api-errors', 'web-errors');
    await h.run(10_000);
    expect(subjects('oncall@example.com').sort()).toEqual(['[CRITICAL] FIRING db: db-down failing', '[WARNING] FIRING web: web-errors failing']);
    expect(subjects('ops@example.com').sort()).toEqual(['[CRITICAL] FIRING db: db-down failing', '[WARNING] FIRING api: api-errors failing']);
  });

  it('a silence mutes what it matches and nothing else; once expired, the still-firing incident is announced', async () => {
    const h = await harness({});
    const silence = await addSilence(h.db, { matchers: { service: 'api' }, startsAt: h.clock.now(), endsAt: h.clock.now() + 3_600_000, author: 'ana', comment: 'deploying' }, h.clock.now());
    h.fail('api-errors', 'web-errors');
    await h.run(20_000);
    expect(subjects()).toEqual(['[WARNING] FIRING web: web-errors failing']);
    expect((await h.notifications()).find((row) => row.key.startsWith('1:'))?.muted_by).toBe(`silence #${silence.id}`);
    await expireSilence(h.db, silence.id, 'ana', h.clock.now());
    await h.run(20_000);
    expect(subjects()).toEqual(['[WARNING] FIRING web: web-errors failing', '[WARNING] FIRING api: api-errors failing']);
    expect(subjects()).toHaveLength(2);
  });

  it('a maintenance window mutes its services and nothing else, and no UP follows a muted opening', async () => {
    const h = await harness({});
    const maintenance = await addMaintenance(h.db, { title: 'DB upgrade', matchers: { service: 'db' }, startsAt: h.clock.now(), endsAt: h.clock.now() + 7_200_000, author: 'ana', comment: '' }, h.clock.now());
    h.fail('db-down', 'web-errors');
    await h.run(20_000);
    expect(subjects()).toEqual(['[WARNING] FIRING web: web-errors failing']);
    h.set('db-down', false);
    await h.run(20_000);
    await endMaintenance(h.db, maintenance.id, 'ana', h.clock.now());
    await h.run(20_000);
    expect(subjects()).toEqual(['[WARNING] FIRING web: web-errors failing']);
  });

  it('inhibition: the database being down hides the failures that follow from it at the same site only', async () => {
    const h = await harness({ inhibit: [{ source: { service: 'db' }, target: { severity: 'warning' }, equal: ['site'] }] });
    h.fail('db-down');
    await h.run(10_000);
    h.fail('api-errors', 'web-errors');
    await h.run(20_000);
    expect(subjects().sort()).toEqual(['[CRITICAL] FIRING db: db-down failing', '[WARNING] FIRING web: web-errors failing']);
    const api = (await h.notifications()).find((row) => row.status === 'muted');
    expect(api?.muted_by).toMatch(/^inhibited by incident #\d+$/);
  });

  it('flapping: after too many changes one notice, then quiet until it settles, then UP', async () => {
    const h = await harness({ flapping: { changes: 4, window: '10m' } });
    for (let flip = 0; flip < 12; flip++) {
      h.set('api-errors', flip % 2 === 0);
      await h.run(30_000, 10_000);
    }
    const atDetection = subjects();
    expect(atDetection.filter((subject) => subject.startsWith('[WARNING] FLAPPING'))).toEqual(['[WARNING] FLAPPING api: api-errors failing']);
    expect(atDetection.at(-1)).toBe('[WARNING] FLAPPING api: api-errors failing');
    expect((await listIncidents(h.db)).map((incident) => incident.flapping)).toEqual([true]);
    h.set('api-errors', false);
    await h.run(9 * 60_000, 60_000);
    expect(subjects()).toEqual(atDetection);
    await h.run(3 * 60_000, 60_000);
    expect(subjects()).toEqual([...atDetection, expect.stringMatching(/^\[RESOLVED\] api: api-errors back up after \d/)]);
  });

  it('repeats while firing at growing intervals; escalates to EMERGENCY; an acknowledged incident stops repeating', async () => {
    // Evaluated each minute: hours of reminders need no finer steps.
    const h = await harness({ evaluationInterval: '1m', outbox: { pollInterval: '1m' }, escalateAfter: '330m', routes: [{ receivers: ['ops'], repeatInterval: '1h', repeatFactor: 2, repeatMax: '3h' }] });
    h.fail('api-errors');
    await h.run(60_000, 10_000);
    await h.run(5 * 3_600_000, 300_000);
    // Reminders at 1 h and 3 h (2 h later); the next would be 3 h later (capped); EMERGENCY at 5 h 30.
    expect(subjects()).toEqual(['[WARNING] FIRING api: api-errors failing', '[WARNING] STILL FIRING api: api-errors failing', '[WARNING] STILL FIRING api: api-errors failing']);
    await h.run(1_800_000, 300_000);
    await h.run(60_000, 10_000);
    expect(subjects().at(-1)).toBe('[WARNING] EMERGENCY api: api-errors failing (still down after 330 min)');
    const [incident] = await listIncidents(h.db);
    expect(incident!.state).toBe('escalated');
    await ackIncident(h.db, incident!.id, 'ana', h.clock.now());
    const before = subjects().length;
    // Past repeatMax (3 h): a reminder would have been due.
    await h.run(4 * 3_600_000, 1_800_000);
    expect(subjects()).toHaveLength(before);
  });

  it('groups incidents with equal group labels that fire within the group wait into one message', async () => {
    const h = await harness({ routes: [{ receivers: ['ops'], groupBy: ['site'], groupWait: '30s' }] });
    h.fail('db-down');
    await h.run(10_000);
    h.fail('api-errors', 'web-errors');
    await h.run(40_000);
    expect(subjects().sort()).toEqual(['[CRITICAL] FIRING db: db-down failing (+1 more)', '[WARNING] FIRING web: web-errors failing']);
    const eu = perTest.smtp.mails.find((mail) => mail.subject.includes('db-down'))!;
    expect(eu.text).toContain('api-errors failing');
  });

  it('a route with active times mutes outside them', async () => {
    // The fake clock starts at 2026-01-01T00:00Z, a Thursday.
    // Evaluated each minute: the eight muted hours need no finer steps (08:00 is on the minute).
    const h = await harness({ evaluationInterval: '1m', outbox: { pollInterval: '1m' }, routes: [{ receivers: ['ops'], activeTimes: [{ days: ['thu'], from: '08:00', to: '18:00' }] }] });
    h.fail('api-errors');
    await h.run(60_000, 10_000);
    expect(subjects()).toEqual([]);
    // Coarse steps until just before 08:00, then fine ones: a coarse step fires several passes back to back, and on
    // a slow store the 08:00 one can find the 07:59 one still running and skip.
    await h.run(8 * 3_600_000 - 600_000, 600_000);
    await h.run(620_000, 10_000);
    expect(subjects()).toEqual(['[WARNING] FIRING api: api-errors failing (still down after 60 min)', '[WARNING] EMERGENCY api: api-errors failing (still down after 60 min)']);
  });
});
