import { execFile } from 'node:child_process';
import { z } from 'zod';
import { duration } from '../core/config/duration.ts';
import { redactUrl, secret } from '../core/config/secret.ts';
import type { Queryable } from '../core/db/index.ts';
import { DeliveryError, FIRING_EVENTS, type Receiver, type ReceiverContext } from './receivers/receiver.ts';
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

export interface HookAttempt {
  id: number;
  receiver: string;
  service: string;
  incidentId: number;
  startedAt: number;
  finishedAt: number | null;
  action: string;
  outcome: string;
  detail: string;
}

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

export async function hookAttempts(q: Queryable, filter: { incidentId?: number; service?: string } = {}): Promise<HookAttempt[]> {
  const rows = await q.query<{ id: number; receiver: string; service: string; incident_id: number; started_at: number; finished_at: number | null; action: string; outcome: string; detail: string }>(
    `select * from alerts_hook_attempts where ($1::int is null or incident_id = $1) and ($2::text is null or service = $2) order by id`,
    [filter.incidentId ?? null, filter.service ?? null],
  );
  return rows.map((row) => ({ id: row.id, receiver: row.receiver, service: row.service, incidentId: row.incident_id, startedAt: row.started_at, finishedAt: row.finished_at, action: row.action, outcome: row.outcome, detail: row.detail }));
}

/** Lets a service's hooks act again after the budget was spent (`vigil incident reset`). */
export async function resetHookBudget(q: Queryable, service: string, now: number): Promise<void> {
  await q.query(
    `insert into alerts_hook_state (receiver, service, locked_at, reset_at) select distinct receiver, service, null::float8, $2::float8 from alerts_hook_attempts where service = $1
     on conflict (receiver, service) do update set locked_at = null, reset_at = $2`,
    [service, now],
  );
}

/**
 * The guarded mechanism behind restart and scale hooks: the configured action for the incident's service, one at a
 * time per service, a timeout, backoff with jitter between attempts, success judged by `verify`, a budget per window
 * (then EMERGENCY and nothing more until reset), never inside a maintenance window, every attempt audited.
 */
export function createHookReceiver(name: string, settings: HookSettings, context: ReceiverContext, verify: HookVerifier, random: () => number = Math.random): Receiver {
  const { db, clock, metrics } = context;
  const running = new Map<string, Promise<unknown>>();

  async function audit(incident: Incident, service: string, action: string, outcome: string, detail: string, startedAt = clock.now()): Promise<number> {
    const [row] = await db.query<{ id: number }>(
      `insert into alerts_hook_attempts (receiver, service, incident_id, started_at, finished_at, action, outcome, detail) values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
      [name, service, incident.id, startedAt, outcome === 'running' ? null : clock.now(), action, outcome, detail],
    );
    if (outcome !== 'running') metrics.restartAttempts.inc({ receiver: name, outcome });
    return row!.id;
  }

  async function attempt(incident: Incident): Promise<Record<string, unknown>> {
    const service = incident.labels.service ?? '';
    const action = settings.services[service];
    if (!action) return { skipped: `no action configured for service "${service}"` };
    const description = describeAction(action);
    const maintenance = await context.maintenanceFor(incident.labels);
    if (maintenance) {
      await audit(incident, service, description, 'maintenance', `not run: inside maintenance #${maintenance.id} (${maintenance.title})`);
      return { skipped: 'maintenance' };
    }
    const [state] = await db.query<{ locked_at: number | null; reset_at: number | null }>('select locked_at, reset_at from alerts_hook_state where receiver = $1 and service = $2', [name, service]);
    if (state?.locked_at != null) return { skipped: 'budget spent; waiting for a reset' };
    const since = Math.max(clock.now() - settings.budgetWindow, state?.reset_at ?? 0);
    const [{ n: used }] = (await db.query<{ n: number }>(
      `select count(*)::int as n from alerts_hook_attempts where receiver = $1 and service = $2 and started_at > $3 and outcome in ('fixed', 'not-fixed', 'failed', 'running')`,
      [name, service, since],
    )) as [{ n: number }];
    if (used >= settings.budget) {
      await db.query(
        `insert into alerts_hook_state (receiver, service, locked_at) values ($1, $2, $3) on conflict (receiver, service) do update set locked_at = $3`,
        [name, service, clock.now()],
      );
      await audit(incident, service, description, 'budget-spent', `${used} attempts since ${new Date(since).toISOString()}; no more until reset`);
      await context.escalate(incident.id, `${name}: ${used} attempts did not fix it`);
      return { budgetSpent: true };
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
    await db.query('update alerts_hook_attempts set finished_at = $2, outcome = $3, detail = $4 where id = $1', [attemptId, clock.now(), outcome, detail]);
    metrics.restartAttempts.inc({ receiver: name, outcome });
    if (outcome !== 'fixed') {
      throw new DeliveryError(`${name} for ${service}: ${detail}`, { temporary: true, retryAfterMs: Math.round(settings.backoff * 2 ** used * (0.5 + random())) });
    }
    return { fixed: true, attempt: attemptId };
  }

  return {
    name,
    events: FIRING_EVENTS,
    async deliver({ incidents }) {
      const results: Record<string, unknown> = {};
      for (const incident of incidents) {
        const service = incident.labels.service ?? '';
        const previous = running.get(service) ?? Promise.resolve();
        const current = previous.catch(() => {}).then(() => attempt(incident));
        running.set(service, current);
        results[String(incident.id)] = await current;
      }
      return { hook: results };
    },
  };
}
