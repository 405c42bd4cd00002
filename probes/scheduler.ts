import type { TimerHandle } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { Component } from '../core/lifecycle/module.ts';
import { batcher } from './batch.ts';
import type { LoadedProbe } from './loader.ts';
import type { ProbeMetrics } from './metrics.ts';
import { claimSlots, prune } from './results.ts';
import { runProbe, type Run, type RunEnvironment } from './runner.ts';
import { hash, timetable, type Timetable } from './schedule.ts';

export const DEFAULT_CONCURRENCY = 64;
const PRUNE_EVERY_MS = 3_600_000;
const START_WINDOW_MS = 30_000;

export interface SchedulerOptions {
  probes: readonly LoadedProbe[];
  environment: Omit<RunEnvironment, 'signal'>;
  db: Db;
  metrics: ProbeMetrics;
  /** Stores a finished run (the results recorder). */
  record(loaded: LoadedProbe, run: Run): Promise<void>;
  concurrency?: number;
}

interface Entry {
  loaded: LoadedProbe;
  timetable: Timetable;
  timer?: TimerHandle;
  startTimer?: TimerHandle;
  running: boolean;
}

/** Runs each probe of this location on its timetable: one claimed run per slot, no overlap, at most `concurrency` at once. */
export function createScheduler(options: SchedulerOptions): Component & { inFlight(): number } {
  const { clock, location, logger } = options.environment;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const entries: Entry[] = options.probes
    .filter(({ definition }) => !definition.locations || definition.locations.includes(location))
    .map((loaded) => ({ loaded, timetable: timetable(loaded.definition.name, loaded.definition.schedule, loaded.definition.jitter), running: false }));
  const waiting: Array<{ entry: Entry; slot: number }> = [];
  const inFlight = new Set<Promise<void>>();
  const stopController = new AbortController();
  const claims = batcher(async (slots: Array<{ probe: string; slot: number }>) => {
    const won = await claimSlots(options.db, location, slots);
    return slots.map(({ probe, slot }) => won.has(`${probe}\0${slot}`));
  });
  let stopped = false;
  let pruneTimer: TimerHandle | undefined;

  const arm = (entry: Entry, after: number) => {
    const slot = entry.timetable.next(after);
    entry.timer = clock.setTimeout(() => void due(entry, slot), Math.max(0, slot - clock.now()));
  };

  const due = async (entry: Entry, slot: number, rearm = true) => {
    if (stopped) return;
    // After a stall (suspend, a blocked loop) the slots already missed are skipped, not run in a burst.
    if (rearm) arm(entry, Math.max(slot, clock.now()));
    if (entry.running) {
      options.metrics.skipped(entry.loaded.definition.name, 'overlap');
      logger.warn({ probe: entry.loaded.definition.name }, 'previous run still going; this scheduled run is skipped');
      return;
    }
    entry.running = true;
    let won = false;
    try {
      won = await claims.add({ probe: entry.loaded.definition.name, slot });
    } catch (error) {
      logger.error({ err: error, probe: entry.loaded.definition.name }, 'could not claim the scheduled run');
    }
    if (!won || stopped) {
      entry.running = false;
      if (!won) options.metrics.skipped(entry.loaded.definition.name, 'claimed');
      return;
    }
    waiting.push({ entry, slot });
    pump();
  };

  const pump = () => {
    while (!stopped && inFlight.size < concurrency && waiting.length > 0) {
      const { entry, slot } = waiting.shift()!;
      const running = execute(entry, slot).finally(() => {
        inFlight.delete(running);
        entry.running = false;
        pump();
      });
      inFlight.add(running);
    }
  };

  const execute = async (entry: Entry, slot: number) => {
    const probe = entry.loaded.definition.name;
    options.metrics.scheduled(probe, Math.max(0, clock.now() - slot) / 1000);
    try {
      const run = await runProbe(entry.loaded.definition, entry.loaded.kind, { ...options.environment, signal: stopController.signal });
      await options.record(entry.loaded, run);
    } catch (error) {
      logger.error({ err: error, probe }, 'probe run could not be recorded');
    } finally {
      options.metrics.finished(probe);
    }
  };

  return {
    name: 'probe-scheduler',
    inFlight: () => inFlight.size,
    async start() {
      options.metrics.declare(entries.map((entry) => entry.loaded.definition.name));
      const now = clock.now();
      for (const entry of entries) {
        arm(entry, now);
        if (!entry.loaded.definition.runAtStart || entry.timetable.next(now) - now <= START_WINDOW_MS) continue;
        // The first hashed offset of a 30 s window still ahead: agents of one location starting together share the slot, so one runs it.
        const windowSlot = Math.floor(now / START_WINDOW_MS) * START_WINDOW_MS + (hash(entry.loaded.definition.name) % START_WINDOW_MS);
        const startSlot = windowSlot > now ? windowSlot : windowSlot + START_WINDOW_MS;
        entry.startTimer = clock.setTimeout(() => void due(entry, startSlot, false), startSlot - now);
      }
      pruneTimer = clock.setInterval(() => void prune(options.db, clock.now()).catch((error) => logger.warn({ err: error }, 'pruning old probe results failed')), PRUNE_EVERY_MS);
      logger.info({ probes: entries.length, location, concurrency }, 'probe scheduler started');
    },
    async stop(deadline) {
      stopped = true;
      pruneTimer?.cancel();
      for (const entry of entries) {
        entry.timer?.cancel();
        entry.startTimer?.cancel();
      }
      waiting.length = 0;
      // Runs in flight finish if they can before the deadline; then they are aborted and record their abort.
      const allDone = Promise.all(inFlight);
      // The deadline is wall-clock time (it bounds the process's shutdown), so it is waited for on the real timer.
      const late = setTimeout(() => stopController.abort(new Error('Vigil is stopping')), Math.max(0, deadline - Date.now() - 500));
      await allDone;
      clearTimeout(late);
      await claims.idle();
    },
    health: () => (stopped ? { ok: false, reason: 'stopped' } : { ok: true }),
  };
}

