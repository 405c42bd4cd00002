import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { Component } from '../core/lifecycle/module.ts';
import type { Logger } from '../core/telemetry/index.ts';
import { withSpan } from '../core/telemetry/index.ts';
import type { ProcessingConfig } from './config.ts';
import type { ProcessingMetrics } from './metrics.ts';
import type { Storage } from './storage.ts';

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
    const report: GcReport = {
      deletedVideos,
      deletedOutputs: outputs.count,
      deletedOriginals: originals.count,
      deletedOrphans: orphans.count,
      freedBytes: outputs.bytes + originals.bytes + orphans.bytes,
      storedBytes: await storedBytes(deps.db),
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
    await tx.query(
      `update processing_outputs o set gc_marked_at = $1 from processing_videos v
       where o.video_id = v.id and o.gc_marked_at is null and (
         (v.state = 'failed' and v.finished_at < $2)
         or (v.synthetic and v.state in ('published', 'failed') and v.finished_at < $3)
         or ($4::timestamptz is not null and v.state = 'published' and v.finished_at < $4))`,
      [new Date(now), at(retention.failed), at(retention.synthetic), retention.derived === undefined ? null : at(retention.derived)],
    );
    const expired = await tx.query<{ id: string }>(
      `delete from processing_videos where synthetic and state in ('published', 'failed') and finished_at < $1 returning id`,
      [at(retention.synthetic)],
    );
    if (expired.length) await tx.query('delete from processing_checkpoints where video_id = any($1)', [expired.map((video) => video.id)]);
    // Marks follow references: set on blobs nothing references, cleared on blobs referenced again.
    await tx.query(
      `update processing_blobs b set gc_marked_at = case when exists (select 1 from processing_videos v where v.sha256 = b.sha256) then null else $1::timestamptz end
       where (gc_marked_at is null) = not exists (select 1 from processing_videos v where v.sha256 = b.sha256)`,
      [new Date(now)],
    );
    return expired.length;
  });
}

async function storedBytes(db: Db): Promise<number> {
  const [row] = await db.query<{ total: string | number | null }>(
    `select (select coalesce(sum(bytes), 0) from processing_blobs where gc_marked_at is null)
          + (select coalesce(sum(bytes), 0) from processing_outputs where gc_marked_at is null) as total`,
  );
  return Number(row?.total ?? 0);
}

/** Beyond gc.maxBytes, the derived files of the longest-finished videos go first (originals stay: they can be processed again). */
async function markOverBound(deps: GcDeps): Promise<void> {
  const bound = deps.config.gc.maxBytes;
  if (bound === undefined) return;
  let excess = (await storedBytes(deps.db)) - bound;
  if (excess <= 0) return;
  const candidates = await deps.db.query<{ video_id: string; name: string; bytes: string | number }>(
    `select o.video_id, o.name, o.bytes from processing_outputs o join processing_videos v on v.id = o.video_id
     where o.gc_marked_at is null and v.state in ('published', 'failed') order by v.finished_at, o.created_at`,
  );
  for (const output of candidates) {
    if (excess <= 0) break;
    await deps.db.query('update processing_outputs set gc_marked_at = $3 where video_id = $1 and name = $2', [output.video_id, output.name, deps.clock.date()]);
    excess -= Number(output.bytes);
  }
}

async function sweepOutputs({ db, storage }: GcDeps): Promise<{ count: number; bytes: number }> {
  const marked = await db.query<{ video_id: string; name: string; path: string; bytes: string | number }>(
    'select video_id, name, path, bytes from processing_outputs where gc_marked_at is not null',
  );
  let bytes = 0;
  for (const output of marked) {
    await storage.removeFile(output.path);
    await db.query('delete from processing_outputs where video_id = $1 and name = $2 and path = $3 and gc_marked_at is not null', [output.video_id, output.name, output.path]);
    bytes += Number(output.bytes);
  }
  return { count: marked.length, bytes };
}

async function sweepOriginals({ db, storage }: GcDeps): Promise<{ count: number; bytes: number }> {
  const marked = await db.query<{ sha256: string }>('select sha256 from processing_blobs where gc_marked_at is not null');
  let count = 0;
  let bytes = 0;
  for (const { sha256 } of marked) {
    // An upload of the same bytes upserts this row (clearing the mark) and moves its file in before committing: deleting
    // the row and the file inside one transaction means either the upload waits for us or we see its reference.
    const removed = await db.transaction(async (tx) => {
      const [row] = await tx.query<{ bytes: string | number }>(
        `delete from processing_blobs b where sha256 = $1 and gc_marked_at is not null
         and not exists (select 1 from processing_videos v where v.sha256 = b.sha256) returning bytes`,
        [sha256],
      );
      if (row) await storage.removeOriginal(sha256);
      return row ? Number(row.bytes) : null;
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
  const referenced = new Set((await db.query<{ path: string }>('select path from processing_outputs')).map((row) => row.path));
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
  let timer: { cancel(): void } | undefined;
  let running: Promise<unknown> | undefined;
  return {
    name: 'processing-gc',
    async start() {
      timer = deps.clock.setInterval(() => {
        running ??= runGc(deps)
          .catch((error) => deps.logger.error({ err: error }, 'storage GC failed'))
          .finally(() => (running = undefined));
      }, deps.config.gc.interval);
    },
    async stop() {
      timer?.cancel();
      await running;
    },
  };
}
