import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { component } from '../../app/index.ts';
import { FakeClock } from '../../core/clock.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { launchChromium, seriousAxeViolations } from '../support/browser.ts';
import { REPO_ROOT } from '../support/cli.ts';
import type { TestStore } from '../support/backends.ts';
import { admin, probesNamed, seedUptime, startStatusVigil } from './support.ts';

const START = Date.UTC(2026, 10, 21, 12, 0);
const XSS = [
  '<script>alert("component")</script>',
  '<img src=x onerror=alert("img")>',
  '"><svg onload=alert("svg")>',
  "javascript:alert('link')",
  '<a href="javascript:alert(1)">click</a>',
  '</title><script>alert("title")</script>',
  '<div style="x" onmouseover="alert(1)">broken <b>markup',
];

describe('status page in Chromium', () => {
  let store: TestStore;
  let vigil: Vigil;
  let browser: Browser;
  const clock = new FakeClock(START);

  beforeAll(async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-status-browser-'));
    store = { dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => rmSync(tempDir, { recursive: true, force: true }) };
    const probes = Array.from({ length: 10 }, (_, i) => `probe-${i}`);
    const components = [
      component({ name: XSS[0]!, description: XSS[1], group: XSS[2], from: { probes: ['probe-0'] } }),
      ...probes.slice(1).map((probe, i) => component({ name: `Service ${i + 1}`, group: i < 4 ? 'Video' : undefined, description: `What service ${i + 1} does`, from: { probes: [probe] } })),
    ];
    vigil = await startStatusVigil(store, { clock, probes: probesNamed(probes), statusPage: { components, branding: { name: 'Example Video', footer: XSS[5] } } });
    for (const [index, probe] of probes.entries()) await seedUptime(vigil.db, probe, { days: 90, now: START, checks: 4, failures: (day) => (day % 29 === index % 7 ? 1 + (index % 3) : 0) });
    await admin(vigil, 'POST', '/incidents', {
      name: `Uploads fail ${XSS[1]}`,
      body: `We are **investigating** failed uploads. [status](https://example.com) ${XSS[3]} [x](javascript:alert(2)) ${XSS[4]} ${XSS[6]}`,
      components: { 'service-1': 'partial_outage' },
    });
    await admin(vigil, 'POST', '/maintenances', {
      title: `Database upgrade ${XSS[2]}`,
      body: `Uploads pause. ${XSS[0]}`,
      components: ['service-2'],
      startsAt: START + 10 * 3_600_000,
      duration: '90m',
      timeZone: 'Europe/Paris',
      author: 'ops',
    });
    // The rollups were written after the first render: read them now rather than within the minute.
    await admin(vigil, 'POST', '/refresh');
    const branding = await admin(vigil, 'PATCH', '/branding', { links: [{ label: XSS[0], url: 'https://example.com/help' }] });
    expect(branding.status).toBe(200);
    expect((await admin(vigil, 'PATCH', '/branding', { links: [{ label: 'x', url: XSS[3] }] })).status).toBe(400);
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await vigil?.stop();
    await store?.cleanup();
  });

  it('renders components, bars, the incident and the maintenance with JavaScript disabled; keyboard reaches every day', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    const response = await page.goto(`${vigil.url}/`);
    expect(response!.status()).toBe(200);
    await expect.poll(() => page.locator('.c').count()).toBe(10);
    expect(await page.locator('.bar').count()).toBe(10);
    // Alike consecutive days share one segment (class gN for N days): the segments of each bar cover its 90 days.
    const segments = await page.locator('.bar i').evaluateAll((elements) =>
      elements.map((element) => ({ bar: [...element.ownerDocument.querySelectorAll('.bar')].indexOf(element.parentElement!), days: Number(/\bg(\d+)\b/.exec(element.className)?.[1] ?? 1) })),
    );
    for (let bar = 0; bar < 10; bar++) expect(segments.filter((segment) => segment.bar === bar).reduce((sum, segment) => sum + segment.days, 0), `bar ${bar}`).toBe(90);

    // Tab through the page: every segment of every bar takes the focus once, with its accessible name.
    const focused = new Set<string>();
    for (let i = 0; i < 1000 && focused.size < segments.length; i++) {
      await page.keyboard.press('Tab');
      const label = await page.locator(':focus').getAttribute('aria-label');
      const index = await page.locator(':focus').evaluate((element) => (element.tagName === 'I' ? [...element.ownerDocument.querySelectorAll('.bar i')].indexOf(element) : -1)).catch(() => -1);
      if (label && index >= 0) focused.add(`${index}:${label}`);
    }
    expect(focused.size).toBe(segments.length);
    expect([...focused].some((entry) => /\d{4}: 75% uptime$/.test(entry))).toBe(true);
    expect([...focused].some((entry) => /^\d+:\d{1,2}( \w+)?( \d{4})?\s–\s\d{1,2} \w+ \d{4}: 100% uptime$/.test(entry))).toBe(true);
    await context.close();
  }, 180_000);

  it('passes axe-core with no serious or critical violation; nothing from the XSS corpus runs; a screenshot is kept', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    for (const route of ['/', '/history', '/uptime', '/incidents/1', '/incidents/m1', '/subscribe', '/subscribe?incident=1']) {
      const response = await page.goto(`${vigil.url}${route}`);
      expect(response!.status(), route).toBe(200);
      await page.locator('a[href="javascript:alert(2)"]').count().then((count) => expect(count, route).toBe(0));
      for (const element of await page.locator('[onerror], [onload], [onmouseover], script').all()) expect(await element.evaluate((e) => e.outerHTML), route).toBe('');
      await page.mouse.move(200, 300);
      expect(await seriousAxeViolations(page), route).toEqual([]);
    }
    await page.goto(`${vigil.url}/`);
    const dir = path.join(REPO_ROOT, 'test-results');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, 'status-page.png'), fullPage: true });
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    const json = await fetch(`${vigil.url}/api/v2/summary.json`).then((r) => r.text());
    expect(() => JSON.parse(json)).not.toThrow();
    expect(JSON.parse(json).components[1].name).toBe(XSS[0]);
    await context.close();
  }, 180_000);
});
