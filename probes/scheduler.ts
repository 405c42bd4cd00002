import type { TimerHandle } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { Component } from '../core/lifecycle/module.ts';
import { asDependencyUnavailable } from '../core/unavailable.ts';
import { batcher } from './batch.ts';
import type { LoadedProbe } from './loader.ts';
import { createLogDigest } from './log-digest.ts';
import type { ProbeMetrics } from './metrics.ts';
import type { Recorder } from './record.ts';
import { claimSlots, prune } from './results.ts';
import { runProbe, type Run, type RunEnvironment } from './runner.ts';
import { hash, timetable, type Timetable } from './schedule.ts';

export const DEFAULT_CONCURRENCY = 64;
const PRUNE_EVERY_MS = 3_600_000;
const START_WINDOW_MS = 30_000;
/** A slot is claimed this long before it is due, so the claims of many probes share a statement without delaying a run. */
const CLAIM_AHEAD_MS = 1000;
/** Claims asked for within this time are written in one statement (SchedulerOptions.claimWindowMs). */
const CLAIM_WINDOW_MS = 200;

export interface SchedulerLimits {
  /** Runs in flight at once over every target. */
  concurrency: number;
  /** Runs in flight at once against one target (host:port, server, ...), so a hung target cannot take the whole pool. */
  perTarget: number;
}

/** The limits when none are given: a target may take a quarter of the pool. */
export function defaultLimits(concurrency = DEFAULT_CONCURRENCY): SchedulerLimits {
  return { concurrency, perTarget: Math.max(1, Math.floor(concurrency / 4)) };
}

export interface SchedulerOptions {
  probes: readonly LoadedProbe[];
  environment: Omit<RunEnvironment, 'signal'>;
  db: Db;
  metrics: ProbeMetrics;
  /** Stores a finished run (the results recorder). */
  record(loaded: LoadedProbe, run: Run): Promise<void>;
  /** Whether the store is taking writes now (the recorder knows); while it is not, slots are claimed locally. Without
   * it a claim the store cannot answer skips the slot. */
  store?: Pick<Recorder, 'unavailableSince' | 'markUnavailable' | 'onReturn'>;
  limits?: Partial<SchedulerLimits>;
  /** No other agent can run these probes (the embedded store, whose data directory one process holds): slots are run
   * without being claimed. */
  alone?: boolean;
  /** How long claims are collected into one statement, on the real timer (default 200 ms): a test on the fake clock
   * that waits for every claim makes it short. */
  claimWindowMs?: number;
}

interface Entry {
  loaded: LoadedProbe;
  name: string;
  timetable: Timetable;
  target: Target;
  timer?: TimerHandle;
  startTimer?: TimerHandle;
  /** The claim of the next slot, asked for ahead of it. */
  claim?: { slot: number; won: Promise<boolean> };
  /** idle → claiming → queued (waiting for its target's or the pool's budget) → running → idle. */
  phase: 'idle' | 'claiming' | 'queued' | 'running';
}

interface Target {
  key: string;
  running: number;
  queue: Array<{ entry: Entry; slot: number }>;
}

/** Runs each probe of this location on its timetable: one claimed run per slot, no overlap, at most `concurrency`
 * at once and at most `perTarget` against one target. A slot that comes while the previous run is still going is
 * skipped as "overlap"; while it is still waiting for a budget, as "queued". While the store is unreachable each
 * slot is claimed by this agent alone; when it returns those claims are written, and the ones another agent of the
 * location had also taken are counted and logged as slots that may have run twice. */
