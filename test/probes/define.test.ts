import { describe, expect, it } from 'vitest';
import { browser, http, heartbeat, postgres, resources, tcp } from '../../app/index.ts';
import { describeSchedule } from '../../probes/define.ts';
import { loadProbes } from '../../probes/loader.ts';
import { hash, timetable } from '../../probes/schedule.ts';

const THIS_FILE = new URL(import.meta.url).pathname;

describe('probe definitions', () => {
  it('apply the common defaults and keep kind options apart', () => {
    const definition = http({ name: 'api', url: 'http://127.0.0.1:8080/readyz', labels: { component: 'api', severity: 'critical', environment: 'production' } });
    expect(definition.valid).toBe(true);
    if (!definition.valid) return;
    expect(definition).toMatchObject({ kind: 'http', name: 'api', schedule: { every: 60_000 }, timeout: 10_000, retries: 0, failureThreshold: 1, successThreshold: 1, quorum: 1 });
    expect(definition.options).toMatchObject({ url: 'http://127.0.0.1:8080/readyz', method: 'GET' });
    expect(definition.source).toMatch(new RegExp(`${THIS_FILE}:\\d+$`));
  });

  it('report a bad field with the file, line and field path instead of throwing', () => {
    const line = Number(new Error().stack!.split('\n')[1]!.match(/:(\d+):\d+\)?$/)![1]) + 1;
    const definition = http({ name: 'bad', url: 'not a url', expect: { status: 999 } } as never);
    expect(definition.valid).toBe(false);
    if (definition.valid) return;
    expect(definition.source).toBe(`${THIS_FILE}:${line}`);
    expect(definition.issues.join('\n')).toMatch(/^url: /m);
    expect(definition.issues.join('\n')).toMatch(/^expect\.status: /m);
  });

  it('reject unknown fields, bad schedules, bad labels and a quorum above the locations', () => {
    const issues = (definition: ReturnType<typeof tcp>) => (definition.valid ? [] : definition.issues).join('\n');
    expect(issues(tcp({ name: 'x', host: 'h', port: 1, colour: 'red' } as never))).toMatch(/colour: unknown key/);
    expect(issues(tcp({ name: 'x', host: 'h', port: 1, schedule: '5 apples' }))).toMatch(/^schedule: "5 apples" is neither an interval/m);
    expect(issues(tcp({ name: 'x', host: 'h', port: 1, schedule: '500ms' }))).toMatch(/at least 1s/);
    expect(issues(tcp({ name: 'x', host: 'h', port: 1, labels: { severity: 'meh' } }))).toMatch(/labels\.severity: severity must be/);
    expect(issues(tcp({ name: 'x', host: 'h', port: 1, locations: ['eu'], quorum: 2 }))).toMatch(/quorum: 2 is more than the 1 location/);
    expect(issues(tcp({ name: 'has space', host: 'h', port: 1 }))).toMatch(/^name: /m);
  });

  it('accept cron schedules and describe them', () => {
    const definition = resources({ name: 'r', schedule: '*/5 * * * *' });
    expect(definition.valid && describeSchedule(definition.schedule)).toBe('cron */5 * * * *');
  });

  it('load valid definitions and report the invalid, foreign and duplicate ones', () => {
    const first = http({ name: 'same', url: 'http://127.0.0.1/' });
    const { probes, problems } = loadProbes([first, tcp({ name: 'same', host: 'h', port: 1 }), http({ name: 'broken', url: 'nope' }), { name: 'plain object' }, tcp({ name: 'ok', host: 'h', port: 2 })]);
    expect(probes.map((probe) => probe.definition.name)).toEqual(['same', 'ok']);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/tcp probe "same": name: duplicate probe name, already defined at .*define\.test\.ts:\d+/);
    expect(problems[1]).toMatch(/define\.test\.ts:\d+: http probe "broken": url: /);
    expect(problems[2]).toMatch(/^probes\[3\]: not a probe definition/);
  });

  it('name the mistake instead of "Invalid input": a URL without scheme, a union branch, a duration without unit', () => {
    const issues = (definition: { valid: boolean; issues?: string[] }) => (definition.valid ? [] : definition.issues!).join('\n');
    expect(issues(http({ name: 'x', url: '127.0.0.1/health' }))).toBe('url: "127.0.0.1/health" is not a URL: write it with its scheme (http://127.0.0.1/health) or as a path like /readyz on this Vigil');
    expect(issues(http({ name: 'x', url: 'ftp://host/file' }))).toBe('url: "ftp://host/file" uses ftp; an http probe takes an http:// or https:// URL');
    expect(issues(browser({ name: 'x', url: 'http://127.0.0.1/', steps: [{ fill: '#name' } as never] }))).toBe('steps.0.value: Invalid input: expected string, received undefined');
    expect(issues(http({ name: 'x', url: 'http://127.0.0.1/', timeout: 5 as never }))).toBe('timeout: 5 has no unit; write 5s or 5ms');
    expect(issues(http({ name: 'x', url: 'http://127.0.0.1/', timeout: '0s' }))).toBe('timeout: must be at least 100ms, got 0s');
  });

  it('skip a definition that throws while it is built, naming its file and line, and run the rest', () => {
    const line = Number(new Error().stack!.split('\n')[1]!.match(/:(\d+):\d+\)?$/)![1]) + 4;
    const helper = (): never => {
      throw new Error('API_URL is not set');
    };
    const { probes, problems } = loadProbes([() => http({ name: 'computed', url: helper() }), () => http({ name: 'fine', url: 'http://127.0.0.1/' })]);
    expect(probes.map((probe) => probe.definition.name)).toEqual(['fine']);
    expect(problems).toEqual([`${THIS_FILE}:${line}: probes[0] threw while it was built (at ${THIS_FILE}:${line - 2}): API_URL is not set`]);
  });

  it('flag a heartbeat token used twice and a run that can outlast its interval', () => {
    const { probes, problems, warnings } = loadProbes([
      heartbeat({ name: 'backup', token: 'tok_abcdefghijklmnop', period: '1d' }),
      heartbeat({ name: 'backup-copy', token: 'tok_abcdefghijklmnop', period: '1d' }),
      http({ name: 'slow', url: 'http://127.0.0.1/', schedule: '10s', timeout: '5s', retries: 1, retryDelay: '1s' }),
    ]);
    expect(probes.map((probe) => probe.definition.name)).toEqual(['backup', 'slow']);
    expect(problems).toEqual([expect.stringMatching(/heartbeat probe "backup-copy": token: the same token as heartbeat probe "backup"; each heartbeat needs its own$/)]);
    expect(warnings).toEqual([expect.stringMatching(/http probe "slow": a run can take 11s \(timeout × attempts \+ retry delays\), longer than its every 10s; slots that come while it runs are skipped$/)]);
  });

  it('never show secrets when a definition is printed', () => {
    const definition = postgres({ name: 'db', url: 'postgres://vigil:hunter2-secret@127.0.0.1:5432/app' });
    const beat = heartbeat({ name: 'nightly', token: 'tok_abcdefghijklmnop', period: '1d' });
    expect(JSON.stringify(definition)).not.toContain('hunter2-secret');
    expect(JSON.stringify(beat)).not.toContain('tok_abcdefghijklmnop');
  });
});

