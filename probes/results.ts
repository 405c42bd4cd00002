import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { DAY, HOUR } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import { nextLocationState, quorumState, type StateThresholds } from './state.ts';
import {
  addUptime, byProbeAndLocation, deleteClaimsBefore, deleteResultsBefore, deleteResultsBeyond, deleteRollupsBefore, insertClaims, insertResults, lockLocationStates,
  lockProbeStates, saveLocationStates, saveProbeStates, screenshotsBefore, selectDailyUptime, selectLocationVotes, selectRecentResults, selectStatuses,
  type LocationVote, type LockedLocationState, type QuorumRow, type StoredLocationState, type UptimeBucket,
} from './store.ts';
import type { ProbeResult, ProbeStatus, UptimeDay } from './types.ts';

export interface Retention {
  resultsMs: number;
  /** Raw results kept at most, oldest deleted first. */
  maxResults: number;
  rollupsMs: number;
  claimsMs: number;
}

/** How long raw results and rollups are kept. */
export const RETENTION: Retention = { resultsMs: 14 * DAY, maxResults: 2_000_000, rollupsMs: 90 * DAY, claimsMs: DAY };

/** What the state machine needs from the definition that produced a result. */
export interface Thresholds extends StateThresholds {
  quorum: number;
  labels: Record<string, string>;
  /** How long after this result its location stops voting in the quorum when nothing newer arrives. */
  silentAfterMs: number;
}

export interface Recorded {
  result: ProbeResult;
  thresholds: Thresholds;
  /** Made when the run finished; a result written again with the same id is not stored or counted twice. */
  runId?: string;
}

/** The location and quorum rows as the only writer of the store left them (the embedded store, which one process
 * holds): a batch then reads back only the rows of probes and locations it has not written yet. */
export interface WrittenStates {
  /** By `probe\0location`. */
  locations: Map<string, LockedLocationState>;
  quorum: Map<string, QuorumRow>;
  /** Each probe's votes by location. */
  votes: Map<string, Map<string, LocationVote>>;
}

export function writtenStates(): WrittenStates {
  return { locations: new Map(), quorum: new Map(), votes: new Map() };
}

/** Stores a batch of results in one transaction: raw rows, per-location state, quorum state, hourly and daily uptime.
 * The location and quorum rows are locked before they are read, so agents recording the same probe at once never
 * decide on each other's old state. With `written` (given only by the store's sole writer) the rows this process
 * wrote are taken from it instead of read back, and it is brought up to date once the transaction commits. */
export async function recordResults(db: Db, batch: readonly Recorded[], written?: WrittenStates): Promise<void> {
  if (batch.length === 0) return;
  const identified = [...batch].sort((a, b) => a.result.startedAt - b.result.startedAt).map((item) => ({ ...item, runId: item.runId ?? randomUUID() }));
  // A failed write may still have committed (its answer lost), and a batch found already stored was written by an
  // attempt whose answer was lost: either way the rows are read back next time.
  const forget = () => [written?.locations, written?.quorum, written?.votes].forEach((held) => held?.clear());
  const decided = await db.transaction(async (tx) => {
    const inserted = await insertResults(tx, identified);
    const ordered = identified.filter((item) => inserted.has(item.runId));
    if (ordered.length === 0) return undefined;
    const keys = new Map(ordered.map(({ result }) => [`${result.probe}\0${result.location}`, { probe: result.probe, location: result.location, kind: result.kind, at: result.startedAt }]));
    const unseen = [...keys].filter(([key]) => !written?.locations.has(key)).map(([, value]) => value);
    const locked = new Map((unseen.length > 0 ? await lockLocationStates(tx, unseen.sort(byProbeAndLocation)) : []).map((row) => [`${row.probe}\0${row.location}`, row]));
    const locations = new Map<string, StoredLocationState>();
    for (const { result, thresholds } of ordered) {
      const key = `${result.probe}\0${result.location}`;
      const row = (locked.get(key) ?? written?.locations.get(key))!;
      const next = nextLocationState(locations.get(key) ?? (row.reported ? row : undefined), { success: result.success, degraded: result.degraded ?? false, at: result.startedAt }, thresholds);
      locations.set(key, { probe: result.probe, location: result.location, ...next, kind: result.kind, labels: thresholds.labels, lastResult: result, updatedAt: result.startedAt, silentAfter: result.startedAt + thresholds.silentAfterMs });
    }
    await saveLocationStates(tx, [...locations.values()]);
    const probes = [...new Set(ordered.map((item) => item.result.probe))];
    const unseenProbes = probes.filter((probe) => !written?.quorum.has(probe));
    const current = [
      ...probes.flatMap((probe) => written?.quorum.get(probe) ?? []),
      ...(unseenProbes.length > 0 ? await lockProbeStates(tx, unseenProbes, ordered[0]!.result.startedAt) : []),
    ];
    const votes = new Map<string, Map<string, LocationVote>>();
    for (const vote of unseenProbes.length > 0 ? await selectLocationVotes(tx, unseenProbes) : []) votes.set(vote.probe, (votes.get(vote.probe) ?? new Map()).set(vote.location, vote));
    for (const state of locations.values()) {
      if (!written?.votes.has(state.probe)) continue;
      // The votes this process wrote before, with this batch's locations in place of their old ones.
      votes.set(state.probe, (votes.get(state.probe) ?? new Map(written.votes.get(state.probe))).set(state.location, { probe: state.probe, location: state.location, state: state.state, silentAfter: state.silentAfter }));
    }
    const latest = new Map(ordered.map((item) => [item.result.probe, { quorum: item.thresholds.quorum, at: item.result.startedAt }]));
    const changed = current.flatMap((row) => {
      const { quorum, at } = latest.get(row.probe)!;
      const state = quorumState([...(votes.get(row.probe)?.values() ?? [])], quorum, at);
      return state === row.state ? [] : [{ probe: row.probe, state, since: at }];
    });
    await saveProbeStates(tx, changed);
    await addUptime(tx, uptimeBuckets(ordered.map((item) => item.result)));
    return { locations, current, changed, votes };
  }).catch((error: unknown) => {
    forget();
    throw error;
  });
  if (!decided) forget();
  if (!written || !decided) return;
  for (const [key, { probe, location, state, since, consecutiveFailures, consecutiveSuccesses }] of decided.locations) {
    written.locations.set(key, { probe, location, state, since, consecutiveFailures, consecutiveSuccesses, reported: true });
  }
  for (const row of [...decided.current, ...decided.changed]) written.quorum.set(row.probe, row);
  for (const [probe, votes] of decided.votes) written.votes.set(probe, votes);
}

