import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsModule } from '../../alerts/index.ts';
import { actionLinks } from '../../alerts/links.ts';
import { incidentById, insertIncident, silencesActiveAt } from '../../alerts/store.ts';
import { Secret } from '../../core/config/index.ts';
import { PAGE_CSP } from '../../core/http/pages.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { testConfig, type TestStore } from '../support/backends.ts';
import { launchChromium, seriousAxeViolations } from '../support/browser.ts';

// The page an acknowledge or silence link in an email or Slack message opens, in Chromium: accessible, served under
// the page CSP with nothing violating it, usable by keyboard and without JavaScript, and what a label carries stays text.
const TOKEN = 'admin-token-0123456789';
const XSS = '<script>alert("summary")</script><img src=x onerror=alert("img")>';
const OUT = path.resolve(import.meta.dirname, '../../test-results');

describe('alert action-link page in Chromium', () => {
  let store: TestStore;
  let vigil: Vigil;
  let browser: Browser;

  beforeAll(async () => {
    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-action-page-'));
    store = { dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => rmSync(tempDir, { recursive: true, force: true }) };
    vigil = await startVigil({ config: testConfig(store, { server: { adminToken: TOKEN } }), roles: ['api'], modules: [alertsModule] });
    browser = await launchChromium();
    mkdirSync(OUT, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await vigil?.stop();
    await store?.cleanup();
  });

  /** A browser context that records CSP violations and dialogs (a script that ran would open one). */
  async function watched(): Promise<{ context: BrowserContext; violations: string[]; dialogs: string[] }> {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    const violations: string[] = [];
    const dialogs: string[] = [];
    await context.exposeBinding('reportViolation', (_source, directive: string) => void violations.push(directive));
    await context.addInitScript(() => document.addEventListener('securitypolicyviolation', (event) => void (window as unknown as { reportViolation(d: string): void }).reportViolation(event.violatedDirective)));
    context.on('page', (page) => {
      page.on('dialog', (dialog) => void (dialogs.push(dialog.message()), dialog.dismiss()));
      page.on('console', (message) => void (/Content Security Policy/i.test(message.text()) && violations.push(message.text())));
    });
    return { context, violations, dialogs };
  }

  const incident = async (service: string) =>
    insertIncident(vigil.db, { fingerprint: `api-down|service=${service}`, rule: 'api-down', labels: { service, severity: 'critical' }, summary: `api down ${XSS}`, state: 'firing', flapping: false, now: Date.now() });

  it('acknowledge: the confirmation and the result pass axe under the page CSP; Tab reaches the button and Enter acts', async () => {
    const { id } = await incident('api');
    const { context, violations, dialogs } = await watched();
    try {
      const page = await context.newPage();
      const response = await page.goto(actionLinks(vigil.url, new Secret(TOKEN), id, Date.now()).acknowledge!);
      expect(response!.status()).toBe(200);
      expect(response!.headers()['content-security-policy']).toBe(PAGE_CSP);
      expect(await page.locator('h1').innerText()).toBe('Acknowledge the incident');
      expect(await page.locator('main').innerText()).toContain(XSS);
      expect(await seriousAxeViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(OUT, 'alerts-action-ack.png'), fullPage: true });
      expect((await incidentById(vigil.db, id))!.ackedBy).toBeNull();

      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Acknowledge the incident');
      await Promise.all([page.waitForURL(/\/alerts\/actions\//, { waitUntil: 'load' }), page.waitForResponse((answer) => answer.request().method() === 'POST'), page.keyboard.press('Enter')]);
      await expect.poll(() => page.locator('h1').innerText()).toBe('Acknowledged');
      expect(await seriousAxeViolations(page)).toEqual([]);
      expect((await incidentById(vigil.db, id))!.ackedBy).toBe('notification link');
      expect([violations, dialogs]).toEqual([[], []]);
    } finally {
      await context.close();
    }
  });

  it('silence with JavaScript off: the form still acts', async () => {
    const { id } = await incident('web');
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto(actionLinks(vigil.url, new Secret(TOKEN), id, Date.now()).silence!);
      await Promise.all([page.waitForResponse((answer) => answer.request().method() === 'POST'), page.getByRole('button', { name: 'Silence the incident for 1 hour' }).click()]);
      expect(await page.locator('h1').innerText({ timeout: 10_000 })).toBe('Silenced for 1 hour');
      expect(await silencesActiveAt(vigil.db, Date.now())).toEqual([expect.objectContaining({ matchers: { service: 'web', severity: 'critical' }, author: 'notification link' })]);
    } finally {
      await context.close();
    }
  });

  it('an expired link says so, under the page CSP, and passes axe', async () => {
    const { id } = await incident('db');
    const { context, violations, dialogs } = await watched();
    try {
      const page = await context.newPage();
      const expired = await page.goto(actionLinks(vigil.url, new Secret(TOKEN), id, Date.now() - 25 * 3_600_000).acknowledge!);
      expect(expired!.status()).toBe(410);
      expect(expired!.headers()['content-security-policy']).toBe(PAGE_CSP);
      expect(await page.locator('h1').innerText()).toBe('Link not usable');
      expect(await seriousAxeViolations(page)).toEqual([]);
      expect([violations, dialogs]).toEqual([[], []]);
    } finally {
      await context.close();
    }
  });
});
