import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Page } from 'playwright-core';
import { z } from 'zod';
import { defineKind } from '../define.ts';
import { since } from './abort.ts';

/** A scripted flow run after the page loaded; throw (or fail an expectation) to fail the probe. */
export type BrowserScript = (page: Page) => Promise<void>;

const step = z.union([
  z.strictObject({ click: z.string().min(1) }),
  z.strictObject({ fill: z.string().min(1), value: z.string() }),
  z.strictObject({ goto: z.url() }),
  z.strictObject({ waitFor: z.string().min(1) }),
  z.strictObject({ expectText: z.string().min(1) }),
]);

const options = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  /** Declarative steps after the load: click, fill, goto, waitFor (a selector), expectText (text on the page). */
  steps: z.array(step).default([]),
  script: z.custom<BrowserScript>((value) => typeof value === 'function', 'a function (page) => Promise<void>').optional(),
  /** Where failure screenshots go. */
  screenshotDir: z.string().min(1).default('.vigil/screenshots'),
});

/** Loads a page (and runs a flow) in the system Chromium through Playwright; navigation timings, a screenshot on failure. */
export const browser = defineKind({
  kind: 'browser',
  options,
  async run(config, context) {
    const start = performance.now();
    // Loaded on first use: Playwright is large and most deployments have no browser probe.
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: process.env.VIGIL_CHROMIUM_PATH || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
    const close = () => void browser.close().catch(() => {});
    context.signal.addEventListener('abort', close, { once: true });
    const timings: Record<string, number> = { launch: since(start, performance.now()) };
    const page = await browser.newPage();
    try {
      if (context.traceparent) await page.setExtraHTTPHeaders({ traceparent: context.traceparent });
      const loadStart = performance.now();
      const response = await page.goto(config.url, { waitUntil: 'load' });
      timings.load = since(loadStart, performance.now());
      Object.assign(timings, await navigationTimings(page));
      if (!response || response.status() >= 400) throw new Error(`the page answered ${response?.status() ?? 'nothing'}`);
      const flowStart = performance.now();
      for (const action of config.steps) await perform(page, action);
      await config.script?.(page);
      if (config.steps.length > 0 || config.script) timings.flow = since(flowStart, performance.now());
      return { success: true, timings, details: { title: await page.title() } };
    } catch (error) {
      const screenshot = await keepScreenshot(page, config.screenshotDir, context.probe);
      return { success: false, failure: context.signal.aborted ? 'timeout' : 'browser', reason: (error as Error).message.split('\n')[0], timings, details: screenshot ? { screenshot } : {} };
    } finally {
      context.signal.removeEventListener('abort', close);
      close();
    }
  },
});

async function perform(page: Page, action: z.output<typeof step>): Promise<void> {
  if ('click' in action) await page.click(action.click);
  else if ('fill' in action) await page.fill(action.fill, action.value);
  else if ('goto' in action) await page.goto(action.goto, { waitUntil: 'load' });
  else if ('waitFor' in action) await page.waitForSelector(action.waitFor);
  else if (!(await page.getByText(action.expectText).count())) throw new Error(`the page does not show "${action.expectText}"`);
}

// Evaluated in the page, where the DOM types this project does not compile against exist.
const NAVIGATION_TIMINGS = `(() => {
  const entry = performance.getEntriesByType('navigation')[0];
  if (!entry) return {};
  const round = (ms) => Math.round(ms * 1000) / 1000;
  return {
    dns: round(entry.domainLookupEnd - entry.domainLookupStart),
    connect: round(entry.connectEnd - entry.connectStart),
    firstByte: round(entry.responseStart - entry.requestStart),
    domContentLoaded: round(entry.domContentLoadedEventEnd - entry.startTime),
    loadEvent: round(entry.loadEventEnd - entry.startTime),
  };
})()`;

function navigationTimings(page: Page): Promise<Record<string, number>> {
  return page.evaluate<Record<string, number>>(NAVIGATION_TIMINGS);
}

async function keepScreenshot(page: Page, dir: string, probe: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true });
    const file = path.resolve(dir, `${probe.replace(/[^A-Za-z0-9_.-]/g, '_')}-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
    await page.screenshot({ path: file, timeout: 5000 });
    return file;
  } catch {
    return undefined;
  }
}
