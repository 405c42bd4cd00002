/// <reference lib="dom" />
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { generateTestClip } from '../../processing/ffmpeg.ts';
import type { Banner } from '../../status-page/banner.ts';
import { registerEmbedRoutes } from '../../status-page/embed.ts';
import { pgliteBackend } from '../support/backends.ts';
import { launchChromium } from '../support/browser.ts';
import { untilOnClock, waitFor } from '../support/wait.ts';
import { getJson, processUploads, SLOWER, startBannerVigil } from './support.ts';

type Mode = 'ok' | 'error' | 'garbage' | 'hang';

const NETWORK_REPORT = /^Failed to load resource|blocked by CORS policy|net::ERR_/;

/** Resolves after two frames: long enough for the script's fetch callbacks to have rendered. */
const settled = (page: Page) => page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));

const outage = (id: string): Banner => ({
  id,
  level: 'outage',
  message: 'Uploads are failing; we are on it.',
  links: [{ href: 'https://status.example.com/subscribe?incident=9', text: "Tell me when it's back up" }],
  dismissText: 'Dismiss',
});

describe('embeddable banner in Chromium', () => {
  let vigil: FastifyInstance;
  let vigilOrigin: string;
  let platform: Server;
  let platformOrigin: string;
  let browser: Browser;
  let stoppedOrigin: string;
  let banner: Banner | null = outage('incident-9');
  let mode: Mode = 'ok';
  let hungRequestsClosed = 0;
  let jsonRequests = 0;

  beforeAll(async () => {
    vigil = Fastify();
    vigil.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/embed/banner.json')) return;
      jsonRequests += 1;
      if (mode === 'error') return reply.code(500).send({ error: 'boom' });
      if (mode === 'garbage') return reply.header('access-control-allow-origin', '*').type('application/json').send('{"banner": <html>');
      if (mode === 'hang') {
        request.raw.on('close', () => (hungRequestsClosed += 1));
        return new Promise(() => {});
      }
    });
    registerEmbedRoutes(vigil, () => banner);
    await vigil.listen({ host: '127.0.0.1', port: 0 });
    vigilOrigin = `http://127.0.0.1:${(vigil.server.address() as AddressInfo).port}`;

    // The platform's own site, on another origin, with a strict CSP that allows only Vigil's origin besides itself.
    platform = createServer((request: IncomingMessage, response: ServerResponse) => {
      const slot = request.url?.includes('slot') ? '<div data-vigil-banner></div>' : '';
      // `?vigil=<origin>` embeds a real Vigil's banner instead of the double's.
      const scriptSrc = request.url?.includes('stopped') ? stoppedOrigin : (new URL(request.url ?? '/', platformOrigin).searchParams.get('vigil') ?? vigilOrigin);
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': `default-src 'self'; script-src 'self' ${scriptSrc}; connect-src 'self' ${scriptSrc}; style-src 'self'`,
      });
      response.end(
        `<!doctype html><html lang="en"><head><title>Platform</title><script async src="${scriptSrc}/embed/banner.js"></script></head>` +
          `<body>${slot}<h1>My videos</h1><p>${'Lorem ipsum dolor sit amet. '.repeat(40)}</p></body></html>`,
      );
    });
    await new Promise<void>((resolve) => platform.listen(0, '127.0.0.1', resolve));
    platformOrigin = `http://127.0.0.1:${(platform.address() as AddressInfo).port}`;
    const reserved = createServer();
    await new Promise<void>((resolve) => reserved.listen(0, '127.0.0.1', resolve));
    stoppedOrigin = `http://127.0.0.1:${(reserved.address() as AddressInfo).port}`;
    await new Promise((resolve) => reserved.close(resolve));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await vigil?.close();
    await new Promise((resolve) => platform?.close(resolve));
  });

  /** Console errors and uncaught exceptions, less Chromium's own reports of a failed request (no script can silence those). */
  async function open(path = '/', storageState?: BrowserContextOptions['storageState']): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext(storageState ? { storageState } : {});
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if ((message.type() === 'error' || message.type() === 'warning') && !NETWORK_REPORT.test(message.text())) errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(platformOrigin + path);
    return { page, errors };
  }

  /** The script added no banner host and logged nothing; closes the page. */
  async function expectNothingShown({ page, errors }: { page: Page; errors: string[] }): Promise<void> {
    expect(await page.locator('[data-vigil-banner-host]').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  }

  it('shows the banner as a status region, fixed, without shifting the layout or breaking the CSP', async () => {
    mode = 'ok';
    banner = outage('incident-9');
    const { page, errors } = await open();
    const region = page.getByRole('status');
    await region.waitFor();
    expect(await region.textContent()).toContain('Uploads are failing; we are on it.');
    expect(await page.getByRole('link', { name: "Tell me when it's back up" }).getAttribute('href')).toBe('https://status.example.com/subscribe?incident=9');
    const shift = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          let total = 0;
          new PerformanceObserver((list) => {
            for (const entry of list.getEntries() as Array<PerformanceEntry & { value: number }>) total += entry.value;
          }).observe({ type: 'layout-shift', buffered: true });
          requestAnimationFrame(() => requestAnimationFrame(() => resolve(total)));
        }),
    );
    expect(shift).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('renders into the slot element when the page offers one', async () => {
    mode = 'ok';
    const { page } = await open('/?slot');
    await page.getByRole('status').waitFor();
    expect(await page.locator('[data-vigil-banner] [data-vigil-banner-host]').count()).toBe(1);
    await page.context().close();
  });

  it('stays dismissed for that event and comes back for a new one', async () => {
    mode = 'ok';
    banner = outage('incident-10');
    const { page } = await open();
    await page.getByRole('button', { name: 'Dismiss' }).click();
    expect(await page.getByRole('status').count()).toBe(0);

    const answered = page.waitForResponse(/banner\.json/);
    await page.reload();
    await answered;
    await page.waitForLoadState('networkidle');
    await settled(page);
    expect(await page.getByRole('status').count()).toBe(0);

    // A new event: the same visitor (same localStorage) sees it; a fresh context stands for the browser cache expiring.
    banner = outage('incident-11');
    const state = await page.context().storageState();
    await page.context().close();
    const again = await open('/', state);
    await again.page.getByRole('status').waitFor();
    await again.page.context().close();
  });

  it.each([
    { mode: 'error' as const, path: '/' },
    { mode: 'garbage' as const, path: '/' },
  ])('shows nothing and logs nothing when Vigil answers $mode', async ({ mode: next, path }) => {
    mode = next;
    const before = jsonRequests;
    const { page, errors } = await open(path);
    await waitFor('the banner request', () => jsonRequests > before);
    await page.waitForLoadState('networkidle');
    await settled(page);
    await expectNothingShown({ page, errors });
  });

  it('gives up on a hanging Vigil after its timeout and shows nothing', async () => {
    mode = 'hang';
    const closedBefore = hungRequestsClosed;
    const { page, errors } = await open();
    await waitFor('the script to abort the hanging request', () => hungRequestsClosed > closedBefore, 10_000);
    await expectNothingShown({ page, errors });
  });

  it('shows nothing when Vigil is not there at all', async () => {
    const { page, errors } = await open('/?stopped');
    await page.waitForLoadState('networkidle');
    await settled(page);
    await expectNothingShown({ page, errors });
  });

  it('shows the automatic banner after bad uploads through the real pipeline, and nothing once good ones and both holds have cleared it', async () => {
    const store = await pgliteBackend.createStore();
    const clock = new FakeClock(Date.now());
    const real = await startBannerVigil(store, clock);
    try {
      const clip = path.join(store.tempDir, 'clip.mp4');
      await generateTestClip(clip, { seconds: 1, width: 160, height: 120 });
      const current = async () => (await getJson<{ banner: Banner | null }>(real, '/embed/banner.json')).banner;
      const shown = async () => {
        const { page, errors } = await open(`/?vigil=${encodeURIComponent(real.url)}`);
        await page.waitForLoadState('networkidle');
        await settled(page);
        const region = page.getByRole('status');
        const text = (await region.count()) > 0 ? await region.textContent() : null;
        await page.context().close();
        expect(errors).toEqual([]);
        return text;
      };

      await processUploads(real, [randomBytes(4096), randomBytes(4096)], 'failed');
      await untilOnClock(clock, 'the automatic banner', async () => (await current()) ?? undefined);
      expect(await shown()).toContain(SLOWER);

      // 2 failed of 6 is at the clear level: the rule's hold, then the banner's own.
      await processUploads(real, [clip, clip, clip, clip], 'published');
      await untilOnClock(clock, 'the banner to clear', async () => (await current()) === null);
      expect(await shown()).toBeNull();
    } finally {
      await real.stop();
      await store.cleanup();
    }
  });
});
