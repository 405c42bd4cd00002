import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { component } from '../../app/index.ts';
import { FakeClock } from '../../core/clock.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import type { TestStore } from '../support/backends.ts';
import { admin, probesNamed, seedUptime, startStatusVigil } from './support.ts';

const START = Date.UTC(2026, 10, 21, 12, 0);
const LIMIT = 30 * 1024;

/** The page of bench/status-page.ts: 10 components (4 grouped, all described) over 90 days, an incident and a maintenance. */
describe('status page weight', () => {
  let store: TestStore;
  let vigil: Vigil;
  const clock = new FakeClock(START);

  beforeAll(async () => {
    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-status-weight-'));
    store = { dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => rmSync(tempDir, { recursive: true, force: true }) };
    const probes = Array.from({ length: 10 }, (_, i) => `probe-${i}`);
    const components = probes.map((probe, i) => component({ name: `Service ${i + 1}`, group: i < 4 ? 'Video' : undefined, description: `What service ${i + 1} does for users`, from: { probes: [probe] } }));
    vigil = await startStatusVigil(store, { clock, probes: probesNamed(probes), statusPage: { components } });
    // One failed check in 97, as the bench seeds them: a few days below 100 % per component.
    for (const [p, probe] of probes.entries()) await seedUptime(vigil.db, probe, { days: 90, now: START, checks: 4, failures: (day) => [0, 1, 2, 3].filter((i) => (day * 4 + i + p) % 97 === 0).length });
    await admin(vigil, 'POST', '/incidents', { name: 'Uploads are slow', body: 'We are looking into slow uploads.', components: { 'service-1': 'degraded_performance' } });
    await admin(vigil, 'POST', '/maintenances', { title: 'Database upgrade', body: 'Uploads pause.', components: ['service-2'], startsAt: START + 3_600_000, duration: '1h', timeZone: 'Europe/Paris', author: 'bench' });
    await admin(vigil, 'POST', '/refresh');
  }, 120_000);

  afterAll(async () => {
    await vigil?.stop();
    await store?.cleanup();
  });

  it(`keeps the main page's HTML and CSS under ${LIMIT} bytes raw, with every day of every bar named`, async () => {
    const html = await fetch(`${vigil.url}/`, { headers: { 'accept-encoding': 'identity' } }).then((r) => r.text());
    const cssUrls = [...html.matchAll(/href="(\/status\/[^"]+\.css)"/g)].map((match) => match[1]!);
    expect(cssUrls.length).toBeGreaterThan(0);
    const css = await Promise.all(cssUrls.map((url) => fetch(`${vigil.url}${url}`, { headers: { 'accept-encoding': 'identity' } }).then((r) => r.text())));
    const bytes = Buffer.byteLength(html) + css.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    expect(bytes).toBeLessThanOrEqual(LIMIT);

    // Each bar's focusable segments name consecutive days (a run of N alike days is class gN), together all 90.
    const bars = [...html.matchAll(/<div class="bar"[^>]*>(.*?)<\/div>/g)].map((match) =>
      [...match[1]!.matchAll(/<i tabindex="0" role="img" class="u\d(?: g(\d+))?" aria-label="([^"]+)"><\/i>/g)].map((segment) => ({ days: Number(segment[1] ?? 1), label: segment[2]! })),
    );
    expect(bars).toHaveLength(10);
    for (const segments of bars) {
      expect(segments.reduce((sum, segment) => sum + segment.days, 0)).toBe(90);
      const labels = segments.map((segment) => segment.label);
      expect(labels.every((label) => /^\d{1,2}( \w{3,4})?( \d{4})?(\s–\s\d{1,2} \w{3,4} \d{4})?: (\d+(\.\d+)?% uptime|No data)(, \d+ incidents?)?$/.test(label)), labels.join('\n')).toBe(true);
      expect(labels.at(-1)).toMatch(/21 Nov 2026: /);
    }
    const bars0 = bars[0]!.map((segment) => segment.label);
    expect(bars0).toContain('17 Sept 2026: 75% uptime');
  });
});
