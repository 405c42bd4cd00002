import { afterEach, beforeEach, expect, it } from 'vitest';
import { component, http as httpProbe } from '../../app/index.ts';
import { FakeClock } from '../../core/clock.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { getProbeStatuses } from '../../probes/index.ts';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { untilOnClock } from '../support/wait.ts';
import { freePort, startTarget } from '../support/http-target.ts';
import { ADMIN_TOKEN, admin, getJson, startStatusVigil } from './support.ts';

type Json = Record<string, unknown>;

describeEachBackend('status page end to end with a real probe and the alert router', (backend) => {
  let store: TestStore;
  let vigil: Vigil | undefined;
  let clock: FakeClock;
  const cleanups: Array<() => unknown> = [];

  beforeEach(async () => {
    store = await backend.createStore();
    clock = new FakeClock(Date.UTC(2026, 10, 21, 12, 0));
  });

  afterEach(async () => {
    await vigil?.stop();
    vigil = undefined;
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await store.cleanup();
  });

  /** Vigil probing an upload API that answers, once the probe has seen it up. */
  const startWithUploadsUp = async () => {
    const port = await freePort();
    const target = await startTarget(port);
    cleanups.push(target.down);
    vigil = await startStatusVigil(store, {
      clock,
      roles: ['api', 'probes', 'alerts'],
      probes: [httpProbe({ name: 'upload-api', url: `http://127.0.0.1:${port}/`, schedule: '10s', jitter: '0s', timeout: '2s', failureThreshold: 2 })],
      alerts: {
        evaluationInterval: '5s',
        rules: [{ name: 'uploads-down', kind: 'probe', probe: 'upload-api', summary: 'upload-api on 127.0.0.1 refused connections', labels: { service: 'uploads', severity: 'critical' } }],
        receivers: { public: { type: 'statusPage' }, site: { type: 'banner' } },
        routes: [{ receivers: ['public', 'site'] }],
      },
      statusPage: {
        refresh: '5s',
        components: [component({ name: 'Video uploads', from: { probes: ['upload-api'], rules: ['uploads-down'] } })],
        automatic: { hold: '1m' },
        banner: { holdTime: '1m' },
      },
    });
    await until('the probe to be up', probeUp);
    return { port, target };
  };

  const until = <T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, maxFakeMs?: number) => untilOnClock(clock, what, check, maxFakeMs);
  const probeUp = async () => (await getProbeStatuses(vigil!.db)).find((status) => status.probe === 'upload-api' && status.state === 'up');
  const summary = () => getJson(vigil!, '/api/v2/summary.json');
  const silenceUploads = async () => {
    const silence = await fetch(`${vigil!.url}/admin/api/v1/silences`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: { service: 'uploads' }, duration: '1h', author: 'ops', comment: 'known issue' }),
    });
    expect(silence.status).toBe(201);
  };
  const uploads = (s: Json) => (s.components as Json[])[0]!.status;

  it('probe down → alert incident → statusPage receiver → public incident and major outage; probe back → monitoring → resolved after the hold', async () => {
    const { port, target } = await startWithUploadsUp();
    expect(uploads(await summary())).toBe('operational');

    const downAt = clock.now();
    await target.down();
    const outage = await until('a public incident', async () => {
      const s = await summary();
      return (s.incidents as Json[]).length > 0 && uploads(s) === 'major_outage' ? s : undefined;
    });
    // The probe's interval × its threshold, up to two evaluation intervals (pending, then firing), one page refresh; plus
    // 5 s for the fake clock's 1 s steps running ahead of the real connections and queries on a loaded machine.
    expect(clock.now() - downAt).toBeLessThanOrEqual(10_000 * 2 + 2 * 5000 + 5000 + 5000);
    expect(outage.status).toMatchObject({ indicator: 'critical' });
    const [incident] = outage.incidents as Json[];
    expect(incident).toMatchObject({ name: 'Problems with Video uploads', status: 'investigating', impact: 'critical' });
    expect(JSON.stringify(outage)).not.toContain('upload-api');
    expect(JSON.stringify(outage)).not.toContain(`127.0.0.1:${port}`);
    expect(JSON.stringify(outage)).not.toContain('refused');
    const html = await fetch(`${vigil!.url}/`).then((r) => r.text());
    expect(html).toContain('Problems with Video uploads');
    expect(html).toContain('Major Outage');

    await target.up();
    await until('monitoring', async () => ((await summary()).incidents as Json[])[0]?.status === 'monitoring');
    expect(uploads(await summary())).toBe('operational');
    await until('resolved after the hold', async () => ((await summary()).incidents as Json[]).length === 0);
    const [resolved] = (await getJson(vigil!, '/api/v2/incidents.json')).incidents as Json[];
    expect((resolved!.incident_updates as Json[]).map((update) => update.status)).toEqual(['resolved', 'monitoring', 'investigating']);
    expect(Date.parse(resolved!.resolved_at as string) - Date.parse(resolved!.monitoring_at as string)).toBeGreaterThanOrEqual(60_000);
  });

  it('a silence stops the public incident like any receiver; a maintenance shows the component under maintenance instead', async () => {
    const { target } = await startWithUploadsUp();
    await silenceUploads();
    await target.down();
    await until('the outage on the component', async () => uploads(await summary()) === 'major_outage');
    await clock.advance(60_000);
    expect((await summary()).incidents).toEqual([]);

    const maintenance = await admin(vigil!, 'POST', '/maintenances', { title: 'Uploads maintenance', components: ['video-uploads'], startsAt: clock.now(), duration: '1h', author: 'ops' });
    expect(maintenance.status).toBe(201);
    const during = await summary();
    expect(uploads(during)).toBe('under_maintenance');
    expect(during.status).toMatchObject({ indicator: 'maintenance' });
    await clock.advance(30_000);
    expect((await summary()).incidents).toEqual([]);
  });

  it('the banner receiver raises the site banner; a silence begun after the opening mutes the UP, and the banner still ends and clears after its hold', async () => {
    const { target } = await startWithUploadsUp();
    const banner = async () => (await getJson<{ banner: { id: string; level: string; message: string } | null }>(vigil!, '/embed/banner.json')).banner;

    await target.down();
    const raised = await until('the automatic banner', async () => {
      const shown = await banner();
      return shown?.id.startsWith('alert-') ? shown : undefined;
    });
    expect(raised).toMatchObject({ level: 'outage', message: 'Video uploads is not working at the moment; we are working on it.' });

    await silenceUploads();
    await target.up();
    await until('the alert to end', probeUp);
    const upAt = clock.now();
    await until('the banner to clear', async () => (await banner())?.id !== raised.id);
    expect(clock.now() - upAt).toBeGreaterThanOrEqual(55_000);
  });
});
