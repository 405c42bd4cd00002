import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import { periodicComponent, type Component } from '../core/lifecycle/module.ts';
import type { Logger } from '../core/telemetry/index.ts';
import { withSpan } from '../core/telemetry/index.ts';
import type { ProcessingConfig } from './config.ts';
import type { ProcessingMetrics } from './metrics.ts';
import type { Storage } from './storage.ts';
import * as store from './store.ts';

export interface GcDeps {
  db: Db;
  storage: Storage;
  config: ProcessingConfig;
  clock: Clock;
  logger: Logger;
  metrics?: ProcessingMetrics;
}

export interface GcReport {
  deletedVideos: number;
  deletedOutputs: number;
  deletedOriginals: number;
  deletedOrphans: number;
  /** Processing events kept past `retention.events` after they were delivered (or given up). */
  deletedEvents: number;
  freedBytes: number;
  storedBytes: number;
}

/**
 * Storage GC in two steps. Mark: expired derived files, expired synthetic videos, unreferenced originals and (beyond
 * `gc.maxBytes`) the oldest derived files lose their reference in one committed step. Sweep: only then are files deleted,
 * and an original only while its row is deleted under lock, re-checked as unreferenced. A crash between the two leaves
 * marked rows that the next run sweeps; nothing still referenced is ever deleted.
 */
export async function runGc(deps: GcDeps): Promise<GcReport> {
  return withSpan('processing.gc', {}, async (span) => {
    const deletedVideos = await markExpired(deps);
    await markOverBound(deps);
    const outputs = await sweepOutputs(deps);
    const originals = await sweepOriginals(deps);
    const orphans = await sweepOrphans(deps);
    const deletedEvents = await store.deleteSettledEvents(deps.db, new Date(deps.clock.now() - deps.config.retention.events));
    const report: GcReport = {
      deletedVideos,
      deletedOutputs: outputs.count,
      deletedOriginals: originals.count,
      deletedOrphans: orphans.count,
      deletedEvents,
      freedBytes: outputs.bytes + originals.bytes + orphans.bytes,
      storedBytes: await store.storedBytes(deps.db),
    };
    deps.metrics?.gcFreedBytes.inc({ kind: 'derived' }, outputs.bytes);
    deps.metrics?.gcFreedBytes.inc({ kind: 'original' }, originals.bytes);
    deps.metrics?.gcFreedBytes.inc({ kind: 'orphan' }, orphans.bytes);
    span.setAttributes({ 'processing.gc.freed_bytes': report.freedBytes, 'processing.gc.deleted_videos': deletedVideos });
    deps.logger.info({ gc: report }, 'storage GC finished');
    return report;
  });
}

async function markExpired({ db, config, clock }: GcDeps): Promise<number> {
  const now = clock.now();
  const at = (ms: number) => new Date(now - ms);
  return db.transaction(async (tx) => {
    const { retention } = config;
    await store.markExpiredOutputs(tx, {
      now: new Date(now),
      failedBefore: at(retention.failed),
      syntheticBefore: at(retention.synthetic),
      derivedBefore: retention.derived === undefined ? null : at(retention.derived),
    });
    const expired = await store.deleteExpiredSyntheticVideos(tx, at(retention.synthetic));
    await store.markUnreferencedBlobs(tx, new Date(now));
    return expired;
  });
}

/** Beyond gc.maxBytes, the derived files of the longest-finished videos go first (originals stay: they can be processed again). */
async function markOverBound(deps: GcDeps): Promise<void> {
  const bound = deps.config.gc.maxBytes;
  if (bound === undefined) return;
  let excess = (await store.storedBytes(deps.db)) - bound;
  if (excess <= 0) return;
  for (const output of await store.listEvictableOutputs(deps.db)) {
    if (excess <= 0) break;
    await store.markOutput(deps.db, output.videoId, output.name, deps.clock.date());
    excess -= output.bytes;
  }
}

async function sweepOutputs({ db, storage }: GcDeps): Promise<{ count: number; bytes: number }> {
  const marked = await store.listMarkedOutputs(db);
  let bytes = 0;
  for (const output of marked) {
    await storage.removeFile(output.path);
    await store.deleteMarkedOutput(db, output);
    bytes += output.bytes;
  }
  return { count: marked.length, bytes };
}

async function sweepOriginals({ db, storage }: GcDeps): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const sha256 of await store.listMarkedBlobs(db)) {
    // An upload of the same bytes upserts this row (clearing the mark) and moves its file in before committing: deleting
    // the row and the file inside one transaction means either the upload waits for us or we see its reference.
    const removed = await db.transaction(async (tx) => {
      const size = await store.deleteMarkedBlob(tx, sha256);
      if (size !== null) await storage.removeOriginal(sha256);
      return size;
    });
    if (removed !== null) {
      count++;
      bytes += removed;
    }
  }
  return { count, bytes };
}

/** Files nobody references: uploads abandoned mid-way, and attempts whose results were never committed (lost lease, failure). */
async function sweepOrphans({ db, storage, config, clock }: GcDeps): Promise<{ count: number; bytes: number }> {
  const before = clock.now() - config.retention.orphans;
  const old = await storage.filesOlderThan(before);
  const referenced = await store.listOutputPaths(db);
  let count = 0;
  let bytes = 0;
  for (const file of old) {
    if (referenced.has(file.path)) continue;
    await storage.removeFile(file.path);
    count++;
    bytes += file.bytes;
  }
  await storage.pruneEmptyDirs(before);
  return { count, bytes };
}

/** Runs GC every `gc.interval` on the worker role. */
export function createGcComponent(deps: GcDeps): Component {
  return periodicComponent('processing-gc', { clock: deps.clock, intervalMs: deps.config.gc.interval, pass: () => runGc(deps), onError: (error) => deps.logger.error({ err: error }, 'storage GC failed') });
}
