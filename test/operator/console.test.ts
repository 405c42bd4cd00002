import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODULES } from '../../app/modules.ts';
import { heartbeat, http } from '../../app/index.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { generateTestClip } from '../../processing/ffmpeg.ts';
import { STAGES } from '../../processing/stages/index.ts';
import { testConfig, type TestStore } from '../support/backends.ts';
import { launchChromium, seriousAxeViolations } from '../support/browser.ts';
import { repeatClip } from '../support/clips.ts';
import { waitFor } from '../support/wait.ts';
import { TEST_KEY, upload, waitForState } from '../processing/support.ts';
import { startReceiver } from './support.ts';

const TOKEN = 'console-admin-token-0123456789';
const HEARTBEAT = 'console-heartbeat-token-01';
const XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', "'><svg onload=alert(3)>", '</title><script>alert(4)</script>'];

describe('the operator console in Chromium', { timeout: 300_000 }, () => {
  let tempDir: string;
  let store: TestStore;
  let vigil: Vigil;
  let browser: Browser;
  let page: Page;
  let target: Server;
  let healthy = true;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-console-'));
    store = { dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => {} };
    target = createServer((_request, response) => (healthy ? response.end('ok') : response.writeHead(500).end('down')));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    receiver = await startReceiver();
    const targetUrl = `http://127.0.0.1:${(target.address() as net.AddressInfo).port}/`;
    const config = testConfig(store, {
      server: { adminToken: TOKEN },
      processing: { storageDir: path.join(tempDir, 'storage'), keys: [{ name: 'test', scopes: ['upload', 'read', 'delete', 'admin'], key: TEST_KEY }], pollInterval: '500ms', retryDelay: '1s', preset: 'ultrafast', progressInterval: '1s', stages: { transcode: { retries: 5 } } },
      probes: [
        http({ name: 'api-health', url: targetUrl, schedule: '1s', timeout: '3s', failureThreshold: 2, runAtStart: true, labels: { service: 'api', team: XSS[0]! } }),
        heartbeat({ name: 'nightly-job', token: HEARTBEAT, period: '1h', schedule: '1s', runAtStart: true, labels: { team: XSS[1]! } }),
      ],
      alerts: {
        evaluationInterval: '1s',
        rules: [{ name: 'api-down', kind: 'probe', probe: 'api-health', labels: { service: 'api', severity: 'critical' } }],
        receivers: { ops: { type: 'webhook', url: receiver.url, secret: 'console-webhook-secret' } },
        routes: [{ receivers: ['ops'], groupWait: '0s' }],
      },
    });
    vigil = await startVigil({ config, modules: MODULES });
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await vigil?.stop();
    await receiver?.close();
    await new Promise((resolve) => target?.close(resolve));
    rmSync(tempDir, { recursive: true, force: true });
  });

  const url = (pathname: string) => `${vigil.url}${pathname}`;
  const expectAccessible = async () => expect(await seriousAxeViolations(page)).toEqual([]);

  it('asks for the admin token, refuses a wrong one, and keeps the session in an HttpOnly SameSite=Strict cookie', async () => {
    await page.goto(url('/admin'));
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await expectAccessible();
    await page.fill('#token', 'not-the-token');
    await page.click('button[type=submit]');
    expect(await page.textContent('[role=alert]')).toContain('That is not the admin token');
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');
    expect(new URL(page.url()).pathname).toBe('/admin');
    const session = (await page.context().cookies()).find((cookie) => cookie.name === 'vigil_console')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin' });
    // A form posted without the CSRF token changes nothing.
    const forged = await page.request.post(url('/admin/silences'), { form: { matchers: 'service=api', duration: '1h', comment: 'forged' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
  });

  it('lists probes with their state, 90-day uptime bars and last failures, escaping what they report', async () => {
    await fetch(url(`/api/v1/heartbeats/${HEARTBEAT}/fail`), { method: 'POST', body: XSS[2] });
    await waitFor('the heartbeat failure to be recorded', async () => {
      await page.goto(url('/admin'));
      return (await page.textContent('#main'))!.includes(XSS[2]!);
    }, 60_000, 500);
    const section = page.locator('section.probe', { has: page.locator('h2', { hasText: 'api-health' }) });
    expect(await section.locator('.state').textContent()).toBe('up');
    expect(await section.locator('svg rect').count()).toBe(90);
    expect(await section.locator('figcaption').textContent()).toMatch(/90-day uptime: \d+\.\d{2}%/);
    expect(await page.textContent('#main')).toContain(`team=${XSS[0]}`);
    await expectAccessible();
  });

  it('silences the running router from the console, shows the incident timeline, and expiring the silence lets the notification out', async () => {
    await page.goto(url('/admin/silences'));
    await page.fill('#matchers', 'service=api');
    await page.fill('#duration', '1h');
    await page.fill('#comment', `deploy ${XSS[3]}`);
    await page.click('form.stack button[type=submit]');
    expect(await page.textContent('[role=status]')).toMatch(/Silence #\d+ is active until/);
    expect(await page.textContent('table')).toContain(`deploy ${XSS[3]}`);
    await expectAccessible();

    healthy = false;
    const incidentId = await waitFor('a firing incident whose notification is muted', async () => {
      const [row] = await vigil.db.query<{ id: number }>(
        `select i.id from alerts_incidents i join alerts_notifications n on n.incident_id = i.id where i.state = 'firing' and n.event = 'warning' and n.status = 'muted'`,
      );
      return row?.id;
    }, 90_000, 250);
    const warningsFor = () => receiver.bodies.filter((body) => body.event === 'warning' && (body.incidents as Array<{ id: number }>).some((incident) => incident.id === incidentId));
    expect(warningsFor()).toEqual([]);

    await page.goto(url('/admin/incidents'));
    await page.click(`a[href="/admin/incidents/${incidentId}"]`);
    const timeline = await page.textContent('ol.timeline');
    expect(timeline).toContain('opened');
    expect(timeline).toContain('firing');
    expect(timeline).toMatch(/warning to ops: muted by silence #\d+/);
    await expectAccessible();

    await page.goto(url('/admin/silences'));
    await page.click('button[aria-label^="Expire silence"]');
    expect(await page.textContent('[role=status]')).toMatch(/Silence #\d+ has expired/);
    await waitFor('the notification to reach the receiver', () => warningsFor().length > 0, 60_000, 250);

    await page.goto(url(`/admin/incidents/${incidentId}`));
    await page.click('button:has-text("Acknowledge")');
    expect(await page.textContent('[role=status]')).toContain('Acknowledged');
    expect(await page.textContent('ol.timeline')).toMatch(/acknowledged: by console/);
    healthy = true;
  });

  it("shows a video's workflow after a real upload whose transcode was retried", async () => {
    const clip = path.join(tempDir, 'clip.mp4');
    await generateTestClip(clip, { seconds: 1, width: 320, height: 240 });
    // The derived-files directory is unusable at first: transcode fails with RESOURCE and is retried.
    const derived = path.join(tempDir, 'storage', 'derived');
    mkdirSync(path.dirname(derived), { recursive: true });
    writeFileSync(derived, 'not a directory');
    const answer = await upload(vigil.url, clip, { labels: `team=${XSS[0]}` }, `${XSS[1]}.mp4`);
    expect(answer.status).toBe(202);
    await waitFor('a RESOURCE failure', async () => (await vigil.db.query(`select 1 from processing_checkpoints where video_id = $1 and error_class = 'RESOURCE'`, [answer.body.id])).length > 0, 60_000, 200);
    rmSync(derived);
    expect((await waitForState(vigil.url, answer.body.id, ['published', 'failed'], 120_000)).state).toBe('published');

    await page.goto(url('/admin/videos?state=published'));
    expect(await page.textContent('table')).toContain(`team=${XSS[0]}`);
    await page.click(`a[href="/admin/videos/${answer.body.id}"]`);
    const stages = await page.locator('ol.workflow li .stage-name').allTextContents();
    expect(stages).toEqual(STAGES.map((stage) => stage.name));
    const transcode = page.locator('ol.workflow li', { hasText: 'transcode' });
    expect(await transcode.textContent()).toMatch(/done[\s\S]*\d+ attempts/);
    const rows = await page.locator('table tbody tr', { hasText: 'transcode' }).allTextContents();
    expect(rows[0]).toMatch(/transcode\s*1\s*failed/);
    expect(rows[0]).toContain('RESOURCE');
    expect(rows.at(-1)).toMatch(/finished/);
    expect(await page.locator('figure.gantt svg rect.attempt-failed').count()).toBeGreaterThan(0);
    // Browsers send a '"' in a multipart filename as %22; the rest arrives as typed and is shown as text.
    expect(await page.textContent('h1')).toContain('><img src=x onerror=alert(2)>.mp4');
    await expectAccessible();
  });

  it("shows a running transcode's progress in the workflow view: percent and estimated finish", async () => {
    const short = path.join(tempDir, 'ten-seconds.mp4');
    await generateTestClip(short, { seconds: 10, width: 854, height: 480 });
    const clip = path.join(tempDir, 'long.mp4');
    await repeatClip(short, 6, clip);
    const answer = await upload(vigil.url, clip, {}, 'long.mp4');
    expect(answer.status).toBe(202);
    const running = page.locator('ol.workflow li.stage-running', { hasText: 'transcode' }).locator('.stage-progress');
    const text = await waitFor('the transcode progress in the console', async () => {
      await page.goto(url(`/admin/videos/${answer.body.id}`));
      const shown = (await running.count()) > 0 ? await running.textContent() : null;
      return shown && /, done about /.test(shown) ? shown : undefined;
    }, 120_000, 500);
    expect(text).toMatch(/^(\d+(\.\d)?) %, done about \S.*$/);
    const percent = Number(/^(\d+(\.\d)?) %/.exec(text)![1]);
    expect(percent).toBeGreaterThanOrEqual(0);
    expect(percent).toBeLessThanOrEqual(100);
    await expectAccessible();
    expect((await fetch(`${vigil.url}/api/v1/videos/${answer.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_KEY}` } })).status).toBe(204);
  });

  it('never ran a script from the XSS corpus', () => {
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