describe('timetables', () => {
  it('place interval slots at a per-name offset that every agent computes alike', () => {
    const a = timetable('probe-a', { every: 60_000 });
    const again = timetable('probe-a', { every: 60_000 });
    const start = Date.UTC(2026, 0, 1);
    const slot = a.next(start);
    expect(slot).toBe(again.next(start));
    expect(slot - start).toBe(hash('probe-a') % 60_000);
    expect(a.next(slot)).toBe(slot + 60_000);
  });

  it('spread many probes of one interval across it', () => {
    const start = Date.UTC(2026, 0, 1);
    const offsets = Array.from({ length: 1000 }, (_, i) => timetable(`p${i}`, { every: 60_000 }).next(start) - start);
    const perTenSeconds = Array.from({ length: 6 }, (_, bucket) => offsets.filter((offset) => Math.floor(offset / 10_000) === bucket).length);
    for (const count of perTenSeconds) expect(count).toBeGreaterThan(120);
  });

  it('bound the offset by the jitter given', () => {
    const start = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 50; i++) expect(timetable(`j${i}`, { every: 60_000 }, 1000).next(start) - start).toBeLessThan(1000);
  });

  it('follow cron expressions in UTC with a jitter under the gap between runs', () => {
    const weekdays = timetable('report', { cron: '0 9 * * 1-5' }, 0);
    const saturday = Date.UTC(2026, 0, 3, 12);
    expect(new Date(weekdays.next(saturday)).toISOString()).toBe('2026-01-05T09:00:00.000Z');
    const everyTenSeconds = timetable('fast', { cron: '*/10 * * * * *' });
    const first = everyTenSeconds.next(saturday);
    expect(first - saturday).toBeLessThan(20_000);
    expect(everyTenSeconds.next(first)).toBe(first + 10_000);
  });
});
