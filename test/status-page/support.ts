import { expect } from 'vitest';
import { alertsModule } from '../../alerts/index.ts';
import { bannerReceiver, component, failureRateRule, http as httpProbe, route } from '../../app/index.ts';
import { type Clock, DAY } from '../../core/clock.ts';
import type { Db } from '../../core/db/index.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { processingModule } from '../../processing/index.ts';
import { probesModule } from '../../probes/index.ts';
import { recordResults } from '../../probes/results.ts';
import { statusPageModule } from '../../status-page/index.ts';
import { processingTestConfig, upload, waitForState } from '../processing/support.ts';
import { testConfig, type TestStore } from '../support/backends.ts';

export const ADMIN_TOKEN = 'status-admin-token';

/** Probe definitions the components can name; in the "api" role nothing runs them. */
export const probesNamed = (names: readonly string[]) => names.map((name) => httpProbe({ name, url: 'http://127.0.0.1:9/never', schedule: '1m' }));

/** Vigil serving the status page (and the admin API) on an ephemeral port. */
export async function startStatusVigil(
  store: TestStore,
  options: { clock: Clock; probes: unknown[]; statusPage: Record<string, unknown>; alerts?: Record<string, unknown>; roles?: string[]; publicUrl?: string; smtpUrl?: string },
): Promise<Vigil> {
  const server = { adminToken: ADMIN_TOKEN, ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}) };
  const config = testConfig(store, { probes: options.probes, alerts: options.alerts ?? {}, statusPage: options.statusPage, server, ...(options.smtpUrl ? { smtp: { url: options.smtpUrl } } : {}) });
  return startVigil({ config, roles: options.roles ?? ['api'], clock: options.clock, modules: [probesModule, alertsModule, statusPageModule] });
}

/** `checks` results a day for `days` days up to `now`; `failures(dayIndex)` of them failed (day 0 is the oldest). */
export async function seedUptime(db: Db, probe: string, options: { days: number; now: number; checks?: number; failures?: (day: number) => number }): Promise<void> {
  const checks = options.checks ?? 4;
  const batch = [];
  for (let day = 0; day < options.days; day++) {
    const start = Math.floor((options.now - (options.days - 1 - day) * DAY) / DAY) * DAY;
    const failed = options.failures?.(day) ?? 0;
    for (let i = 0; i < checks; i++) {
      batch.push({
        result: { probe, kind: 'http', location: 'local', success: i >= failed, startedAt: Math.min(start + i * 3_600_000, options.now - 1), durationMs: 12 },
        thresholds: { failureThreshold: 1, successThreshold: 1, quorum: 1, labels: {}, silentAfterMs: 365 * DAY },
      });
    }
  }
  for (let i = 0; i < batch.length; i += 200) await recordResults(db, batch.slice(i, i + 200));
}

export async function admin(vigil: Vigil, method: string, route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${vigil.url}/admin/api/v1/status${route}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

export async function getJson<T = Record<string, unknown>>(vigil: Vigil, path: string): Promise<T> {
  const response = await fetch(`${vigil.url}${path}`);
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return (await response.json()) as T;
}

/** The automatic banner's words for the component below. */
export const SLOWER = 'Video processing is slower than usual; uploads are safe and will finish automatically.';

/**
 * Vigil with every role: the processing pipeline, a failure-rate rule over its videos (window 5 min, at least 2
 * videos, trigger 60 %, clear 35 %, held 1 min) routed to the banner receiver, and a banner that holds 1 min.
 */
export async function startBannerVigil(store: TestStore, clock: Clock): Promise<Vigil> {
  const config = processingTestConfig(store, {}, {
    alerts: {
      evaluationInterval: '5s',
      rules: [failureRateRule({ name: 'video-failures', window: '5m', minSamples: 2, trigger: 0.6, clear: 0.35, hold: '1m', labels: { service: 'processing' } })],
      receivers: { site: bannerReceiver({}) },
      routes: [route({ receivers: ['site'] })],
    },
    statusPage: {
      refresh: '5s',
      components: [component({ name: 'Video processing', from: { rules: ['video-failures'] } })],
      banner: { holdTime: '1m' },
    },
  });
  return startVigil({ config, clock, modules: [processingModule, probesModule, alertsModule, statusPageModule] });
}

/** Uploads through the real pipeline (real ffmpeg) and waits, on a still fake clock, for every video to finish as `expected`. */
export async function processUploads(vigil: Vigil, files: Buffer[] | string[], expected: 'failed' | 'published'): Promise<void> {
  const answers = await Promise.all(files.map((file, index) => upload(vigil.url, file, {}, `v${index}.mp4`)));
  for (const answer of answers) expect((await waitForState(vigil.url, answer.body.id, ['published', 'failed'], 120_000)).state).toBe(expected);
}
