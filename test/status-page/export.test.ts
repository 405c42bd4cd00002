import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { component } from '../../app/index.ts';
import { FakeClock } from '../../core/clock.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { describeEachBackend, storePer } from '../support/backends.ts';
import { REPO_ROOT, runVigil } from '../support/cli.ts';
import { freePort } from '../support/http-target.ts';
import { startNginx, type Nginx } from '../support/nginx.ts';
import { waitFor } from '../support/wait.ts';
import { admin, probesNamed, seedUptime, startStatusVigil } from './support.ts';

const PUBLIC_URL = 'https://status.example.com';
type Json = Record<string, unknown>;

/** A JSON document without its `updated_at` fields (the copy is rendered at another moment). */
const timeless = (value: unknown): unknown =>
  Array.isArray(value) ? value.map(timeless) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'updated_at').map(([key, item]) => [key, timeless(item)])) : value;

describeEachBackend('status page static copy', (backend) => {
  const perTest = storePer('test', backend);
  let vigil: Vigil | undefined;
  let nginx: Nginx | undefined;

  afterEach(async () => {
    await nginx?.stop();
    nginx = undefined;
    await vigil?.stop();
    vigil = undefined;
  });

  it('statusPage.export keeps a copy fresh while Vigil runs; `vigil status export` output served by nginx shows the same page and JSON', async () => {
    const { store } = perTest;
    const clock = new FakeClock(Date.now());
    const live = path.join(store.tempDir, 'live');
    const statusPage = { components: [component({ name: 'Video uploads', from: { probes: ['uploads'] } }), component({ name: 'Website', group: 'Web', from: { probes: ['web'] } })] };
    vigil = await startStatusVigil(store, { clock, probes: probesNamed(['uploads', 'web']), publicUrl: PUBLIC_URL, statusPage: { ...statusPage, export: { dir: live, every: '1m' } } });
    await seedUptime(vigil.db, 'uploads', { days: 90, now: clock.now(), failures: (day) => (day === 80 ? 2 : 0) });
    await admin(vigil, 'POST', '/incidents', { name: 'Uploads slow', body: 'Uploads take *longer* than usual.', components: { 'video-uploads': 'degraded_performance' } });
    await admin(vigil, 'POST', '/maintenances', { title: 'Network work', components: ['website'], startsAt: clock.now() + 3_600_000, duration: '1h', author: 'ops', timeZone: 'Europe/Paris' });
    clock.set(clock.now() + 55_000);
    await clock.advance(5000);
    await admin(vigil, 'POST', '/refresh');

    const served = {
      page: await fetch(`${vigil.url}/`).then((r) => r.text()),
      summary: await fetch(`${vigil.url}/api/v2/summary.json`).then((r) => r.text()),
      incident: await fetch(`${vigil.url}/incidents/1`).then((r) => r.text()),
      history2: await fetch(`${vigil.url}/history?page=2`).then((r) => r.text()),
    };
    expect(served.page).toContain('Uploads slow');
    await waitFor('the live copy', () => readFileSync(path.join(live, 'index.html'), 'utf8') === served.page);
    expect(readFileSync(path.join(live, 'api/v2/summary.json'), 'utf8')).toBe(served.summary);
    expect(readFileSync(path.join(live, 'incidents/1.html'), 'utf8')).toBe(served.incident);
    // Nothing changed since: a later interval leaves the copy's files as they are (each rewrite is a new file).
    const written = statSync(path.join(live, 'index.html')).ino;
    clock.set(clock.now() + 60_000);
    await clock.advance(5000);
    await admin(vigil, 'POST', '/refresh');
    expect(statSync(path.join(live, 'index.html')).ino).toBe(written);
    await vigil.stop();
    vigil = undefined;

    // No Vigil runs now: the CLI serves the same admin API from the store in its own process and writes the copy elsewhere.
    const copy = path.join(store.tempDir, 'copy');
    const configFile = path.join(store.tempDir, 'vigil.config.ts');
    const database = store.databaseUrl ? `{ url: ${JSON.stringify(store.databaseUrl)}, dataDir: ${JSON.stringify(store.dataDir)} }` : `{ dataDir: ${JSON.stringify(store.dataDir)} }`;
    writeFileSync(
      configFile,
      `import { component, defineConfig, http } from ${JSON.stringify(path.join(REPO_ROOT, 'app/index.ts'))};
export default defineConfig({
  server: { publicUrl: ${JSON.stringify(PUBLIC_URL)} },
  database: ${database},
  logging: { level: 'silent' },
  processing: { storageDir: ${JSON.stringify(path.join(store.tempDir, 'storage'))} },
  probes: ['uploads', 'web'].map((name) => http({ name, url: 'http://127.0.0.1:9/never', schedule: '1m' })),
  statusPage: { components: [component({ name: 'Video uploads', from: { probes: ['uploads'] } }), component({ name: 'Website', group: 'Web', from: { probes: ['web'] } })] },
});
`,
    );
    const exported = await runVigil(['status', 'export', copy, '--config', configFile]);
    expect(exported.output).toMatch(/^wrote \d+ files to /);
    expect(exported.code).toBe(0);

    nginx = await startNginx(copy, await freePort());
    const page = await fetch(`${nginx.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(served.page);
    const summary = await fetch(`${nginx.url}/api/v2/summary.json`);
    expect(summary.headers.get('cache-control')).toBe('public, max-age=30, stale-while-revalidate=60, stale-if-error=86400');
    expect(summary.headers.get('access-control-allow-origin')).toBe('*');
    expect(timeless(await summary.json())).toEqual(timeless(JSON.parse(served.summary)));
    expect(await fetch(`${nginx.url}/incidents/1`).then((r) => r.text())).toBe(served.incident);
    expect(await fetch(`${nginx.url}/history?page=2`).then((r) => r.text())).toBe(served.history2);
    const css = /href="(\/status\/assets\/status\.[0-9a-f]{12}\.css)"/.exec(served.page)![1]!;
    expect((await fetch(`${nginx.url}${css}`)).status).toBe(200);
    const feed = await fetch(`${nginx.url}/history.atom`);
    expect(feed.headers.get('content-type')).toBe('application/atom+xml');
    expect((await fetch(`${nginx.url}/components/video-uploads/badge.svg`)).headers.get('content-type')).toBe('image/svg+xml');
    const json = (await fetch(`${nginx.url}/api/v2/components.json`).then((r) => r.json())) as Json;
    expect((json.components as Json[]).map((c) => c.id)).toEqual(['video-uploads', 'group-web', 'website']);
  }, 180_000);
});
