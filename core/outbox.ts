import type { Attributes } from '@opentelemetry/api';
import { Counter } from 'prom-client';
import { createWakeups, type Clock, type TimerHandle } from './clock.ts';
import type { Db, Listening } from './db/index.ts';
import type { Logger } from './telemetry/logger.ts';
import { tracedHistogram, type Registry } from './telemetry/metrics.ts';
import { withSpan } from './telemetry/tracing.ts';

/**
 * The one durable outbox Vigil delivers through (alert notifications, processing events). A module keeps its rows in
 * its own table and says, through an `OutboxAdapter`, which are due and what sending and recording one means; this
 * file decides everything else the same way for both: the order, the retry or give-up, the wake-up, metrics, spans.
 */

export class DeliveryError extends Error {
  /** true: try again later (4xx SMTP, 5xx/408/429 HTTP, network); false: never (bad address, bad token, bad request). */
  readonly temporary: boolean;
  readonly retryAfterMs?: number;
  readonly progress?: Record<string, unknown>;
  /** The request may have reached the far side (no answer, connection lost after sending). */
  readonly inDoubt: boolean;

  constructor(message: string, options: { temporary: boolean; retryAfterMs?: number; progress?: Record<string, unknown>; inDoubt?: boolean }) {
    super(message);
    this.name = 'DeliveryError';
    this.temporary = options.temporary;
    this.inDoubt = options.inDoubt ?? false;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.progress) this.progress = options.progress;
  }
}

/** An HTTP answer's retry class: 408, 429 and 5xx are temporary (429 and 503 may say when), other 4xx are permanent. */
export function httpDeliveryError(what: string, status: number, retryAfter: string | null | undefined): DeliveryError {
  const seconds = retryAfter ? Number(retryAfter) : NaN;
  return new DeliveryError(`${what} answered HTTP ${status}`, {
    temporary: status === 408 || status === 429 || status >= 500,
    ...(Number.isFinite(seconds) ? { retryAfterMs: seconds * 1000 } : {}),
  });
}

export interface RetryPolicy {
  /** First retry delay; doubled (with jitter) up to retryMax. */
  retryInitial: number;
  retryMax: number;
  /** A row still undelivered this long after it was written is given up. */
  maxAge: number;
}

/**
 * The wait before retry `attempt` (1 for the first): `initial` doubled each time up to `max`, spread over the upper half
 * of that by `random` (0 ≤ random < 1) so that deliveries which failed together do not all come back at once.
 */
function backoffDelay(attempt: number, policy: { initial: number; max: number }, random: number): number {
  const base = Math.min(policy.initial * 2 ** Math.max(0, attempt - 1), policy.max);
  return Math.round(base / 2 + (base * random) / 2);
}

/**
 * What follows a failed send: a retry after the delay the far side asked for (Retry-After) or a growing one, or
 * giving up (a permanent refusal, or the oldest row of the send is past `maxAge`). `attempts` counts this one.
 */
export function afterFailure(failure: { error: DeliveryError; attempts: number; ageMs: number; random: number }, policy: RetryPolicy): { retryInMs: number } | 'give-up' {
  if (!failure.error.temporary || failure.ageMs >= policy.maxAge) return 'give-up';
  return { retryInMs: failure.error.retryAfterMs ?? backoffDelay(failure.attempts, { initial: policy.retryInitial, max: policy.retryMax }, failure.random) };
}

/** What every outbox row tells the loop; the module's row type adds what its sends need. */
export interface OutboxRow {
  /** Where it goes: a receiver, an endpoint. Each target has its own pass, so a hanging one never holds back another. */
  target: string;
  /** Rows of one key go strictly in order, a row waiting for a retry holding back the later ones; keys go side by side. */
  orderingKey: string;
  /** Attempts made so far. */
  attempts: number;
  /** When the row was written (epoch ms): `maxAge` and the latency metric count from it. */
  createdAt: number;
}

/** How a send ended, for the module to record (in its own table, in its own transaction). */
export type Settlement<Result> =
  | { kind: 'delivered'; result: Result; at: number }
  | { kind: 'retry'; error: DeliveryError; at: number }
  | { kind: 'failed'; error: DeliveryError }
  | { kind: 'skipped'; reason: string };