export function createScheduler(options: SchedulerOptions): Component & { inFlight(): number; settled(): Promise<void> } {
  const { clock, location, logger } = options.environment;
  const limits = { ...defaultLimits(options.limits?.concurrency), ...options.limits };
  const targets = new Map<string, Target>();
  const targetOf = (loaded: LoadedProbe): Target => {
    const key = loaded.kind.target?.(loaded.definition.options) ?? `probe:${loaded.definition.name}`;
    let target = targets.get(key);
    if (!target) targets.set(key, (target = { key, running: 0, queue: [] }));
    return target;
  };
  const entries: Entry[] = options.probes
    .filter(({ definition }) => !definition.locations || definition.locations.includes(location))
    .map((loaded) => ({ loaded, name: loaded.definition.name, timetable: timetable(loaded.definition.name, loaded.definition.schedule, loaded.definition.jitter), target: targetOf(loaded), phase: 'idle' }));
  /** Targets with queued runs, in the order they should get the next free place. */
  const backlog = new Set<Target>();
  const inFlight = new Set<Promise<void>>();
  const stopController = new AbortController();
  const digest = createLogDigest(clock, logger);
  const claims = batcher(async (slots: Array<{ probe: string; slot: number }>) => {
    const won = await claimSlots(options.db, location, slots);
    return slots.map(({ probe, slot }) => won.has(`${probe}\0${slot}`));
  }, options.claimWindowMs ?? CLAIM_WINDOW_MS);
  /** Slots claimed without the store, written to it when it returns. */
  const localClaims: Array<{ probe: string; slot: number }> = [];
  let stopped = false;
  let pruneTimer: TimerHandle | undefined;

  const claimLocally = (entry: Entry, slot: number) => {
    localClaims.push({ probe: entry.name, slot });
    options.metrics.claimedLocally(entry.name);
    return true;
  };

  options.store?.onReturn(async () => {
    const claimed = localClaims.splice(0);
    let won: Set<string>;
    try {
      won = await claimSlots(options.db, location, claimed);
    } catch (error) {
      localClaims.unshift(...claimed);
      throw error;
    }
    const twice = claimed.filter(({ probe, slot }) => !won.has(`${probe}\0${slot}`));
    const perProbe = new Map<string, number>();
    for (const { probe } of twice) perProbe.set(probe, (perProbe.get(probe) ?? 0) + 1);
    for (const [probe, count] of perProbe) options.metrics.possiblyRunTwice(probe, count);
    if (twice.length > 0) {
      const slots = twice.slice(0, 20).map(({ probe, slot }) => `${probe}@${new Date(slot).toISOString()}`);
      logger.warn({ location, slots, count: twice.length }, 'slots claimed while the store was unreachable had also been claimed by another agent of this location: they may have run twice');
    }
  });

  /** Whether this agent won the slot; while the store is unreachable every slot is claimed locally. */
  const claim = async (entry: Entry, slot: number): Promise<boolean> => {
    if (options.alone) return true;
    if (options.store?.unavailableSince() !== undefined) return claimLocally(entry, slot);
    try {
      return await claims.add({ probe: entry.name, slot });
    } catch (error) {
      if (options.store && asDependencyUnavailable(error)) {
        options.store.markUnavailable();
        return claimLocally(entry, slot);
      }
      digest.note(`${entry.name}\0claim`, (count) => ({ message: `could not claim ${count === 1 ? 'a scheduled run' : `${count} more scheduled runs`} of probe ${entry.name}: ${(error as Error).message}`, fields: { probe: entry.name } }));
      return false;
    }
  };

  // The slot is claimed CLAIM_AHEAD_MS before it is due (a slot this agent then skips, its previous run still going, is not run elsewhere in the location).
  const arm = (entry: Entry, after: number) => {
    const slot = entry.timetable.next(after);
    const whenDue = () => {
      entry.claim = { slot, won: claim(entry, slot) };
      entry.timer = clock.setTimeout(() => void due(entry, slot), Math.max(0, slot - clock.now()));
    };
    const claimAt = slot - CLAIM_AHEAD_MS;
    if (claimAt <= clock.now()) whenDue();
    else entry.timer = clock.setTimeout(whenDue, claimAt - clock.now());
  };

  const skip = (entry: Entry, reason: 'overlap' | 'queued' | 'claimed') => {
    options.metrics.skipped(entry.name, reason);
    if (reason !== 'claimed') digest.note(`${entry.name}\0${reason}`, (count) => ({ message: `${count === 1 ? 'a slot' : `${count} more slots`} of probe ${entry.name} skipped${count === 1 ? '' : ' in the last minute'}: ${reason === 'overlap' ? 'its previous run was still going' : `its previous run was still waiting for a place (target ${entry.target.key})`}`, fields: { probe: entry.name, reason, skipped: count } }));
  };

  const due = async (entry: Entry, slot: number, rearm = true) => {
    if (stopped) return;
    const claimed = entry.claim?.slot === slot ? entry.claim.won : undefined;
    // After a stall (suspend, a blocked loop) the slots already missed are skipped, not run in a burst.
    if (rearm) arm(entry, Math.max(slot, clock.now()));
    if (entry.phase === 'running') return skip(entry, 'overlap');
    if (entry.phase !== 'idle') return skip(entry, 'queued');
    entry.phase = 'claiming';
    const won = await (claimed ?? claim(entry, slot));
    if (!won || stopped) {
      entry.phase = 'idle';
      if (!won) skip(entry, 'claimed');
      return;
    }
    entry.phase = 'queued';
    entry.target.queue.push({ entry, slot });
    backlog.add(entry.target);
    options.metrics.waiting(1);
    pump();
  };

  const pump = () => {
    while (!stopped && inFlight.size < limits.concurrency) {
      const target = [...backlog].find((candidate) => candidate.running < limits.perTarget);
      if (!target) return;
      const { entry, slot } = target.queue.shift()!;
      // The target goes to the back of the line, so targets share the pool in turn.
      backlog.delete(target);
      if (target.queue.length > 0) backlog.add(target);
      target.running += 1;
      entry.phase = 'running';
      options.metrics.waiting(-1);
      const running = execute(entry, slot).finally(() => {
        inFlight.delete(running);
        target.running -= 1;
        entry.phase = 'idle';
        pump();
      });
      inFlight.add(running);
    }
  };

  const execute = async (entry: Entry, slot: number) => {
    options.metrics.scheduled(entry.name, Math.max(0, clock.now() - slot) / 1000);
    const notRecorded = (error: unknown) =>
      digest.note(`${entry.name}\0record`, (count) => ({ message: `${count === 1 ? 'a run' : `${count} more runs`} of probe ${entry.name} could not be recorded: ${(error as Error).message}`, fields: { probe: entry.name } }));
    try {
      const run = await runProbe(entry.loaded.definition, entry.loaded.kind, { ...options.environment, signal: stopController.signal });
      // The next slot does not wait for the write: the recorder batches runs over an interval.
      options.record(entry.loaded, run).catch(notRecorded);
    } catch (error) {
      notRecorded(error);
    } finally {
      options.metrics.finished(entry.name);
    }
  };

  return {
    name: 'probe-scheduler',
    inFlight: () => inFlight.size,
    /** Resolves once the claims asked for so far are answered and their runs admitted (tests step the fake clock on it). */
    settled: () => claims.idle(),
    async start() {
      options.metrics.declare(entries.map((entry) => entry.loaded.definition.name));
      const now = clock.now();
      for (const entry of entries) {
        arm(entry, now);
        if (!entry.loaded.definition.runAtStart || entry.timetable.next(now) - now <= START_WINDOW_MS) continue;
        // The first hashed offset of a 30 s window still ahead: agents of one location starting together share the slot, so one runs it.
        const windowSlot = Math.floor(now / START_WINDOW_MS) * START_WINDOW_MS + (hash(entry.name) % START_WINDOW_MS);
        const startSlot = windowSlot > now ? windowSlot : windowSlot + START_WINDOW_MS;
        entry.startTimer = clock.setTimeout(() => void due(entry, startSlot, false), startSlot - now);
      }
      pruneTimer = clock.setInterval(() => void prune(options.db, clock.now()).catch((error) => logger.warn({ err: error }, 'pruning old probe results failed')), PRUNE_EVERY_MS);
      logger.info({ probes: entries.length, location, ...limits, targets: targets.size }, 'probe scheduler started');
    },
    async stop(deadline) {
      stopped = true;
      pruneTimer?.cancel();
      for (const entry of entries) {
        entry.timer?.cancel();
        entry.startTimer?.cancel();
      }
      for (const target of backlog) {
        options.metrics.waiting(-target.queue.length);
        target.queue.length = 0;
      }
      backlog.clear();
      // Runs in flight finish if they can before the deadline; then they are aborted and record their abort.
      const allDone = Promise.all(inFlight);
      // The deadline is wall-clock time (it bounds the process's shutdown), so it is waited for on the real timer.
      const late = setTimeout(() => stopController.abort(new Error('Vigil is stopping')), Math.max(0, deadline - Date.now() - 500));
      await allDone;
      clearTimeout(late);
      await claims.idle();
      digest.flush();
    },
    health: () => (stopped ? { ok: false, reason: 'stopped' } : { ok: true }),
  };
}
