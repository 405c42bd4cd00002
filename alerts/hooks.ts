import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fetch } from 'undici';
import { z } from 'zod';
import { createWakeups } from '../core/clock.ts';
import { duration } from '../core/config/duration.ts';
import { redactUrl, secret } from '../core/config/secret.ts';
import type { Queryable } from '../core/db/index.ts';
import { NotLeaderError } from './leader.ts';
import { FIRING_EVENTS, type Receiver, type ReceiverContext } from './receivers/receiver.ts';
import {
  closeInterruptedHookAttempts,
  dueHookJobs,
  finishHookAttempt,
  finishHookJob,
  hookAttemptsSince,
  hookState,
  incidentsByIds,
  insertHookAttempt,
  lockHook,
  postponeHookJob,
  queueHookJob,
  type HookJob,
} from './store.ts';
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

/**
 * coreutils' timeout, where there is one, kills a command at its timeout even when this process died first: the next
 * leader waits out that timeout before it starts another action for the service, so no command outlives it.
 */
const TIMEOUT_COMMAND = ['/usr/bin/timeout', '/bin/timeout'].find((file) => existsSync(file));

export function runAction(action: HookAction, timeout: number): Promise<{ ok: boolean; detail: string }> {
  if ('command' in action) {
    const [file, ...args] = action.command;
    const [command, argv] = TIMEOUT_COMMAND ? [TIMEOUT_COMMAND, ['--signal=KILL', `${timeout / 1000}s`, file!, ...args]] : [file!, args];
    const started = performance.now();
    return new Promise((resolve) => {
      // Without the wrapper this process's own timer kills the command; with it, the timer is only a backstop.
      execFile(command, argv, { timeout: TIMEOUT_COMMAND ? timeout + 5000 : timeout, killSignal: 'SIGKILL' }, (error, _stdout, stderr) => {
        if (!error) return resolve({ ok: true, detail: 'exit 0' });
        // timeout ends with the signal it killed the command with (or its status, 128 + 9, on older coreutils).
        const killedByWrapper = TIMEOUT_COMMAND !== undefined && (error.signal === 'SIGKILL' || error.code === 137) && performance.now() - started >= timeout;
        const timedOut = error.killed || killedByWrapper;
        const reason = timedOut ? `timed out after ${timeout} ms` : `exit ${error.code ?? error.signal}`;
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

type Step = { done: string } | { retryAt: number };

/**
 * The guarded mechanism behind restart and scale hooks. Delivering a notification only queues a job per service
 * (once per message: a batch acts once per service); the jobs run off the delivery path on the injected clock, one
 * lane per service, so one service's command, backoff and check never delay another's. Each try: the configured
 * action with a timeout, backoff with jitter before judging, success judged by `verify`, a budget per window, every
 * attempt audited. Inside a maintenance window the job waits for its end. With the budget spent (by this incident or
 * an earlier one) it records that on each incident's audit row; the lifecycle reads those rows and escalates (once
 * more after each reset that runs out again).
 */
export function createHookReceiver(name: string, settings: HookSettings, context: ReceiverContext, verify: HookVerifier, random: () => number = Math.random): Receiver {
  const { db, clock, metrics, logger } = context;
  const lanes = new Map<string, Promise<void>>();
  const stopping = new AbortController();
  // A postponed job is looked for again at its time, not at the next poll (the alerts outbox's backstop); never sooner
  // than a second, so a job due again at once (its time a rounding short of now) cannot spin.
  const wakeups = createWakeups(clock);
  const postpone = async (jobId: number, at: number) => {
    await write((q) => postponeHookJob(q, jobId, at));
    wakeups.at(Math.max(at, clock.now() + 1000), runDue);
  };

  // Every write of a lane is fenced by the lease, as the outbox's are: a deposed leader records nothing and, since the
  // "running" attempt is written before its action starts, starts no command.
  const write = <T>(fn: (q: Queryable) => Promise<T>) =>
    db.transaction(async (q) => {
      await context.fence(q);
      return fn(q);
    });
  const audit = (incident: Incident, service: string, action: string, outcome: string, detail: string, escalation?: { reason: string; resets: number }) =>
    write((q) => insertHookAttempt(q, { receiver: name, service, incidentId: incident.id, startedAt: clock.now(), finishedAt: outcome === 'running' ? null : clock.now(), action, outcome, detail, ...(escalation ? { escalation } : {}) }));

  /** One try of a job: done with an outcome, or to be tried again at `retryAt`. */
  async function tryJob(job: HookJob): Promise<Step> {
    const incidents = (await incidentsByIds(db, job.incidentIds)).filter((incident) => incident.state !== 'resolved');
    const incident = incidents[0];
    if (!incident) return { done: 'resolved' };
    const { service } = job;
    const action = settings.services[service];
    // The config changed since the job was queued.
    if (!action) return { done: 'unconfigured' };
    const description = describeAction(action);
    const maintenance = await context.maintenanceFor(incident.labels);
    if (maintenance) {
      await audit(incident, service, description, 'maintenance', `held: inside maintenance #${maintenance.id} (${maintenance.title}) until ${new Date(maintenance.endsAt).toISOString()}`);
      metrics.restartAttempts.inc({ receiver: name, outcome: 'maintenance' });
      return { retryAt: Math.max(clock.now() + 1000, maintenance.endsAt) };
    }
    const state = await hookState(db, name, service);
    const since = Math.max(clock.now() - settings.budgetWindow, state?.resetAt ?? 0);
    const used = await hookAttemptsSince(db, name, service, since);
    if (state?.lockedAt != null || used >= settings.budget) {
      if (state?.lockedAt == null) await write((q) => lockHook(q, name, service, clock.now()));
      for (const each of incidents) {
        const mine = await hookAttemptsSince(db, name, service, state?.resetAt ?? 0, each.id);
        const reason = `${name}: ${mine} attempt${mine === 1 ? '' : 's'} did not fix it`;
        await audit(each, service, description, 'budget-spent', `${used} attempts for ${service} since ${new Date(since).toISOString()}; no more until reset`, { reason, resets: each.resets });
      }
      metrics.restartAttempts.inc({ receiver: name, outcome: 'budget-spent' });
      return { done: 'budget-spent' };
    }

    // With the lease's safety margin left, or no command at all.
    if (!context.holdsLease()) throw new NotLeaderError();
    const attemptId = await audit(incident, service, description, 'running', '');
    let outcome = 'failed';
    let detail: string;
    try {
      const result = await runAction(action, settings.timeout);
      detail = result.detail;
      if (result.ok) {
        // The service needs a moment to come up before it is judged.
        await clock.sleep(Math.round(settings.backoff * (0.75 + random() / 2)), stopping.signal);
        const verdict = await verify(incident, context);
        outcome = verdict.success ? 'fixed' : 'not-fixed';
        detail = `${result.detail}; check ${verdict.success ? 'passed' : `failed${verdict.reason ? `: ${verdict.reason}` : ''}`}`;
      }
    } catch (error) {
      detail = `could not run or check: ${(error as Error).message}`;
    }
    await write((q) => finishHookAttempt(q, attemptId, outcome, detail, clock.now()));
    metrics.restartAttempts.inc({ receiver: name, outcome });
    if (outcome === 'fixed') return { done: 'fixed' };
    return { retryAt: clock.now() + Math.round(settings.backoff * 2 ** used * (0.5 + random())) };
  }

  /** One service's jobs in order, while they are due; a lane is the only one acting on its service. */
  function startLane(service: string): void {
    const lane = (async () => {
      // An attempt another process left running may still have its action running (a deposed leader, or a dead one
      // whose command lives on): this service's jobs wait until that action's timeout has passed, so two never overlap.
      const othersStartedAt = await write((q) => closeInterruptedHookAttempts(q, name, service, clock.now(), clock.now() - settings.timeout));
      if (othersStartedAt !== undefined) {
        const [job] = await dueHookJobs(db, name, clock.now(), service);
        if (job) await postpone(job.id, othersStartedAt + settings.timeout);
        return;
      }
      while (context.holdsLease() && !stopping.signal.aborted) {
        const [job] = await dueHookJobs(db, name, clock.now(), service);
        if (!job) return;
        const step = await tryJob(job);
        if ('done' in step) await write((q) => finishHookJob(q, job.id, step.done, clock.now()));
        else await postpone(job.id, step.retryAt);
      }
    })()
      .catch((error: unknown) => {
        if (error instanceof NotLeaderError) logger.warn({ receiver: name, service }, 'hook lane stopped: this process no longer holds the alerts lease');
        else logger.error({ err: error, receiver: name, service }, 'hook lane aborted');
      })
      .finally(() => lanes.delete(service));
    lanes.set(service, lane);
  }

  function runDue(): void {
    if (stopping.signal.aborted) return;
    dueHookJobs(db, name, clock.now()).then(
      (jobs) => {
        for (const job of jobs) if (!lanes.has(job.service)) startLane(job.service);
      },
      (error: unknown) => logger.error({ err: error, receiver: name }, 'could not read due hook jobs'),
    );
  }

  return {
    name,
    events: FIRING_EVENTS,
    async deliver({ key, incidents }) {
      const hook: Record<string, unknown> = {};
      const byService = new Map<string, Incident[]>();
      for (const incident of incidents) byService.set(incident.labels.service ?? '', [...(byService.get(incident.labels.service ?? '') ?? []), incident]);
      for (const [service, group] of byService) {
        const configured = settings.services[service] !== undefined;
        if (configured) await write((q) => queueHookJob(q, { receiver: name, service, notificationKey: key, incidentIds: group.map((incident) => incident.id), now: clock.now() }));
        for (const incident of group) hook[String(incident.id)] = configured ? { queued: service } : { skipped: `no action configured for service "${service}"` };
      }
      // The queued jobs start now rather than at the next poll.
      runDue();
      return { hook };
    },
    runDue,
    async stopJobs() {
      stopping.abort(new Error('stopping'));
      wakeups.cancelAll();
      await Promise.all(lanes.values());
    },
  };
}