/** What a module supplies: its rows, its sends, its records. */
export interface OutboxAdapter<Row extends OutboxRow, Result> {
  /** Targets that may have due rows now. */
  targets(now: number): Promise<readonly string[]>;
  /**
   * The due rows of `target` in order, without those behind an earlier row of their ordering key that waits for a
   * retry; the module may claim them (several processes delivering), or trust a fence (one leader).
   */
  due(target: string, now: number): Promise<Row[]>;
  /** Rows of one ordering key with the same batch key go out as one send (default: each row alone). */
  batchKey?(row: Row): string;
  /** Sends one batch: resolves with what to record, or with a reason to skip it; throws a DeliveryError when it failed. */
  send(target: string, batch: Row[]): Promise<{ result: Result } | { skipped: string }>;
  settle(target: string, batch: Row[], settlement: Settlement<Result>): Promise<void>;
  /** Span attributes naming a send. */
  describe(target: string, batch: Row[]): Attributes;
}

/** The metrics every outbox keeps per target, under the module's names and the module's label for the target. */
export interface OutboxMetrics {
  count(target: string, outcome: 'delivered' | 'retry' | 'failed', rows: number): void;
  /** Seconds from a row being written to its delivery. */
  latency(target: string, seconds: number): void;
}

/** What a module calls its outbox's metrics: the label naming a target, and each metric's name and help text. */
export interface OutboxMetricNames {
  targetLabel: string;
  /** Rows counted by target and outcome. */
  outcomes: { name: string; help: string };
  /** The histogram of seconds from a row being written to its delivery. */
  latency: { name: string; help: string };
}

export function createOutboxMetrics(registry: Registry, names: OutboxMetricNames): OutboxMetrics {
  const { targetLabel } = names;
  const outcomes = new Counter({ ...names.outcomes, labelNames: [targetLabel, 'outcome'], registers: [registry] });
  const latency = tracedHistogram({ ...names.latency, labelNames: [targetLabel], buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600], registers: [registry] });
  return {
    count: (target, outcome, rows) => outcomes.inc({ [targetLabel]: target, outcome }, rows),
    latency: (target, seconds) => latency.observe({ [targetLabel]: target }, seconds),
  };
}

export interface OutboxOptions<Row extends OutboxRow, Result> {
  adapter: OutboxAdapter<Row, Result>;
  /** The span around each send. */
  span: string;
  clock: Clock;
  logger: Logger;
  metrics: OutboxMetrics;
  policy: RetryPolicy;
  /**
   * How often due rows are looked for besides the wake-ups (a NOTIFY for a row written, a timer for a retry this process
   * set): the backstop for a notification lost with a connection, and for retries set before a restart.
   */
  pollInterval: number;
  /** The module's insert sends pg_notify on this channel: every process listening looks at once (PGlite too). */
  wakeOn: { db: Pick<Db, 'listen'>; channel: string };
  /** Nothing is sent while this is false (alerts: the lease is not safely ours). */
  active?: () => boolean;
  random?: () => number;
}

export type Outbox = ReturnType<typeof createOutbox>;

/**
 * Delivers due rows: each target in a pass of its own (a hanging target holds back no other), within a target each
 * ordering key strictly in order (a send that will be retried ends its key's turn: the rows behind it wait) and the
 * keys side by side. A pass looks again while it settles rows (one sent may have let the next row come due) or was
 * asked to (a row was written while it ran); a target asked for while its pass runs is looked at when that pass ends.
 */