function uptimeBuckets(results: readonly ProbeResult[]): UptimeBucket[] {
  const buckets = new Map<string, UptimeBucket>();
  for (const result of results) {
    const hour = Math.floor(result.startedAt / HOUR) * HOUR;
    const key = `${result.probe}\0${result.location}\0${hour}`;
    const bucket = buckets.get(key) ?? { probe: result.probe, location: result.location, hour, checks: 0, successes: 0 };
    bucket.checks += 1;
    bucket.successes += result.success ? 1 : 0;
    buckets.set(key, bucket);
  }
  return [...buckets.values()];
}

function dayOf(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** Every probe that has results, with its quorum state and each location's state; a location whose report is older than
 * its schedule plus grace at `now` is marked silent. */
export async function getProbeStatuses(db: Db, now = Date.now()): Promise<ProbeStatus[]> {
  const statuses = new Map<string, ProbeStatus & { updatedAt: number }>();
  for (const row of await selectStatuses(db)) {
    const current = statuses.get(row.probe);
    const status = current ?? {
      probe: row.probe,
      kind: row.kind,
      labels: row.labels,
      state: row.quorumState ?? 'unknown',
      since: row.quorumSince ?? row.updatedAt,
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      locations: [],
      updatedAt: row.updatedAt,
    };
    status.locations.push({ location: row.location, state: row.state, ...(row.silentAfter !== null && row.silentAfter < now ? { silent: true } : {}) });
    if (!current || row.updatedAt >= current.updatedAt) {
      // The counters and last result shown for the probe are those of the location that reported last.
      Object.assign(status, {
        kind: row.kind,
        labels: row.labels,
        consecutiveFailures: row.consecutiveFailures,
        consecutiveSuccesses: row.consecutiveSuccesses,
        lastResult: row.lastResult,
        updatedAt: row.updatedAt,
      });
    }
    statuses.set(row.probe, status);
  }
  return [...statuses.values()].map(({ updatedAt: _updatedAt, ...status }) => status);
}

/** Daily uptime over all locations for the `days` UTC days ending with the day of `now`, oldest first. */
export async function getUptime(db: Db, probe: string, options: { days: number; now: number }): Promise<UptimeDay[]> {
  const days = Array.from({ length: options.days }, (_, i) => dayOf(options.now - (options.days - 1 - i) * DAY));
  const byDay = new Map((await selectDailyUptime(db, probe, days[0]!, days[days.length - 1]!)).map((row) => [row.day, row]));
  return days.map((day) => {
    const found = byDay.get(day);
    return { day, checks: found?.checks ?? 0, uptimeRatio: found && found.checks > 0 ? found.successes / found.checks : null };
  });
}

/** The latest results of one probe, newest first. */
export function getRecentResults(db: Db, probe: string, limit = 20): Promise<ProbeResult[]> {
  return selectRecentResults(db, probe, limit);
}

/** Claims scheduled slots for this location; returns the keys ("probe\0slot") this process won. */
export async function claimSlots(db: Db, location: string, slots: ReadonlyArray<{ probe: string; slot: number }>): Promise<Set<string>> {
  if (slots.length === 0) return new Set();
  return new Set((await insertClaims(db, location, slots)).map((row) => `${row.probe}\0${row.slot}`));
}

/** Deletes raw results past their age or beyond the newest `maxResults` (with the screenshots they name), rollups and claims past their retention. */
export async function prune(db: Db, now: number, retention: Retention = RETENTION): Promise<void> {
  const screenshots = await screenshotsBefore(db, now - retention.resultsMs);
  await deleteResultsBefore(db, now - retention.resultsMs);
  screenshots.push(...(await deleteResultsBeyond(db, retention.maxResults)));
  await Promise.all(screenshots.map((file) => rm(file, { force: true })));
  await deleteRollupsBefore(db, now - retention.rollupsMs);
  await deleteClaimsBefore(db, now - retention.claimsMs);
}
