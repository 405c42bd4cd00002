import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import { asDependencyUnavailable } from '../core/unavailable.ts';
import { attemptBudget } from './define.ts';
import type { LoadedProbe } from './loader.ts';
import type { LocalProbeView } from './local.ts';
import { createLogDigest } from './log-digest.ts';
import type { ProbeMetrics } from './metrics.ts';
import { recordResults, writtenStates, type Recorded } from './results.ts';
import type { Run } from './runner.ts';
import { period } from './schedule.ts';
import { silenceAfter } from './state.ts';

/** Results held in memory while the store is unreachable, unless `probeScheduler.buffer` (VIGIL_PROBE_BUFFER) says otherwise. */
export const DEFAULT_BUFFER = 10_000;
const BATCH = 500;
/** How long a finished run waits for others to share its write, unless the recorder is told otherwise. */
export const DEFAULT_FLUSH_EVERY_MS = 1000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15_000;

export interface Recorder {
  /** Publishes the run's metrics at once and queues it for the store; resolves once it is written, or held because the store is away. */
  record(loaded: LoadedProbe, run: Run): Promise<void>;
  /** Writes what waits for its interval and resolves when nothing is being written (what is left waits for the store to return). */
  idle(): Promise<void>;
  /** When the store stopped taking writes, while it is unreachable. */
  unavailableSince(): number | undefined;
  /** The store was found unreachable elsewhere (a claim): later writes wait for the retry instead of each trying. */
  markUnavailable(): void;
  /** Called after the store took writes again following an outage. */
  onReturn(listener: () => Promise<void>): void;
  /** Cancels the retry timer and makes one last attempt; what the store still refuses is lost, and logged. */
  stop(): Promise<void>;
}

interface Entry extends Recorded {
  runId: string;
  settle(): void;
  /** Held back by an outage (not just waiting for its batch): what the alerts role waits for before it catches up. */
  held?: boolean;
}

export interface RecorderOptions {
  db: Db;
  metrics: ProbeMetrics;
  logger: Logger;
  clock?: Clock;
  /** Results held at most while the store is away; beyond it the oldest are dropped and counted. */
  capacity?: number;
  local?: LocalProbeView;
  /** Runs finished within this time are written together, in one transaction (0: each write starts at once). */
  flushEveryMs?: number;
  /** This process alone writes probe states to the store (the embedded store, which one process holds): the states it
   * wrote are kept in memory instead of read back for each batch. */
  alone?: boolean;
}

/**
 * Stores runs in order, in batches, from one queue: the runs that finish within `flushEveryMs` share one transaction
 * of a few statements, so recording costs per batch, not per run; a crash loses at most the runs of that interval
 * (and a batch being written). While the store is unreachable the queue is held in memory (at
 * most `capacity` results, the oldest dropped first) and retried with backoff; when the store answers again the
 * queue is written in the order the runs finished, each run once (its run id makes a batch written twice harmless).
 */