export function createOutbox<Row extends OutboxRow, Result>(options: OutboxOptions<Row, Result>) {
  const { adapter, clock, logger, metrics, policy } = options;
  const active = options.active ?? (() => true);
  const random = options.random ?? Math.random;
  const passes = new Map<string, Promise<void>>();
  /** Targets asked for while their pass ran. */
  const again = new Set<string>();
  let looking: Promise<void> | undefined;
  let lookAgain = false;
  let stopped = false;
  let timer: TimerHandle | undefined;
  let listening: Listening | undefined;
  /** A look at each retry's time that this process set. */
  const retries = createWakeups(clock);

  /** One send; true when the key's later rows may follow it now. */
  async function deliver(target: string, batch: Row[]): Promise<boolean> {
    const started = clock.now();
    return withSpan(options.span, adapter.describe(target, batch), async (span) => {
      let sent: { result: Result } | { skipped: string };
      try {
        sent = await adapter.send(target, batch);
      } catch (caught) {
        // Anything but a DeliveryError is a bug of the sender: temporary, so one bug does not stop delivery for good.
        if (!(caught instanceof DeliveryError)) logger.error({ err: caught, target }, 'an outbox send threw an unexpected error');
        const error = caught instanceof DeliveryError ? caught : new DeliveryError(`${target} failed: ${(caught as Error).message}`, { temporary: true });
        span.setAttribute('vigil.delivery_error', error.message);
        return failed(target, batch, error, started);
      }
      if ('skipped' in sent) {
        await adapter.settle(target, batch, { kind: 'skipped', reason: sent.skipped });
        return true;
      }
      const at = clock.now();
      await adapter.settle(target, batch, { kind: 'delivered', result: sent.result, at });
      metrics.count(target, 'delivered', batch.length);
      for (const row of batch) metrics.latency(target, Math.max(0, at - row.createdAt) / 1000);
      return true;
    });
  }

  /** Records a failed send as a retry or a give-up; true when the key's later rows may follow it now. */
  async function failed(target: string, batch: Row[], error: DeliveryError, started: number): Promise<boolean> {
    const attempts = Math.max(...batch.map((row) => row.attempts)) + 1;
    const next = afterFailure({ error, attempts, ageMs: started - Math.min(...batch.map((row) => row.createdAt)), random: random() }, policy);
    if (next === 'give-up') {
      await adapter.settle(target, batch, { kind: 'failed', error });
      metrics.count(target, 'failed', batch.length);
      logger.warn({ target, rows: batch.length, err: error.message }, 'outbox delivery given up');
      return true;
    }
    const at = clock.now() + next.retryInMs;
    await adapter.settle(target, batch, { kind: 'retry', error, at });
    if (!stopped) retries.at(at, () => void deliverDue());
    metrics.count(target, 'retry', batch.length);
    return false;
  }

  /** One key's rows in order, batched; stops at the first send that waits for a retry. Resolves with the sends settled. */
  async function deliverKey(target: string, rows: Row[]): Promise<number> {
    const batches = new Map<string, Row[]>();
    rows.forEach((row, index) => {
      const key = adapter.batchKey?.(row) ?? String(index);
      batches.set(key, [...(batches.get(key) ?? []), row]);
    });
    let settled = 0;
    for (const batch of batches.values()) {
      if (stopped || !active() || !(await deliver(target, batch))) break;
      settled++;
    }
    return settled;
  }

  /**
   * One target's passes, until one settles nothing and nothing asked for the target meanwhile. (A retry does not count:
   * one due again at once, Retry-After: 0, waits for the next wake-up rather than spinning here.)
   */
  async function drain(target: string): Promise<void> {
    for (;;) {
      again.delete(target);
      const rows = await adapter.due(target, clock.now());
      const byKey = new Map<string, Row[]>();
      for (const row of rows) byKey.set(row.orderingKey, [...(byKey.get(row.orderingKey) ?? []), row]);
      const settled = (await Promise.all([...byKey.values()].map((keyRows) => deliverKey(target, keyRows)))).reduce((sum, count) => sum + count, 0);
      if (stopped || !active() || (settled === 0 && !again.has(target))) return;
    }
  }

  async function look(): Promise<void> {
    do {
      lookAgain = false;
      if (stopped || !active()) return;
      for (const target of await adapter.targets(clock.now())) {
        if (passes.has(target)) {
          again.add(target);
          continue;
        }
        const running = drain(target)
          .catch((error: unknown) => logger.error({ err: error, target }, 'outbox delivery pass aborted'))
          .finally(() => passes.delete(target));
        passes.set(target, running);
      }
    } while (lookAgain);
  }

  /** Starts a pass for every target with due rows that has none running; resolves once they are started, not done. */
  function deliverDue(): Promise<void> {
    if (looking) {
      lookAgain = true;
      return looking;
    }
    looking = look()
      .catch((error: unknown) => logger.error({ err: error }, 'outbox look for due rows failed'))
      .finally(() => (looking = undefined));
    return looking;
  }

  /** Resolves when the looks and passes running now have finished. */
  async function idle(): Promise<void> {
    while (looking || passes.size > 0) await Promise.all([looking, ...passes.values()]);
  }

  return {
    deliverDue,
    idle,
    async start(): Promise<void> {
      listening = await options.wakeOn.db.listen(options.wakeOn.channel, () => void deliverDue());
      timer = clock.setInterval(() => void deliverDue(), options.pollInterval);
      await deliverDue();
    },
    /** Stops looking; resolves when the sends under way are recorded. */
    async stop(): Promise<void> {
      stopped = true;
      timer?.cancel();
      retries.cancelAll();
      await listening?.close().catch(() => {});
      await idle();
    },
  };
}
