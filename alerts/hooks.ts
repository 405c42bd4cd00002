import { execFile } from 'node:child_process';
import { z } from 'zod';
import { duration } from '../core/config/duration.ts';
import { redactUrl, secret } from '../core/config/secret.ts';
import { DeliveryError, FIRING_EVENTS, type Receiver, type ReceiverContext } from './receivers/receiver.ts';
import { finishHookAttempt, hookAttemptsSince, hookState, insertHookAttempt, lockHook } from './store.ts';
import type { Incident } from './types.ts';

const hookAction = z.union([
  z.strictObject({ command: z.array(z.string()).min(1) }),
  z.strictObject({ http: z.strictObject({ url: z.url(), method: z.enum(['POST', 'PUT', 'GET']).default('POST'), headers: z.record(z.string(), secret()).default({}) }) }),
]);

/** The fields restart and scale hooks share. */
export const hookOptions = {
  /** The action per service label value. */
  services: z.record(z.string(), hookAction),
  timeout: duration().default(30_000),
  /** At most this many attempts per service in `budgetWindow`; then EMERGENCY and no more until reset. */
  budget: z.number().int().min(1).default(3),
  budgetWindow: duration().default(3_600_000),
  /** Wait before judging an attempt (the service needs time to come up); grows with jitter per attempt. */
  backoff: duration().default(5000),
};

export type HookAction = z.output<typeof hookAction>;
export type HookSettings = z.output<z.ZodObject<typeof hookOptions>>;

export type { HookAttempt } from './store.ts';

/** How a hook judges that its action worked: restart hooks run the probe afresh, scale hooks trust the action. */
export type HookVerifier = (incident: Incident, context: ReceiverContext) => Promise<{ success: boolean; reason?: string }>;

const describeAction = (action: HookAction) => ('command' in action ? action.command.join(' ') : `${action.http.method} ${redactUrl(action.http.url)}`);

function runAction(action: HookAction, timeout: number): Promise<{ ok: boolean; detail: string }> {
  if ('command' in action) {
    const [file, ...args] = action.command;
    return new Promise((resolve) => {
      execFile(file!, args, { timeout, killSignal: 'SIGKILL' }, (error, _stdout, stderr) => {
        if (!error) return resolve({ ok: true, detail: 'exit 0' });
        const reason = error.killed ? `timed out after ${timeout} ms` : `exit ${error.code ?? error.signal}`;
        resolve({ ok: false, detail: `${reason}${stderr ? `: ${String(stderr).trim().slice(0, 200)}` : ''}` });
      });
    });
  }
  const headers = Object.fromEntries(Object.entries(action.http.headers).map(([name, value]) => [name, value.reveal()]));
  return fetch(action.http.url, { method: action.http.method, headers, signal: AbortSignal.timeout(timeout) }).then(
    async (response) => {
      await response.body?.cancel();
      return { ok: response.ok, detail: `HTTP ${response.status}` };
    },
    (error: Error) => ({ ok: false, detail: error.name === 'TimeoutError' ? `timed out after ${timeout} ms` : error.message }),
  );
}

export { hookAttempts } from './store.ts';

/**
 * The guarded mechanism behind restart and scale hooks: the configured action once per service and message, one
 * at a time per service, a timeout, backoff with jitter before judging, success judged by `verify`, a budget per
 * window, every attempt audited. It never runs inside a maintenance window: the attempt waits for the window's end.
 * With the budget spent (by this incident or an earlier one) it records that and asks for EMERGENCY in its result;
 * the lifecycle escalates (once more after each reset that runs out again).
 */