export function createRecorder(options: RecorderOptions): Recorder {
  const { db, metrics, logger } = options;
  const clock = options.clock ?? systemClock;
  const capacity = options.capacity ?? DEFAULT_BUFFER;
  const failures = createLogDigest(clock, logger);
  const states = options.alone ? writtenStates() : undefined;
  const queue: Entry[] = [];
  const listeners: Array<() => Promise<void>> = [];
  let writing: Promise<void> | undefined;
  let retry: TimerHandle | undefined;
  const flushEveryMs = options.flushEveryMs ?? DEFAULT_FLUSH_EVERY_MS;
  // Pacing the writes is about cost, not about what the probes decide, so it runs on the real timer: a fake clock in a test does not hold results back.
  let pacing: NodeJS.Timeout | undefined;
  // A run that changed its probe's state is written (and so alerted on) at once, not at the next interval: batching
  // saves CPU on the runs that change nothing, which are nearly all of them.
  let urgent = false;
  let retryMs = RETRY_FIRST_MS;
  let downSince: number | undefined;
  let droppedInOutage = 0;

  let held = 0;
  const changed = () => {
    metrics.buffered(queue.length);
    options.local?.setPending(held);
  };
  const removed = (entries: readonly Entry[]) => {
    held -= entries.filter((entry) => entry.held).length;
  };

  const unavailable = (cause: string) => {
    if (downSince !== undefined) return;
    downSince = clock.now();
    for (const entry of queue) if (!entry.held) [entry.held, held] = [true, held + 1];
    changed();
    logger.warn({ cause }, 'the store is unreachable: probes keep running, their results are held in memory until it returns');
  };

  const returned = async (written: number) => {
    const since = downSince!;
    downSince = undefined;
    retryMs = RETRY_FIRST_MS;
    logger.info({ outageSeconds: Math.round((clock.now() - since) / 1000), written, dropped: droppedInOutage }, 'the store is reachable again: buffered probe results written');
    droppedInOutage = 0;
    for (const listener of listeners) await listener().catch((error: unknown) => logger.warn({ err: error }, 'catching up after the store outage failed'));
  };

  async function drain(): Promise<void> {
    let written = 0;
    // The runs queued when the write began (and any whole batch behind them): those that finish while it goes on wait
    // for the rest of the interval, or each write would take only what finished during the last, a dozen a second.
    let owed = queue.length;
    while (queue.length > 0 && (owed > 0 || queue.length >= BATCH)) {
      const batch = queue.slice(0, BATCH);
      owed -= batch.length;
      try {
        await recordResults(db, batch, states);
        options.local?.stored(batch.map((entry) => entry.result));
      } catch (error) {
        const unreachable = asDependencyUnavailable(error, 'database');
        if (unreachable) {
          unavailable(unreachable.failure);
          for (const entry of batch) entry.settle();
          retry = clock.setTimeout(() => {
            retry = undefined;
            flush();
          }, retryMs);
          retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
          return;
        }
        // Not the store being away: these rows can never be written, and holding them would hold every later one.
        failures.note(`batch\0${(error as Error).message}`, (count) => ({ message: `${count === 1 ? 'a batch' : `${count} more batches`} of probe results could not be recorded: ${(error as Error).message}`, fields: { results: batch.length } }));
      }
      const done = new Set(batch);
      queue.splice(0, queue.length, ...queue.filter((entry) => !done.has(entry)));
      removed(batch);
      for (const entry of batch) entry.settle();
      written += batch.length;
      changed();
      if (downSince !== undefined) await returned(written);
    }
  }

  function flush(): void {
    if (pacing) clearTimeout(pacing);
    pacing = undefined;
    if (writing || retry) return;
    urgent = false;
    const began = performance.now();
    writing = drain().finally(() => {
      writing = undefined;
      // Runs recorded while the last batch was being written wait for the interval that began with that write (so none
      // waits longer than one), unless a whole batch is ready or one of them changed its probe's state.
      if (queue.length > 0 && !retry) {
        if (urgent) flush();
        else schedule(Math.max(0, flushEveryMs - (performance.now() - began)));
      }
    });
  }

  function schedule(delayMs = flushEveryMs): void {
    if (flushEveryMs === 0 || queue.length >= BATCH) return flush();
    if (pacing || writing || retry) return;
    pacing = setTimeout(flush, delayMs);
    pacing.unref();
  }

  return {
    record({ definition }, { result, outcome }) {
      metrics.observe(result, outcome.failure, outcome.metrics);
      if (!result.success) {
        failures.note(`${result.probe}\0${result.location}`, (count) => ({
          message: count === 1 ? `probe ${result.probe} failed: ${result.reason}` : `probe ${result.probe} failed ${count} more times in the last minute, last: ${result.reason}`,
          fields: { probe: result.probe, kind: result.kind, location: result.location, reason: result.reason, trace_id: result.traceId, failures: count },
        }));
      }
      const { failureThreshold, successThreshold, quorum, labels } = definition;
      const silentAfterMs = silenceAfter(period(definition.schedule), attemptBudget(definition));
      const recorded = { result, thresholds: { failureThreshold, successThreshold, quorum, labels, silentAfterMs } };
      if (options.local?.observe(recorded)) urgent = true;
      return new Promise<void>((resolve) => {
        const outage = downSince !== undefined;
        queue.push({ ...recorded, runId: randomUUID(), settle: resolve, ...(outage ? { held: true } : {}) });
        if (outage) held += 1;
        if (queue.length > capacity) {
          const overflow = queue.splice(0, queue.length - capacity);
          removed(overflow);
          for (const entry of overflow) entry.settle();
          droppedInOutage += overflow.length;
          metrics.dropped(overflow.length);
        }
        changed();
        if (downSince !== undefined && retry) resolve();
        else if (urgent) flush();
        else schedule();
      });
    },
    async idle() {
      while (pacing || writing) {
        if (pacing) flush();
        await writing;
      }
    },
    unavailableSince: () => downSince,
    markUnavailable: () => unavailable('claim failed'),
    onReturn(listener) {
      listeners.push(listener);
    },
    async stop() {
      const settle = async () => {
        while (writing) await writing;
        retry?.cancel();
        retry = undefined;
      };
      await settle();
      flush();
      await settle();
      if (queue.length > 0) logger.warn({ results: queue.length }, 'stopped with probe results the store did not take; they are lost');
      failures.flush();
    },
  };
}
