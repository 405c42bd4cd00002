import type { ProbeState } from './types.ts';

// The decisions behind a probe's state, as pure functions of the previous state and what just happened.

export interface LocationState {
  state: ProbeState;
  /** When `state` last changed (epoch ms). */
  since: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

export interface StateThresholds {
  failureThreshold: number;
  successThreshold: number;
}

export interface RunVerdict {
  success: boolean;
  /** Succeeded, but slower than the probe's `degradedAfter`. */
  degraded: boolean;
  at: number;
}

/** One location's state after a run: down after `failureThreshold` consecutive failures, up (or degraded, when the run
 * was slow) after `successThreshold` consecutive successes, otherwise unchanged; a new location starts unknown. */
export function nextLocationState(previous: LocationState | undefined, run: RunVerdict, thresholds: StateThresholds): LocationState {
  const consecutiveFailures = run.success ? 0 : (previous?.consecutiveFailures ?? 0) + 1;
  const consecutiveSuccesses = run.success ? (previous?.consecutiveSuccesses ?? 0) + 1 : 0;
  const current = previous?.state ?? 'unknown';
  let state = current;
  if (run.success && consecutiveSuccesses >= thresholds.successThreshold) state = run.degraded ? 'degraded' : 'up';
  else if (!run.success && consecutiveFailures >= thresholds.failureThreshold) state = 'down';
  return { state, since: previous && state === current ? previous.since : run.at, consecutiveFailures, consecutiveSuccesses };
}

export interface Vote {
  state: ProbeState;
  /** When this location counts as silent: its last report plus its schedule and grace (epoch ms). */
  silentAfter: number | null;
}

/** The probe's state over its locations. Only locations that reported within their schedule plus grace vote: down when
 * at least `quorum` of them are down; otherwise degraded when one is degraded, up when one is up, unknown when none voted. */
export function quorumState(votes: readonly Vote[], quorum: number, now: number): ProbeState {
  const fresh = votes.filter((vote) => vote.silentAfter === null || vote.silentAfter >= now).map((vote) => vote.state);
  if (fresh.filter((state) => state === 'down').length >= quorum) return 'down';
  if (fresh.includes('degraded')) return 'degraded';
  return fresh.includes('up') ? 'up' : 'unknown';
}

/** How long after a report a location still votes: the schedule's period, the whole attempt budget, and a grace. */
export function silenceAfter(periodMs: number, attemptBudgetMs: number, graceMs = 30_000): number {
  return periodMs + attemptBudgetMs + graceMs;
}
