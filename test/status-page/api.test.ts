import { readFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { listMaintenances } from '../../alerts/index.ts';
import { FakeClock, HOUR } from '../../core/clock.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { recordAlertNotice } from '../../status-page/notices.ts';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { waitFor } from '../support/wait.ts';
import { admin, getJson, probesNamed, seedUptime, startStatusVigil } from './support.ts';

const FIXTURE = JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures/statuspage/summary.json'), 'utf8')) as Record<string, unknown>;
const START = Date.UTC(2026, 10, 21, 12, 0);

const PROBES = ['p-api', 'p-upload', 'p-proc-a', 'p-proc-b', 'p-infra'];
const COMPONENTS = async () => {
  const { component } = await import('../../app/index.ts');
  return [
    component({ name: 'Website and API', description: 'Sign-in and browsing', from: { probes: ['p-api'] } }),
    component({ name: 'Video uploads', group: 'Video', from: { probes: ['p-upload'] } }),
    component({ name: 'Video processing', group: 'Video', from: { probes: ['p-proc-a', 'p-proc-b'], rules: ['proc-rule'] }, quorum: 2 }),
    component({ name: 'Infrastructure', show: 'if-degraded', from: { probes: ['p-infra'] } }),
  ];
};

type Json = Record<string, unknown>;

/** Same field names as the recorded Statuspage object (extras only where listed), same value types, recursively. */
function expectShape(actual: unknown, recorded: unknown, where: string, extras: readonly string[] = []): void {
  if (recorded === null || actual === null) return;
  if (Array.isArray(recorded)) {
    expect(Array.isArray(actual), `${where} is an array`).toBe(true);
    for (const [index, item] of (actual as unknown[]).entries()) {
      const model = (recorded as Json[]).find((candidate) => typeof candidate !== 'object' || !('group' in (candidate as Json)) || (candidate as Json).group === (item as Json).group) ?? recorded[0];
      expectShape(item, model, `${where}[${index}]`, extras);
    }
    return;
  }
  if (typeof recorded === 'object') {
    const keys = Object.keys(actual as Json);
    expect(keys.filter((key) => !extras.includes(key) || key in (recorded as Json)).sort(), `${where} fields`).toEqual(Object.keys(recorded as Json).sort());
    for (const key of Object.keys(recorded as Json)) expectShape((actual as Json)[key], (recorded as Json)[key], `${where}.${key}`, extras);
    return;
  }
  expect(typeof actual, `${where} type`).toBe(typeof recorded);
  if (typeof recorded === 'string' && /^\d{4}-\d\d-\d\dT/.test(recorded)) expect(Number.isNaN(Date.parse(actual as string)), `${where} is a date`).toBe(false);
}

const text = (value: unknown) => (typeof value === 'object' && value !== null ? (value as Json)['#text'] : value);

const ENUMS = {
  componentStatus: ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'],
  incidentStatus: ['investigating', 'identified', 'monitoring', 'resolved', 'postmortem'],
  maintenanceStatus: ['scheduled', 'in_progress', 'verifying', 'completed', 'cancelled'],
  impact: ['none', 'minor', 'major', 'critical', 'maintenance'],
  indicator: ['none', 'minor', 'major', 'critical', 'maintenance'],
};

describeEachBackend('status page: API, pages, feeds, badges', (backend) => {
  let store: TestStore;
  let clock: FakeClock;
  let vigil: Vigil | undefined;

  beforeEach(async () => {
    store = await backend.createStore();
    clock = new FakeClock(START);
  });

  afterEach(async () => {
    await vigil?.stop();
    vigil = undefined;
    await store.cleanup();
  });

  const start = async (statusPage: Record<string, unknown> = {}) => {
    vigil = await startStatusVigil(store, {
      clock,
      probes: probesNamed(PROBES),
      alerts: { rules: [{ kind: 'probe', name: 'proc-rule', probe: 'p-proc-a', labels: { severity: 'critical' } }] },
      statusPage: { components: await COMPONENTS(), verifyFor: '30m', ...statusPage },
    });
    // The first render happens before the port is known; the one after listening has the page's real URL.
    await waitFor('the render with the listening address', async () => ((await getJson(vigil!, '/api/v2/status.json').catch(() => undefined))?.page as Json | undefined)?.url === vigil!.url);
    return vigil;
  };

  /** Moves the clock past a refresh, waits until that refresh is done (the admin refresh queues behind it) and reads the summary. */
  const refreshed = async (): Promise<Json> => {
    await clock.advance(5000);
    await admin(vigil!, 'POST', '/refresh');
    return getJson(vigil!, '/api/v2/summary.json');
  };
  /** For tests that jump the clock by hours: a refresh interval of a day would otherwise fire for every 5 s skipped. */
  const refreshNow = async (): Promise<Json> => {
    await admin(vigil!, 'POST', '/refresh');
    return getJson(vigil!, '/api/v2/summary.json');
  };
  const componentStatus = (summary: Json, id: string) => (summary.components as Json[]).find((c) => c.id === id)!.status;

  it('serves the eight Statuspage v2 paths with the recorded field names, shapes and enums', async () => {
    await start();
    const opened = await admin(vigil!, 'POST', '/incidents', { name: 'Uploads fail', body: 'We are looking into **failed uploads**.', components: { 'video-uploads': 'major_outage' } });
    expect(opened.status).toBe(201);
    const maintenance = await admin(vigil!, 'POST', '/maintenances', {
      title: 'Database upgrade',
      body: 'Uploads pause for the upgrade.',
      components: ['website-and-api'],
      startsAt: new Date(START + 2 * HOUR).toISOString(),
      duration: '90m',
      timeZone: 'Europe/Paris',
      author: 'ops',
    });
    expect(maintenance.status).toBe(201);

    const summary = await getJson(vigil!, '/api/v2/summary.json');
    expect(Object.keys(summary)).toEqual(['page', 'components', 'incidents', 'scheduled_maintenances', 'status']);
    expectShape(summary, FIXTURE, 'summary', ['postmortem_body', 'time_zone']);
    expect(summary.status).toEqual({ indicator: 'critical', description: 'Major System Outage' });
    const components = summary.components as Json[];
    expect(components.map((c) => `${c.id}:${c.status}:${c.group}:${c.group_id}`)).toEqual([
      'website-and-api:operational:false:null',
      'group-video:major_outage:true:null',
      'video-uploads:major_outage:false:group-video',
      'video-processing:operational:false:group-video',
      'infrastructure:operational:false:null',
    ]);
    expect(components.find((c) => c.id === 'group-video')!.components).toEqual(['video-uploads', 'video-processing']);
    expect(components.find((c) => c.id === 'infrastructure')!.only_show_if_degraded).toBe(true);
    for (const c of components) expect(ENUMS.componentStatus).toContain(c.status);

    const [incident] = summary.incidents as Json[];
    expect(incident).toMatchObject({ name: 'Uploads fail', status: 'investigating', impact: 'critical', monitoring_at: null, resolved_at: null, shortlink: `${vigil!.url}/incidents/${incident!.id}` });
    expect((incident!.incident_updates as Json[])[0]).toMatchObject({ status: 'investigating', body: 'We are looking into **failed uploads**.', affected_components: [{ code: 'video-uploads', name: 'Video uploads', old_status: 'operational', new_status: 'major_outage' }] });

    const [scheduled] = summary.scheduled_maintenances as Json[];
    expect(scheduled).toMatchObject({ name: 'Database upgrade', status: 'scheduled', impact: 'maintenance', scheduled_for: new Date(START + 2 * HOUR).toISOString(), scheduled_until: new Date(START + 3.5 * HOUR).toISOString() });
    expect(ENUMS.maintenanceStatus).toContain(scheduled!.status);

    const page = summary.page as Json;
    expect(Object.keys(page)).toEqual(['id', 'name', 'url', 'time_zone', 'updated_at']);
    const expectTop: Record<string, string[]> = {
      '/api/v2/status.json': ['page', 'status'],
      '/api/v2/components.json': ['page', 'components'],
      '/api/v2/incidents.json': ['page', 'incidents'],
      '/api/v2/incidents/unresolved.json': ['page', 'incidents'],
      '/api/v2/scheduled-maintenances.json': ['page', 'scheduled_maintenances'],
      '/api/v2/scheduled-maintenances/upcoming.json': ['page', 'scheduled_maintenances'],
      '/api/v2/scheduled-maintenances/active.json': ['page', 'scheduled_maintenances'],
    };
    for (const [route, keys] of Object.entries(expectTop)) {
      const document = await getJson(vigil!, route);
      expect(Object.keys(document), route).toEqual(keys);
      expect(document.page, route).toEqual(page);
      for (const key of keys.slice(1)) expectShape(document[key], FIXTURE[key === 'scheduled_maintenances' ? 'scheduled_maintenances' : key], `${route}.${key}`, ['postmortem_body', 'time_zone']);
    }
    expect(((await getJson(vigil!, '/api/v2/scheduled-maintenances/upcoming.json')).scheduled_maintenances as Json[]).map((m) => m.name)).toEqual(['Database upgrade']);
    expect((await getJson(vigil!, '/api/v2/scheduled-maintenances/active.json')).scheduled_maintenances).toEqual([]);
    expect(((await getJson(vigil!, '/api/v2/incidents/unresolved.json')).incidents as Json[]).map((i) => i.name)).toEqual(['Uploads fail']);
  });

  it('answers with ETag/304, the cache policy, open CORS for GET and gzip; public paths are read-only', async () => {
    await start();
    for (const route of ['/api/v2/summary.json', '/', '/history.atom', '/badge.svg']) {
      const first = await fetch(`${vigil!.url}${route}`);
      expect(first.status, route).toBe(200);
      const etag = first.headers.get('etag')!;
      expect(etag, route).toMatch(/^"[\w-]{22}"$/);
      const again = await fetch(`${vigil!.url}${route}`, { headers: { 'if-none-match': etag } });
      expect(again.status, route).toBe(304);
    }
    const json = await fetch(`${vigil!.url}/api/v2/summary.json`, { headers: { origin: 'https://elsewhere.example' } });
    expect(json.headers.get('cache-control')).toBe('public, max-age=30, stale-while-revalidate=60, stale-if-error=86400');
    expect(json.headers.get('access-control-allow-origin')).toBe('*');
    expect(json.headers.get('content-encoding')).toBe('gzip');
    const page = await fetch(`${vigil!.url}/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const write = await fetch(`${vigil!.url}/api/v2/summary.json`, method === 'DELETE' ? { method } : { method, body: '{}', headers: { 'content-type': 'application/json' } });
      expect(write.status, method).toBe(404);
    }
    expect((await fetch(`${vigil!.url}/admin/api/v1/status/incidents`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
  });

  it('answers before routing exactly as the route does (a GET announcing a body takes the route)', async () => {
    await start();
    const kept = ['etag', 'content-type', 'content-length', 'content-encoding', 'cache-control', 'content-security-policy', 'access-control-allow-origin', 'vary', 'x-frame-options'];
    const answer = async (route: string, headers: Record<string, string>) => {
      const response = await fetch(`${vigil!.url}${route}`, { headers });
      return { status: response.status, headers: Object.fromEntries(kept.map((name) => [name, response.headers.get(name)])), body: Buffer.from(await response.arrayBuffer()).toString('base64') };
    };
    for (const route of ['/', '/api/v2/summary.json', '/history?page=2', '/badge.svg', '/components/video-uploads/history.atom']) {
      for (const encoding of ['gzip', 'identity']) {
        const fast = await answer(route, { 'accept-encoding': encoding });
        const routed = await answer(route, { 'accept-encoding': encoding, 'content-length': '0' });
        expect(fast.status, route).toBe(200);
        expect(fast, `${route} ${encoding}`).toEqual(routed);
        const notModified = await answer(route, { 'if-none-match': fast.headers.etag! });
        expect(notModified.status, route).toBe(304);
        expect(notModified).toEqual(await answer(route, { 'if-none-match': fast.headers.etag!, 'content-length': '0' }));
      }
    }
    const head = await fetch(`${vigil!.url}/api/v2/summary.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('renders from a cache rebuilt when the data changes, not per request', async () => {
    await start();
    const before = await fetch(`${vigil!.url}/`).then((r) => r.headers.get('etag'));
    for (let i = 0; i < 30; i++) await fetch(`${vigil!.url}/api/v2/summary.json`).then((r) => r.arrayBuffer());
    await clock.advance(5000);
    await clock.advance(5000);
    expect(await fetch(`${vigil!.url}/`).then((r) => r.headers.get('etag'))).toBe(before);
    await admin(vigil!, 'POST', '/incidents', { name: 'Slow pages', body: 'Pages load slowly.', components: { 'website-and-api': 'degraded_performance' } });
    expect(await fetch(`${vigil!.url}/`).then((r) => r.headers.get('etag'))).not.toBe(before);
  });

  it('computes component states from probe quorum, firing alerts, incidents, maintenance and overrides', async () => {
    await start();
    const now = clock.now();
    const fail = (probe: string) => seedUptime(vigil!.db, probe, { days: 1, now, checks: 1, failures: () => 1 });
    await fail('p-proc-a');
    let summary = await refreshed();
    expect(componentStatus(summary, 'video-processing')).toBe('partial_outage');
    expect(summary.status).toMatchObject({ indicator: 'major' });
    await fail('p-proc-b');
    summary = await refreshed();
    expect(componentStatus(summary, 'video-processing')).toBe('major_outage');
    expect(summary.status).toMatchObject({ indicator: 'critical' });
    await fail('p-infra');
    expect(componentStatus(await refreshed(), 'infrastructure')).toBe('major_outage');
    const html = await fetch(`${vigil!.url}/`).then((r) => r.text());
    expect(html).toContain('Infrastructure');

    const override = await admin(vigil!, 'PUT', '/components/video-processing/override', { status: 'degraded_performance' });
    expect(override.status).toBe(200);
    summary = await getJson(vigil!, '/api/v2/summary.json');
    expect((summary.components as Json[]).find((c) => c.id === 'video-processing')!.status).toBe('degraded_performance');
    await admin(vigil!, 'PUT', '/components/video-processing/override', { status: null });
    expect(((await getJson(vigil!, '/api/v2/components.json')).components as Json[]).find((c) => c.id === 'video-processing')!.status).toBe('major_outage');
    expect((await admin(vigil!, 'PUT', '/components/nope/override', { status: 'operational' })).status).toBe(404);
  });

  it('runs a maintenance on the clock: scheduled, in progress (components under maintenance, alerts muted), verifying, completed; cancels one', async () => {
    await start({ refresh: '1d' });
    const created = await admin(vigil!, 'POST', '/maintenances', {
      title: 'Storage move',
      body: 'Uploads are paused while we move storage.',
      components: ['video-uploads'],
      startsAt: START + HOUR,
      duration: '1h',
      timeZone: 'Europe/Paris',
      author: 'ops',
    });
    const id = (created.json.maintenance as { id: number }).id;
    const other = await admin(vigil!, 'POST', '/maintenances', { title: 'Never mind', components: ['website-and-api'], startsAt: START + 5 * HOUR, duration: '1h', author: 'ops' });
    const otherId = (other.json.maintenance as { id: number }).id;
    const statusOf = (s: Json, name: string) => (s.scheduled_maintenances as Json[]).find((m) => m.name === name)?.status;

    let html = await fetch(`${vigil!.url}/`).then((r) => r.text());
    expect(html).toContain('Storage move');
    expect(html).toContain('from 14:00 till 15:00 CET (UTC+1)');
    expect((await admin(vigil!, 'POST', `/maintenances/${otherId}/end`, { author: 'ops' })).json.outcome).toBe('cancelled');
    const cancelled = ((await getJson(vigil!, '/api/v2/scheduled-maintenances.json')).scheduled_maintenances as Json[]).find((m) => m.name === 'Never mind')!;
    expect(cancelled.status).toBe('cancelled');

    clock.set(START + HOUR);
    const active = await refreshNow();
    expect(statusOf(active, 'Storage move')).toBe('in_progress');
    expect(componentStatus(active, 'video-uploads')).toBe('under_maintenance');
    expect(active.status).toMatchObject({ indicator: 'maintenance' });
    const windows = await listMaintenances(vigil!.db, { from: clock.now(), to: clock.now() });
    expect(windows.map((w) => [w.id, w.matchers])).toEqual([[id, { probe: '/p-upload/' }]]);
    html = await fetch(`${vigil!.url}/`).then((r) => r.text());
    expect(html).toContain('Under Maintenance');

    clock.set(START + 2 * HOUR);
    const verifying = await refreshNow();
    expect(statusOf(verifying, 'Storage move')).toBe('verifying');
    expect(componentStatus(verifying, 'video-uploads')).toBe('operational');
    clock.set(START + 2.5 * HOUR);
    expect(statusOf(await refreshNow(), 'Storage move')).toBeUndefined();
    const all = (await getJson(vigil!, '/api/v2/scheduled-maintenances.json')).scheduled_maintenances as Json[];
    const done = all.find((m) => m.name === 'Storage move')!;
    expect(done.status).toBe('completed');
    expect((done.incident_updates as Json[]).map((u) => u.status)).toEqual(['completed', 'verifying', 'in_progress', 'scheduled']);
  });

  it('runs the admin incident lifecycle and refuses bad input with a message naming it', async () => {
    await start();
    const bad = await admin(vigil!, 'POST', '/incidents', { name: 'x', body: 'y', components: { nope: 'major_outage' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('no component with id \\"nope\\"');
    const badStatus = await admin(vigil!, 'POST', '/incidents', { name: 'x', body: 'y', components: { 'video-uploads': 'on_fire' } });
    expect(badStatus.status).toBe(400);
    expect(JSON.stringify(badStatus.json)).toContain('components.video-uploads');

    const opened = await admin(vigil!, 'POST', '/incidents', { name: 'Player errors', body: 'Some videos do not play.', components: { 'video-processing': 'partial_outage' } });
    const id = (opened.json.incident as { id: number }).id;
    await clock.advance(60_000);
    await admin(vigil!, 'POST', `/incidents/${id}/updates`, { status: 'identified', body: 'A bad deploy; rolling back.' });
    await clock.advance(60_000);
    await admin(vigil!, 'POST', `/incidents/${id}/updates`, { status: 'monitoring', body: 'Rolled back; watching.' });
    await clock.advance(60_000);
    const resolved = await admin(vigil!, 'POST', `/incidents/${id}/resolve`, { body: 'All videos play again.' });
    expect(resolved.json.incident).toMatchObject({ status: 'resolved', components: { 'video-processing': 'operational' } });
    const again = await admin(vigil!, 'POST', `/incidents/${id}/updates`, { status: 'investigating', body: 'again' });
    expect(again.status).toBe(409);
    await admin(vigil!, 'POST', `/incidents/${id}/updates`, { status: 'postmortem', body: 'Postmortem published.', postmortem: 'The deploy skipped a check.' });

    const [incident] = (await getJson(vigil!, '/api/v2/incidents.json')).incidents as Json[];
    expect((incident!.incident_updates as Json[]).map((u) => u.status)).toEqual(['postmortem', 'resolved', 'monitoring', 'identified', 'investigating']);
    expect(incident).toMatchObject({ status: 'postmortem', monitoring_at: new Date(START + 120_000).toISOString(), resolved_at: new Date(START + 180_000).toISOString() });
    expect((await getJson(vigil!, '/api/v2/incidents/unresolved.json')).incidents).toEqual([]);
    const page = await fetch(`${vigil!.url}/incidents/${id}`).then((r) => r.text());
    expect(page).toContain('<strong>Postmortem</strong>');
    expect(page).toContain('The deploy skipped a check.');
  });

  it('publishes what the receiver hands over with public wording, holds it in monitoring, then resolves it on the clock; a relapse reopens it', async () => {
    await start({ automatic: { hold: '10m', title: 'Trouble with {components}' } });
    const alert = { id: 41, rule: 'proc-rule', fingerprint: 'proc-rule|probe=p-proc-a', labels: { severity: 'critical', probe: 'p-proc-a', secret_host: 'db-7.internal' } };
    const hand = (event: 'warning' | 'up', incident: typeof alert) => recordAlertNotice(vigil!.db, { event, incident }, clock.now());
    await hand('warning', alert);
    const summary = await refreshed();
    expect(summary.incidents).toHaveLength(1);
    expect((summary.incidents as Json[])[0]).toMatchObject({ name: 'Trouble with Video processing', status: 'investigating', impact: 'critical' });
    expect(JSON.stringify(summary)).not.toContain('db-7.internal');
    expect(JSON.stringify(summary)).not.toContain('p-proc-a');

    await clock.advance(60_000);
    await hand('up', alert);
    expect((await refreshed()).incidents).toMatchObject([{ status: 'monitoring' }]);
    clock.set(clock.now() + 5 * 60_000);
    expect((await refreshed()).incidents).toMatchObject([{ status: 'monitoring' }]);

    // Relapse inside the hold: a new alert incident for the same problem reopens the public one.
    const relapse = { ...alert, id: 42 };
    await hand('warning', relapse);
    expect((await refreshed()).incidents).toMatchObject([{ status: 'investigating' }]);
    await hand('up', relapse);
    clock.set(clock.now() + 9 * 60_000);
    expect((await refreshed()).incidents).toMatchObject([{ status: 'monitoring' }]);
    clock.set(clock.now() + 2 * 60_000);
    expect((await refreshed()).incidents).toEqual([]);
    const [done] = (await getJson(vigil!, '/api/v2/incidents.json')).incidents as Json[];
    expect((done!.incident_updates as Json[]).map((u) => `${u.status}: ${u.body}`)).toEqual([
      'resolved: This incident has been resolved.',
      'monitoring: Video processing is working again. We are monitoring the results.',
      'investigating: We are investigating problems with Video processing.',
      'monitoring: Video processing is working again. We are monitoring the results.',
      'investigating: We are investigating problems with Video processing.',
    ]);
  });

  it('shows 90 daily uptime bars from the stored rollups, with accessible names and a table equivalent', async () => {
    await start();
    await seedUptime(vigil!.db, 'p-api', { days: 90, now: clock.now(), checks: 4, failures: (day) => (day === 88 ? 1 : 0) });
    await refreshed();
    const html = await waitFor('bars drawn', async () => {
      const text = await fetch(`${vigil!.url}/`).then((r) => r.text());
      return text.includes('20 Nov 2026: 75% uptime') ? text : undefined;
    });
    const bar = /<div class="bar" role="group" aria-label="Website and API: Uptime over the last 90 days">(.*?)<\/div>/s.exec(html)![1]!;
    // Alike days are one segment N days wide (class gN): 88 healthy days, the bad one, today.
    const segments = [...bar.matchAll(/<i tabindex="0" role="img" class="(u\d)(?: g(\d+))?" aria-label="([^"]+)"><\/i>/g)].map((m) => ({ cls: m[1], days: Number(m[2] ?? 1), label: m[3] }));
    expect(segments).toEqual([
      { cls: 'u1', days: 88, label: '24 Aug\u2009–\u200919 Nov 2026: 100% uptime' },
      { cls: 'u4', days: 1, label: '20 Nov 2026: 75% uptime' },
      { cls: 'u1', days: 1, label: '21 Nov 2026: 100% uptime' },
    ]);
    expect(html).toContain('99.72% uptime');
    const table = await fetch(`${vigil!.url}/uptime`).then((r) => r.text());
    expect(table).toContain('<th scope="row">20 Nov 2026</th><td>75%</td>');
  });

  it('serves Atom and RSS feeds, per-component Atom, SVG badges with a title and the shields.io endpoint', async () => {
    await start();
    await admin(vigil!, 'POST', '/incidents', { name: 'Uploads slow', body: 'Slow uploads.', components: { 'video-uploads': 'degraded_performance' } });
    const parser = new XMLParser({ ignoreAttributes: false });
    const atomText = await fetch(`${vigil!.url}/history.atom`).then((r) => r.text());
    expect(XMLValidator.validate(atomText)).toBe(true);
    const atom = parser.parse(atomText);
    expect(text(atom.feed.entry.title)).toBe('Uploads slow (Investigating)');
    const rss = parser.parse(await fetch(`${vigil!.url}/history.rss`).then((r) => r.text()));
    expect(rss.rss.channel.item.title).toBe('Uploads slow (Investigating)');
    const perComponent = parser.parse(await fetch(`${vigil!.url}/components/video-uploads/history.atom`).then((r) => r.text()));
    expect(text(perComponent.feed.entry.title)).toBe('Uploads slow (Investigating)');
    const other = parser.parse(await fetch(`${vigil!.url}/components/website-and-api/history.atom`).then((r) => r.text()));
    expect(other.feed.entry).toBeUndefined();

    for (const [route, title] of [
      ['/badge.svg', 'Status: Minor Service Outage'],
      ['/components/video-uploads/badge.svg', 'Video uploads: Degraded Performance'],
    ] as const) {
      const response = await fetch(`${vigil!.url}${route}`);
      expect(response.headers.get('content-type')).toBe('image/svg+xml');
      const svgText = await response.text();
      expect(XMLValidator.validate(svgText)).toBe(true);
      const svg = parser.parse(svgText).svg;
      expect(svg['@_xmlns']).toBe('http://www.w3.org/2000/svg');
      expect(svg.title).toBe(title);
    }
    expect(await getJson(vigil!, '/components/video-uploads/badge.json')).toEqual({ schemaVersion: 1, label: 'Video uploads', message: 'Degraded Performance', color: '9a6700' });
    expect((await fetch(`${vigil!.url}/components/nope/badge.svg`)).status).toBe(404);
  });

  it('changes branding and language strings at run time through the admin API', async () => {
    await start({ branding: { name: 'Acme Status' } });
    expect(await fetch(`${vigil!.url}/`).then((r) => r.text())).toContain('<title>Acme Status: All Systems Operational</title>');
    const patched = await admin(vigil!, 'PATCH', '/branding', { name: 'Acme Video', colors: { operational: '#00aa00' }, strings: { 'indicator.none': 'Tout fonctionne' }, logoUrl: 'https://cdn.example.com/logo.png' });
    expect(patched.status).toBe(200);
    const response = await fetch(`${vigil!.url}/`);
    const html = await response.text();
    expect(html).toContain('<title>Acme Video: Tout fonctionne</title>');
    expect(response.headers.get('content-security-policy')).toContain("img-src 'self' data: https://cdn.example.com");
    const theme = /href="(\/status\/theme\.[0-9a-f]{12}\.css)"/.exec(html)![1]!;
    expect(await fetch(`${vigil!.url}${theme}`).then((r) => r.text())).toContain('--ok:#00aa00');
    expect((await getJson(vigil!, '/api/v2/status.json')).status).toEqual({ indicator: 'none', description: 'Tout fonctionne' });
    await admin(vigil!, 'PATCH', '/branding', { footer: 'Call us' });
    expect(await fetch(`${vigil!.url}/`).then((r) => r.text())).toContain('<title>Acme Video: Tout fonctionne</title>');
    const bad = await admin(vigil!, 'PATCH', '/branding', { colors: { operational: 'red; } body { display:none' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('colors.operational');
    await admin(vigil!, 'DELETE', '/branding');
    expect(await fetch(`${vigil!.url}/`).then((r) => r.text())).toContain('<title>Acme Status: All Systems Operational</title>');
  });

  it('answers /embed/banner.json from the same incidents and maintenance: an incident, then a maintenance announced within the lead time', async () => {
    await start({ banner: { leadTime: '2h', holdTime: '5m' } });
    expect(await getJson(vigil!, '/embed/banner.json')).toEqual({ banner: null });
    const opened = await admin(vigil!, 'POST', '/incidents', { name: 'Uploads fail', body: 'Looking into it.', components: { 'video-uploads': 'major_outage' } });
    const id = (opened.json.incident as { id: number }).id;
    expect(((await getJson(vigil!, '/embed/banner.json')).banner as Json)).toMatchObject({ id: `incident-${id}`, level: 'outage', message: 'Uploads fail' });
    await admin(vigil!, 'POST', `/incidents/${id}/resolve`, { body: 'Fixed.' });
    await admin(vigil!, 'POST', '/maintenances', { title: 'Storage move', components: ['video-uploads'], startsAt: START + HOUR, duration: '1h', timeZone: 'Europe/Paris', author: 'ops' });
    clock.set(START + 6 * 60_000);
    expect(((await getJson(vigil!, '/embed/banner.json')).banner as Json)).toMatchObject({ level: 'info', message: 'Storage move: from 21 Nov 13:00 till 14:00 UTC.' });
    const script = await fetch(`${vigil!.url}/embed/banner.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('limits the request rate on public paths', async () => {
    await start({ rateLimit: 5 });
    const statuses = [];
    // Answers before routing and routed ones (a GET announcing a body) count in the same window.
    for (let i = 0; i < 7; i++) statuses.push((await fetch(`${vigil!.url}/api/v2/status.json`, { headers: i % 2 === 0 ? {} : { 'content-length': '0' } })).status);
    // start() made at least one request of its own: at most 4 of these pass, then every one is refused.
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(4);
    expect(statuses.slice(4)).toEqual([429, 429, 429]);
    expect(statuses).toEqual([...statuses].sort((a, b) => a - b));
  });
});
