import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { assert, browser, ffmpegPing, queueLoad, resources, videoE2E } from '../../app/index.ts';
import { probesModule, runProbeNow } from '../../probes/index.ts';
import type { ProbeRunContext } from '../../probes/types.ts';
import { processingModule } from '../../processing/index.ts';
import type { TestStore } from '../support/backends.ts';
import { processingTestConfig, startSmtp, TEST_KEY, withKey } from '../processing/support.ts';
import { run } from './support.ts';

let page: Server;
let pageUrl: string;
let tempDir: string;

beforeAll(async () => {
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-media-'));
  page = createServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>Vigil test page</title>
      <button id="go" onclick="setTimeout(() => document.getElementById('out').textContent = 'Upload complete', 700)">Upload</button><p id="out"></p>`),
  );
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(page.address() as net.AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => page.close(resolve));
  rmSync(tempDir, { recursive: true, force: true });
});

describe('ffmpeg, resources and browser probes', () => {
  it('ffmpegPing encodes and checks a clip with the workers\' ffmpeg, and fails past its budget', async () => {
    const ok = await run(ffmpegPing({ name: 'ffmpeg', seconds: 1, width: 160, height: 120 }));
    expect(ok.result).toMatchObject({ success: true, details: { streams: [{ type: 'video', codec: 'h264', width: 160, height: 120 }] } });
    expect(Object.keys(ok.result.timings!)).toEqual(['encode', 'probe']);
    const late = await run(ffmpegPing({ name: 'ffmpeg-late', seconds: 5, width: 1280, height: 720, budget: '50ms' }));
    expect(late.result.success).toBe(false);
    expect(late.result.reason).toMatch(/timed out|budget|50 ?ms/i);
  });

  it('resources reports CPU, memory, disk and event-loop lag, failing on a threshold it crosses', async () => {
    const ok = await run(resources({ name: 'resources', disks: [{ path: tempDir, minFree: 0 }], maxEventLoopLag: '10s', minMemoryAvailable: 0 }));
    expect(ok.result.success).toBe(true);
    expect(ok.result.details).toMatchObject({ loadPerCpu: expect.any(Number), memoryAvailable: expect.any(Number), eventLoopLagMs: expect.any(Number), disks: [{ path: tempDir }] });
    const full = await run(resources({ name: 'resources-full', disks: [{ path: tempDir, minFree: 1 }] }));
    expect(full.result.reason).toMatch(new RegExp(`^disk at ${tempDir} has [0-9.]+ free, below 1$`));
  });

  it('browser loads a page in Chromium and runs a flow; a failing step keeps a screenshot', async () => {
    const ok = await run(browser({ name: 'page', url: pageUrl, steps: [{ click: '#go' }, { expectText: 'Upload complete' }], timeout: '30s' }));
    expect(ok.result).toMatchObject({ success: true, details: { title: 'Vigil test page' } });
    expect(ok.result.timings).toMatchObject({ launch: expect.any(Number), load: expect.any(Number), firstByte: expect.any(Number), flow: expect.any(Number) });
    const screenshots = path.join(tempDir, 'shots');
    const failed = await run(browser({ name: 'page-broken', url: pageUrl, steps: [{ expectText: 'Payment accepted' }], screenshotDir: screenshots, timeout: '12s' }));
    expect(failed.result).toMatchObject({ success: false });
    expect(failed.result.reason).toMatch(/^step 1 of 1 \(expectText "Payment accepted"\): the page did not show "Payment accepted" within [0-9.]+s$/);
    expect(existsSync(failed.result.details!.screenshot as string)).toBe(true);
  });

  it('browser checks the page with assertions: title, address, visible text, status and response time, naming what failed', async () => {
    const checks = [assert.status().equals(200), assert.title().equals('Vigil test page'), assert.pageUrl().matches(/^http:\/\/127\.0\.0\.1:\d+\/$/), assert.text().contains('Upload complete'), assert.responseTime().lessThan(25_000)];
    const ok = await run(browser({ name: 'page-asserted', url: pageUrl, steps: [{ click: '#go' }, { expectText: 'Upload complete' }], assertions: checks, timeout: '30s' }));
    expect(ok.result).toMatchObject({ success: true });
    const screenshots = path.join(tempDir, 'shots-assert');
    const wrong = await run(browser({ name: 'page-wrong-title', url: pageUrl, assertions: [assert.text().notContains('Payment'), assert.title().equals('Checkout')], screenshotDir: screenshots, timeout: '30s' }));
    expect(wrong.result).toMatchObject({ success: false, reason: 'title equals "Checkout": got "Vigil test page"' });
    expect(wrong.outcome.failure).toBe('assertion');
    expect(existsSync(wrong.result.details!.screenshot as string)).toBe(true);
    const other = browser({ name: 'page-bad-source', url: pageUrl, assertions: [assert.jsonPath('$.a').equals(1)] });
    expect(other.valid ? [] : other.issues.join('\n')).toMatch(/^assertions\.0\.source: /m);
  });

  it('browser names the step and selector that hung, keeps a screenshot before the probe timeout closes the browser', async () => {
    const screenshots = path.join(tempDir, 'shots-timeout');
    const stuck = await run(browser({ name: 'page-stuck', url: pageUrl, steps: [{ click: '#go' }, { click: '#pay' }], screenshotDir: screenshots, timeout: '12s' }));
    expect(stuck.result).toMatchObject({ success: false });
    expect(stuck.result.reason).toMatch(/^step 2 of 2 \(click "#pay"\): timed out after [0-9.]+s$/);
    expect(existsSync(stuck.result.details!.screenshot as string)).toBe(true);
  });
});

// The probe's own key holds only what it needs.
const E2E_KEY = 'vigil-e2e-probe-key-upload-read-delete';
const keys = [
  { name: 'test', scopes: ['upload', 'read', 'delete', 'admin'], key: TEST_KEY },
  { name: 'e2e-probe', scopes: ['upload', 'read', 'delete'], key: E2E_KEY },
];

describe('video probes against the built-in processing core', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let store: TestStore;

  beforeAll(async () => {
    smtp = await startSmtp();
    store = { dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => {} };
  });

  afterAll(() => smtp.close());

  function contextOf(vigil: Vigil, config: ProbeRunContext['config']): ProbeRunContext {
    return { config, db: vigil.db, clock: systemClock, logger: vigil.logger, registry: vigil.registry, location: 'local', publicUrl: vigil.url, queue: vigil.queue };
  }

  it('videoE2E uploads, follows every stage, verifies the output and the email, and deletes the video', async () => {
    const mailbox = async ({ to, videoId }: { to: string; videoId: string }) => smtp.messages.some((mail) => mail.to && JSON.stringify(mail.to).includes(to) && (mail.text ?? '').includes(videoId));
    const probes = [videoE2E({ name: 'e2e', apiKey: E2E_KEY, clip: { seconds: 2, width: 320, height: 240 }, deadlines: { queued: '30s', processing: '60s', published: '90s' }, email: { to: 'probe@example.com', read: mailbox, deadline: '30s' }, timeout: '120s' })];
    const config = processingTestConfig(store, { keys, renditions: [{ name: '240p', height: 240 }], notices: { synthetic: true } }, { smtp: { url: smtp.url }, probes });
    const vigil = await startVigil({ config, modules: [processingModule, probesModule] });
    try {
      const result = await runProbeNow(contextOf(vigil, config), 'e2e');
      expect(result).toMatchObject({ success: true, kind: 'videoE2E' });
      expect(JSON.stringify(result)).not.toContain(E2E_KEY);
      expect(Object.keys(result.timings!)).toEqual(expect.arrayContaining(['upload', 'queued', 'processing', 'published', 'verify', 'email', 'delete']));
      const videoId = result.details!.videoId as string;
      expect((await fetch(`${vigil.url}/api/v1/videos/${videoId}`, { headers: withKey() })).status).toBe(404);
      const metrics = await (await fetch(`${vigil.url}/metrics`)).text();
      expect(metrics).toMatch(/probe_video_stage_duration_seconds\{probe="e2e",kind="videoE2E",location="local",stage="processing"\} [0-9.]+/);
    } finally {
      await vigil.stop();
    }
  });

  it('videoE2E names the stage that missed its deadline, and queueLoad sees the work piling up', async () => {
    const probes = [
      videoE2E({ name: 'e2e-late', apiKey: E2E_KEY, deadlines: { queued: '2s' }, pollInterval: '200ms', timeout: '60s' }),
      queueLoad({ name: 'queues', maxDepth: 0, maxTimeToDrain: '10m', window: '1m' }),
      queueLoad({ name: 'queues-lenient', maxDepth: 10 }),
    ];
    // A store of its own: the stages the test before finished within queueLoad's window would count as drained.
    const config = processingTestConfig({ ...store, dataDir: path.join(tempDir, 'data-without-workers') }, { keys }, { probes });
    // The api alone: uploads are accepted but no worker ever takes them. No probes role either: the scheduler would
    // run e2e-late on its own timetable, and its upload would sit in the queue beside the one counted below.
    const vigil = await startVigil({ config, roles: ['api'], modules: [processingModule, probesModule] });
    try {
      const late = await runProbeNow(contextOf(vigil, config), 'e2e-late');
      expect(late).toMatchObject({ success: false, details: { stage: 'queued' } });
      expect(late.reason).toMatch(/^queued: still queued after \d+ ms, past the 2000 ms deadline$/);
      expect((await fetch(`${vigil.url}/api/v1/videos/${late.details!.videoId}`, { headers: withKey() })).status).toBe(404);

      const form = new FormData();
      form.set('file', new Blob([Buffer.from('not really a video')]), 'x.mp4');
      expect((await fetch(`${vigil.url}/api/v1/videos`, { method: 'POST', body: form, headers: withKey() })).status).toBe(202);
      const loaded = await runProbeNow(contextOf(vigil, config), 'queues');
      expect(loaded.success).toBe(false);
      expect(loaded.reason).toMatch(/processing\.\w+ holds 1, above 0/);
      expect(loaded.reason).toMatch(/needs forever \(nothing drained in the window\) to drain/);
      expect((await runProbeNow(contextOf(vigil, config), 'queues-lenient')).success).toBe(true);
    } finally {
      await vigil.stop();
    }
  });
});