export function createHookReceiver(name: string, settings: HookSettings, context: ReceiverContext, verify: HookVerifier, random: () => number = Math.random): Receiver {
  const { db, clock, metrics } = context;
  const running = new Map<string, Promise<unknown>>();

  async function audit(incident: Incident, service: string, action: string, outcome: string, detail: string, startedAt = clock.now()): Promise<number> {
    const id = await insertHookAttempt(db, { receiver: name, service, incidentId: incident.id, startedAt, finishedAt: outcome === 'running' ? null : clock.now(), action, outcome, detail });
    if (outcome !== 'running') metrics.restartAttempts.inc({ receiver: name, outcome });
    return id;
  }

  async function attempt(incident: Incident): Promise<Record<string, unknown>> {
    const service = incident.labels.service ?? '';
    const action = settings.services[service];
    if (!action) return { skipped: `no action configured for service "${service}"` };
    const description = describeAction(action);
    const maintenance = await context.maintenanceFor(incident.labels);
    if (maintenance) {
      await audit(incident, service, description, 'maintenance', `held: inside maintenance #${maintenance.id} (${maintenance.title}) until ${new Date(maintenance.endsAt).toISOString()}`);
      throw new DeliveryError(`${name} for ${service}: held by maintenance #${maintenance.id}`, { temporary: true, held: true, retryAfterMs: Math.max(1000, maintenance.endsAt - clock.now()) });
    }
    const state = await hookState(db, name, service);
    const since = Math.max(clock.now() - settings.budgetWindow, state?.resetAt ?? 0);
    const used = await hookAttemptsSince(db, name, service, since);
    if (state?.lockedAt != null || used >= settings.budget) {
      if (state?.lockedAt == null) await lockHook(db, name, service, clock.now());
      const mine = await hookAttemptsSince(db, name, service, state?.resetAt ?? 0, incident.id);
      await audit(incident, service, description, 'budget-spent', `${used} attempts for ${service} since ${new Date(since).toISOString()}; no more until reset`);
      return { escalate: { reason: `${name}: ${mine} attempt${mine === 1 ? '' : 's'} did not fix it`, sequence: incident.resets } };
    }

    const startedAt = clock.now();
    const attemptId = await audit(incident, service, description, 'running', '', startedAt);
    let outcome = 'failed';
    let detail: string;
    try {
      const result = await runAction(action, settings.timeout);
      detail = result.detail;
      if (result.ok) {
        // The service needs a moment to come up before it is judged.
        await clock.sleep(Math.round(settings.backoff * (0.75 + random() / 2)));
        const verdict = await verify(incident, context);
        outcome = verdict.success ? 'fixed' : 'not-fixed';
        detail = `${result.detail}; check ${verdict.success ? 'passed' : `failed${verdict.reason ? `: ${verdict.reason}` : ''}`}`;
      }
    } catch (error) {
      detail = `could not run or check: ${(error as Error).message}`;
    }
    await finishHookAttempt(db, attemptId, outcome, detail, clock.now());
    metrics.restartAttempts.inc({ receiver: name, outcome });
    if (outcome !== 'fixed') {
      throw new DeliveryError(`${name} for ${service}: ${detail}`, { temporary: true, retryAfterMs: Math.round(settings.backoff * 2 ** used * (0.5 + random())) });
    }
    return { fixed: true, attempt: attemptId };
  }

  return {
    name,
    events: FIRING_EVENTS,
    // The action's own timeout, the wait before judging and the check.
    timeout: settings.timeout + settings.backoff * 2 + 60_000,
    async deliver({ incidents }) {
      const hook: Record<string, unknown> = {};
      const escalate: Record<string, unknown> = {};
      // Once per service per message: incidents grouped together share one restart.
      const byService = new Map<string, Incident[]>();
      for (const incident of incidents) byService.set(incident.labels.service ?? '', [...(byService.get(incident.labels.service ?? '') ?? []), incident]);
      for (const [service, group] of byService) {
        const previous = running.get(service) ?? Promise.resolve();
        const current = previous.catch(() => {}).then(() => attempt(group[0]!));
        running.set(service, current);
        const outcome = await current;
        for (const incident of group) {
          hook[String(incident.id)] = outcome;
          if (outcome.escalate) escalate[String(incident.id)] = { ...(outcome.escalate as object), sequence: incident.resets };
        }
      }
      return Object.keys(escalate).length > 0 ? { hook, escalate } : { hook };
    },
  };
}
