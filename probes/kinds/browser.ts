import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Page } from 'playwright-core';
import { z } from 'zod';
import { formatDuration } from '../../core/config/duration.ts';
import { assertionsSchema, firstFailure } from '../assertions.ts';
import { defineKind, urlTarget } from '../define.ts';
import { untilAborted } from './abort.ts';
import { since } from './timing.ts';

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
  /** Checks once the flow ended, built with `assert`: status (of the page load), title, pageUrl, text (visible), responseTime (ms from the start of the page load to the end of the flow). */
  assertions: assertionsSchema(['status', 'title', 'pageUrl', 'text', 'responseTime']),
  /** Where failure screenshots go. */
  screenshotDir: z.string().min(1).default('.vigil/screenshots'),
});

type Step = z.output<typeof step>;

/** A step that failed, named for the reason: "step 2 (click "#login")". */
class StepFailure extends Error {
  constructor(where: string, error: unknown) {
    super(`${where}: ${playwrightReason(error)}`);
  }
}

/** An assertion on the page that did not hold; its message names the assertion, the expected and the actual value. */
class AssertionFailure extends Error {}

/** Loads a page (and runs a flow) in the system Chromium through Playwright; navigation timings, a screenshot on failure. */
export const browser = defineKind({
  kind: 'browser',
  options,
  target: (config) => urlTarget(config.url),
  async run(config, context) {
    const start = performance.now();
    // Playwright's own timeouts end a little before the probe's, so a stuck step is reported with its selector and
    // screenshot while the browser is still open; the probe's abort stays the backstop that closes it.
    const reserve = Math.min(2000, context.timeout * 0.2);
    const remaining = () => Math.max(1, Math.floor(context.timeout - reserve - (performance.now() - start)));
    // Loaded on first use: Playwright is large and most deployments have no browser probe.
    const { chromium } = await import('playwright-core');
    const launching = chromium.launch({ executablePath: process.env.VIGIL_CHROMIUM_PATH || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'], timeout: context.timeout });
    // An abort during the launch cannot stop it: the browser is closed as soon as it is up.
    const browser = await untilAborted(launching, context.signal, () => {}, (late) => void late.close().catch(() => {}));
    const close = () => void browser.close().catch(() => {});
    context.signal.addEventListener('abort', close, { once: true });
    const timings: Record<string, number> = { launch: since(start, performance.now()) };
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(remaining());
      page.setDefaultNavigationTimeout(remaining());
      try {
        if (context.traceparent) await page.setExtraHTTPHeaders({ traceparent: context.traceparent });
        const loadStart = performance.now();
        const response = await page.goto(config.url, { waitUntil: 'load', timeout: remaining() }).catch((error: unknown) => {
          throw new StepFailure(`loading ${config.url}`, error);
        });
        timings.load = since(loadStart, performance.now());
        Object.assign(timings, await navigationTimings(page));
        if (!response || response.status() >= 400) throw new Error(`loading ${config.url}: the page answered ${response?.status() ?? 'nothing'}`);
        const flowStart = performance.now();
        for (const [index, action] of config.steps.entries()) {
          await perform(page, action, remaining()).catch((error: unknown) => {
            throw new StepFailure(`step ${index + 1} of ${config.steps.length} (${describeStep(action)})`, error);
          });
        }
        if (config.script) {
          await config.script(page).catch((error: unknown) => {
            throw new StepFailure('the script', error);
          });
        }
        if (config.steps.length > 0 || config.script) timings.flow = since(flowStart, performance.now());
        const title = await page.title();
        const responseTime = since(loadStart, performance.now());
        if (config.assertions.length > 0) {
          // The visible text is read only when an assertion asks for it.
          const text = config.assertions.some((assertion) => assertion.source === 'text') ? await page.locator('body').innerText({ timeout: remaining() }) : '';
          const observed = { status: response.status(), title, pageUrl: page.url(), text, responseTime };
          const failed = firstFailure(config.assertions, (assertion) => observed[assertion.source as keyof typeof observed] ?? null);
          if (failed) throw new AssertionFailure(failed);
        }
        return { success: true, timings, details: { title } };
      } catch (error) {
        const screenshot = context.signal.aborted ? undefined : await keepScreenshot(page, config.screenshotDir, context.probe, Math.max(500, reserve / 2));
        const timedOut = context.signal.aborted || (error instanceof Error && /Timeout \d+ms exceeded/.test(error.message));
        return { success: false, failure: error instanceof AssertionFailure ? 'assertion' : timedOut ? 'timeout' : 'browser', reason: (error as Error).message.split('\n')[0], timings, details: screenshot ? { screenshot } : {} };
      }
    } finally {
      context.signal.removeEventListener('abort', close);
      close();
    }
  },
});

async function perform(page: Page, action: Step, timeout: number): Promise<void> {
  if ('click' in action) await page.click(action.click, { timeout });
  else if ('fill' in action) await page.fill(action.fill, action.value, { timeout });
  else if ('goto' in action) await page.goto(action.goto, { waitUntil: 'load', timeout });
  else if ('waitFor' in action) await page.waitForSelector(action.waitFor, { timeout });
  else {
    await page
      .getByText(action.expectText)
      .first()
      .waitFor({ state: 'visible', timeout })
      .catch(() => {
        throw new Error(`the page did not show "${action.expectText}" within ${formatDuration(Math.round(timeout))}`);
      });
  }
}

function describeStep(action: Step): string {
  if ('click' in action) return `click ${JSON.stringify(action.click)}`;
  if ('fill' in action) return `fill ${JSON.stringify(action.fill)}`;
  if ('goto' in action) return `goto ${action.goto}`;
  if ('waitFor' in action) return `waitFor ${JSON.stringify(action.waitFor)}`;
  return `expectText ${JSON.stringify(action.expectText)}`;
}

/** Playwright's first line without its method prefix, and its timeouts in words. */
function playwrightReason(error: unknown): string {
  const line = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.replace(/^[a-zA-Z.]+: /, '');
  const timeout = /^Timeout (\d+)ms exceeded/.exec(line);
  return timeout ? `timed out after ${formatDuration(Number(timeout[1]))}` : line;
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

async function keepScreenshot(page: Page, dir: string, probe: string, timeout: number): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true });
    const file = path.resolve(dir, `${probe.replace(/[^A-Za-z0-9_.-]/g, '_')}-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
    await page.screenshot({ path: file, timeout });
    return file;
  } catch {
    return undefined;
  }
}
