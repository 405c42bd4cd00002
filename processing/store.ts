import type { Queryable } from '../core/db/index.ts';
import type { InputDiagnostics } from './diagnostics.ts';
import type { FailureClass, FailureCode } from './failures.ts';
import type { StageProgress } from './progress.ts';
import { DURATION_BUCKETS, type TimeToPublish } from './time-to-publish.ts';

// Every statement of the processing module, one named intent each. Columns are aliased to the camelCase fields of the
// types below; instants are timestamptz (Date), sizes are cast to float8 so both drivers return numbers.

/** waiting: a stage could not run because a dependency is unavailable (full disk, store away); it is tried again. */
export const VIDEO_STATES = ['queued', 'waiting', 'processing', 'published', 'failed'] as const;
export type VideoState = (typeof VIDEO_STATES)[number];
export const NOTICE_KINDS = ['retry', 'ready', 'failed', 'delayed'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

export interface SourceInfo {
  durationSeconds: number;
  formatName: string;
  width: number;
  height: number;
  hasAudio: boolean;
  /** Declared or estimated video frame count (absent on rows made before it was recorded). */
  frames?: number;
}

export interface Video {
  id: string;
  sha256: string;
  originalName: string | null;
  email: string | null;
  labels: Record<string, string>;
  synthetic: boolean;
  state: VideoState;
  stage: string | null;
  fence: string | null;
  jobId: string | null;
  source: SourceInfo | null;
  /** What the probe stage found in the upload (null before it ran). */
  diagnostics: InputDiagnostics | null;
  errorClass: FailureClass | null;
  errorCode: FailureCode | null;
  /** The user sentence for a failed video. */
  errorMessage: string | null;
  /** What admins see: the last attempt's technical detail. */
  errorDetail: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface Checkpoint {
  id: string;
  stage: string;
  attempt: number;
  /** waited: the attempt ended because a dependency was unavailable; it spent none of the stage's retries. */
  status: 'started' | 'finished' | 'failed' | 'waited';
  startedAt: Date;
  finishedAt: Date | null;
  durationSeconds: number | null;
  workerId: string;
  jobId: string | null;
  errorClass: FailureClass | null;
  errorCode: FailureCode | null;
  /** Technical detail for admins (ffmpeg lines, paths); never shown to users. */
  message: string | null;
  /** The last progress a running attempt reported (null for stages that report none). */
  progress: StageProgress | null;
  cpuSeconds: number | null;
}

export interface Output {
  kind: 'rendition' | 'thumbnail';
  name: string;
  path: string;
  bytes: number;
  durationSeconds: number | null;
}

export interface Failure {
  errorClass: FailureClass;
  errorCode: FailureCode;
  userMessage: string;
  detail: string;
}

const VIDEO_COLUMNS = `id, sha256, original_name as "originalName", email, labels, synthetic, state, stage, fence, job_id as "jobId", source, diagnostics,
  error_class as "errorClass", error_code as "errorCode", error_message as "errorMessage", error_detail as "errorDetail",
  created_at as "createdAt", updated_at as "updatedAt", finished_at as "finishedAt"`;

// ---- videos

export async function getVideo(db: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<Video | null> {
  const [video] = await db.query<Video>(`select ${VIDEO_COLUMNS} from processing_videos where id = $1${options.forUpdate ? ' for update' : ''}`, [id]);
  return video ?? null;
}

export async function listVideos(db: Queryable, filter: { state?: VideoState; limit: number }): Promise<Video[]> {
  return db.query<Video>(`select ${VIDEO_COLUMNS} from processing_videos where ($1::text is null or state = $1) order by updated_at desc limit $2`, [
    filter.state ?? null,
    filter.limit,
  ]);
}

/** Videos not finished yet, for recovery at start. */
export async function listUnfinishedVideos(db: Queryable): Promise<Video[]> {
  return db.query<Video>(`select ${VIDEO_COLUMNS} from processing_videos where state in ('queued', 'waiting', 'processing') order by created_at`);
}

export async function insertVideo(
  db: Queryable,
  video: { id: string; sha256: string; bytes: number; originalName: string | null; email: string | null; labels: Record<string, string>; stage: string; now: Date; callbackUrl?: string | null },
): Promise<void> {
  // Referencing the blob again cancels a GC mark made while nothing referenced it.
  await db.query(`insert into processing_blobs (sha256, bytes, created_at) values ($1, $2, $3) on conflict (sha256) do update set gc_marked_at = null`, [
    video.sha256,
    video.bytes,
    video.now,
  ]);
  await db.query(
    `insert into processing_videos (id, sha256, original_name, email, labels, synthetic, state, stage, queued_at, created_at, updated_at, callback_url)
     values ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $8, $8, $9)`,
    [video.id, video.sha256, video.originalName, video.email, JSON.stringify(video.labels), video.labels.synthetic === 'true', video.stage, video.now, video.callbackUrl ?? null],
  );
}

export async function setVideoJob(db: Queryable, videoId: string, jobId: string): Promise<void> {
  await db.query('update processing_videos set job_id = $2 where id = $1', [videoId, jobId]);
}

export async function claimVideo(db: Queryable, videoId: string, fence: string, now: Date): Promise<void> {
  await db.query(`update processing_videos set state = 'processing', fence = $2, updated_at = $3 where id = $1`, [videoId, fence, now]);
}

export async function setSource(db: Queryable, videoId: string, source: SourceInfo): Promise<void> {
  await db.query('update processing_videos set source = $2 where id = $1', [videoId, JSON.stringify(source)]);
}

export async function setDiagnostics(db: Queryable, videoId: string, diagnostics: InputDiagnostics): Promise<void> {
  await db.query('update processing_videos set diagnostics = $2 where id = $1', [videoId, JSON.stringify(diagnostics)]);
}

export async function advanceStage(db: Queryable, videoId: string, stage: string, now: Date): Promise<void> {
  await db.query(`update processing_videos set stage = $2, queued_at = $3, updated_at = $3 where id = $1`, [videoId, stage, now]);
}

/** Back in the queue at the same stage (a retry after a failure, or an attempt handed back). */
export async function requeueVideo(db: Queryable, videoId: string, now: Date, lastFailure?: Failure): Promise<void> {
  await db.query(
    `update processing_videos set state = 'queued', fence = null, queued_at = $2, updated_at = $2,
       error_class = coalesce($3, error_class), error_code = coalesce($4, error_code), error_detail = coalesce($5, error_detail) where id = $1`,
    [videoId, now, lastFailure?.errorClass ?? null, lastFailure?.errorCode ?? null, lastFailure?.detail ?? null],
  );
}

/** Between attempts of a stage that waits for a dependency: the video shows as waiting, with the cause as its last failure. */
export async function waitVideo(db: Queryable, videoId: string, now: Date, failure: Failure): Promise<void> {
  await db.query(
    `update processing_videos set state = 'waiting', fence = null, queued_at = $2, updated_at = $2, error_class = $3, error_code = $4, error_detail = $5 where id = $1`,
    [videoId, now, failure.errorClass, failure.errorCode, failure.detail],
  );
}

/** When the current stretch of waits of `stage` began (its first attempt that ended waiting after the last one that
 * finished or failed), and how many attempts it holds. */
export async function waitStretch(db: Queryable, videoId: string, stage: string): Promise<{ since: Date | null; waits: number }> {
  const [row] = await db.query<{ since: Date | null; waits: number }>(
    `select min(c.started_at) as since, count(*)::int as waits from processing_checkpoints c
      where c.video_id = $1 and c.stage = $2 and c.status = 'waited'
        and c.id > coalesce((select max(d.id) from processing_checkpoints d where d.video_id = $1 and d.stage = $2 and d.status in ('finished', 'failed')), 0)`,
    [videoId, stage],
  );
  return { since: row?.since ?? null, waits: row?.waits ?? 0 };
}

export async function countWaitingVideos(db: Queryable): Promise<Array<{ stage: string; count: number }>> {
  return db.query(`select stage, count(*)::int as count from processing_videos where state = 'waiting' group by stage`);
}

export async function publishVideo(db: Queryable, videoId: string, now: Date): Promise<void> {
  await db.query(
    `update processing_videos set state = 'published', stage = null, fence = null, error_class = null, error_code = null, error_message = null,
       error_detail = null, updated_at = $2, finished_at = $2 where id = $1`,
    [videoId, now],
  );
}

export async function failVideo(db: Queryable, videoId: string, failure: Failure, now: Date): Promise<void> {
  await db.query(
    `update processing_videos set state = 'failed', fence = null, error_class = $2, error_code = $3, error_message = $4, error_detail = $5,
       updated_at = $6, finished_at = $6 where id = $1`,
    [videoId, failure.errorClass, failure.errorCode, failure.userMessage, failure.detail, now],
  );
}

/**
 * A failed video back to the stage it failed at, with a fresh count of attempts (only checkpoints after this one count)
 * and its failure notice claim cleared so a second failure is told too.
 */
export async function reopenFailedVideo(db: Queryable, videoId: string, now: Date): Promise<Video | null> {
  const [video] = await db.query<Video>(
    `update processing_videos set state = 'queued', fence = null, error_class = null, error_code = null, error_message = null, error_detail = null,
       noticed_failed_at = null, noticed_retry_at = null, finished_at = null, queued_at = $2, updated_at = $2,
       counted_after = coalesce((select max(id) from processing_checkpoints where video_id = $1), 0)
     where id = $1 and state = 'failed' returning ${VIDEO_COLUMNS}`,
    [videoId, now],
  );
  return video ?? null;
}

/** Seconds spent in stage attempts, for the processing-time ratio. */
export async function processingSeconds(db: Queryable, videoId: string): Promise<number> {
  const [row] = await db.query<{ total: number | null }>('select sum(duration_seconds) as total from processing_checkpoints where video_id = $1', [videoId]);
  return Number(row?.total ?? 0);
}

/** Deletes a video's rows; returns its blob's hash when no other video references it any more (the caller removes the file). */
export async function deleteVideoRows(db: Queryable, videoId: string): Promise<{ unreferencedSha256: string | null }> {
  const [video] = await db.query<{ sha256: string }>('delete from processing_videos where id = $1 returning sha256', [videoId]);
  await db.query('delete from processing_checkpoints where video_id = $1', [videoId]);
  await db.query('delete from processing_outputs where video_id = $1', [videoId]);
  if (!video) return { unreferencedSha256: null };
  const [blob] = await db.query<{ sha256: string }>(
    'delete from processing_blobs b where sha256 = $1 and not exists (select 1 from processing_videos v where v.sha256 = b.sha256) returning sha256',
    [video.sha256],
  );
  return { unreferencedSha256: blob?.sha256 ?? null };
}

/** The channel on which a deleted video's id reaches every worker process (on commit), to stop its running attempt. */
export const DELETED_CHANNEL = 'vigil_processing_deleted';

export async function announceDeleted(db: Queryable, videoId: string): Promise<void> {
  await db.query('select pg_notify($1, $2)', [DELETED_CHANNEL, videoId]);
}

const NOTICE_COLUMN: Record<NoticeKind, string> = { retry: 'noticed_retry_at', ready: 'noticed_ready_at', failed: 'noticed_failed_at', delayed: 'noticed_delayed_at' };

/** Claims the right to send one notice of `kind` (true once per kind and video). */
export async function claimNotice(db: Queryable, videoId: string, kind: NoticeKind, now: Date): Promise<boolean> {
  const column = NOTICE_COLUMN[kind];
  return (await db.query(`update processing_videos set ${column} = $2 where id = $1 and ${column} is null returning id`, [videoId, now])).length > 0;
}

/** Gives a claimed notice back (its mail could not go out yet), so a later pass claims it again. */
export async function releaseNotice(db: Queryable, videoId: string, kind: NoticeKind): Promise<void> {
  await db.query(`update processing_videos set ${NOTICE_COLUMN[kind]} = null where id = $1`, [videoId]);
}

/**
 * While processing is stalled (some unfinished video has waited without a running attempt since `waitingSince`), the
 * waiting videos whose uploader has not been told yet.
 */
export async function delayedVideosToTell(db: Queryable, options: { waitingSince: Date; synthetic: boolean; limit: number }): Promise<Video[]> {
  return db.query<Video>(
    `with waiting as (
       select v.id, v.queued_at from processing_videos v
        where v.state in ('queued', 'processing')
          and not exists (select 1 from processing_checkpoints c where c.video_id = v.id and c.stage = v.stage and c.status = 'started'))
     select ${VIDEO_COLUMNS} from processing_videos
      where id in (select id from waiting) and email is not null and noticed_delayed_at is null and ($2 or not synthetic)
        and exists (select 1 from waiting where queued_at <= $1)
      order by created_at limit $3`,
    [options.waitingSince, options.synthetic, options.limit],
  );
}

// ---- checkpoints

export async function insertCheckpoint(
  db: Queryable,
  checkpoint: { videoId: string; stage: string; attempt: number; jobId: string; workerId: string; now: Date },
): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    `insert into processing_checkpoints (video_id, stage, attempt, status, job_id, worker_id, started_at) values ($1, $2, $3, 'started', $4, $5, $6) returning id::text as id`,
    [checkpoint.videoId, checkpoint.stage, checkpoint.attempt, checkpoint.jobId, checkpoint.workerId, checkpoint.now],
  );
  return row!.id;
}

export async function finishCheckpoint(db: Queryable, id: string, now: Date, durationSeconds: number, cpuSeconds: number | null): Promise<void> {
  await db.query(`update processing_checkpoints set status = 'finished', finished_at = $2, duration_seconds = $3, cpu_seconds = $4 where id = $1`, [id, now, durationSeconds, cpuSeconds]);
}

/** The running attempt's latest progress (ignored once the attempt has ended). */
export async function setCheckpointProgress(db: Queryable, id: string, progress: StageProgress, now: Date): Promise<void> {
  await db.query(
    `update processing_checkpoints set progress_percent = $2, progress_speed = $3, progress_eta = $4, progress_at = $5 where id = $1 and status = 'started'`,
    [id, progress.percent, progress.speed, progress.estimatedFinishAt, now],
  );
}

/** An attempt that ended because a dependency is unavailable: it counts as neither a failure nor an interruption. */
export async function waitCheckpoint(db: Queryable, id: string, failure: Omit<Failure, 'userMessage'>, now: Date, durationSeconds: number): Promise<void> {
  await db.query(
    `update processing_checkpoints set status = 'waited', finished_at = $2, duration_seconds = $3, error_class = $4, error_code = $5, message = $6 where id = $1 and status = 'started'`,
    [id, now, durationSeconds, failure.errorClass, failure.errorCode, failure.detail],
  );
}

export async function failCheckpoint(db: Queryable, id: string, failure: Omit<Failure, 'userMessage'>, now: Date, durationSeconds: number | null): Promise<void> {
  await db.query(
    `update processing_checkpoints set status = 'failed', finished_at = $2, duration_seconds = coalesce($3, duration_seconds), error_class = $4, error_code = $5, message = $6
     where id = $1 and status = 'started'`,
    [id, now, durationSeconds, failure.errorClass, failure.errorCode, failure.detail],
  );
}

/** Attempts of `stage` still marked started: their process is gone (or gave them up). Returns how many. */
export async function interruptStartedAttempts(db: Queryable, videoId: string, stage: string | null, detail: string, now: Date): Promise<number> {
  const rows = await db.query(
    `update processing_checkpoints set status = 'failed', error_class = 'WORKER_LOST', error_code = 'worker_lost', finished_at = $3, message = $4
     where video_id = $1 and ($2::text is null or stage = $2) and status = 'started' returning id`,
    [videoId, stage, now, detail],
  );
  return rows.length;
}

/** Attempts of a stage since the video was last reopened: its own failures, and interruptions (stops, lost workers). */
export async function countAttempts(db: Queryable, videoId: string, stage: string): Promise<{ failures: number; interruptions: number; waits: number }> {
  const [row] = await db.query<{ failures: number; interruptions: number; waits: number }>(
    `select count(*) filter (where c.status = 'failed' and c.error_class <> 'WORKER_LOST')::int as failures,
            count(*) filter (where c.status = 'failed' and c.error_class = 'WORKER_LOST')::int as interruptions,
            count(*) filter (where c.status = 'waited')::int as waits
     from processing_checkpoints c join processing_videos v on v.id = c.video_id
     where c.video_id = $1 and c.stage = $2 and c.id > v.counted_after`,
    [videoId, stage],
  );
  return { failures: row?.failures ?? 0, interruptions: row?.interruptions ?? 0, waits: row?.waits ?? 0 };
}

export async function listCheckpoints(db: Queryable, videoId: string): Promise<Checkpoint[]> {
  const rows = await db.query<Omit<Checkpoint, 'progress'> & { percent: number | null; speed: number | null; eta: Date | null }>(
    `select id::text as id, stage, attempt, status, started_at as "startedAt", finished_at as "finishedAt", duration_seconds as "durationSeconds",
       worker_id as "workerId", job_id as "jobId", error_class as "errorClass", error_code as "errorCode", message,
       progress_percent as percent, progress_speed as speed, progress_eta as eta, cpu_seconds as "cpuSeconds"
     from processing_checkpoints c where video_id = $1 order by c.id`,
    [videoId],
  );
  return rows.map(({ percent, speed, eta, ...checkpoint }) => ({ ...checkpoint, progress: percent === null ? null : { percent, speed, estimatedFinishAt: eta } }));
}

// ---- outputs

export async function upsertOutput(db: Queryable, videoId: string, output: Output, now: Date): Promise<void> {
  await db.query(
    `insert into processing_outputs (video_id, kind, name, path, bytes, duration_seconds, created_at) values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (video_id, name) do update set kind = excluded.kind, path = excluded.path, bytes = excluded.bytes,
       duration_seconds = excluded.duration_seconds, created_at = excluded.created_at, gc_marked_at = null`,
    [videoId, output.kind, output.name, output.path, output.bytes, output.durationSeconds, now],
  );
}

export async function listOutputs(db: Queryable, videoId: string): Promise<Output[]> {
  return db.query<Output>(
    `select kind, name, path, bytes::float8 as bytes, duration_seconds as "durationSeconds" from processing_outputs
     where video_id = $1 and gc_marked_at is null order by kind, name`,
    [videoId],
  );
}

// ---- signals

export async function videoOutcomes(db: Queryable, window: { from: Date; to: Date; includeSynthetic: boolean }): Promise<{ published: number; failed: number }> {
  const [row] = await db.query<{ published: number; failed: number }>(
    `select count(*) filter (where state = 'published')::int as published, count(*) filter (where state = 'failed')::int as failed
     from processing_videos where finished_at > $1 and finished_at <= $2 and ($3 or not synthetic)`,
    [window.from, window.to, window.includeSynthetic],
  );
  return { published: row?.published ?? 0, failed: row?.failed ?? 0 };
}

/** Median and p95 of upload-to-published time per source-duration bucket, over the videos published in the window. */
export async function timeToPublishByBucket(db: Queryable, window: { from: Date; to: Date; includeSynthetic: boolean }): Promise<TimeToPublish[]> {
  const bounds = DURATION_BUCKETS.slice(0, -1).map((bucket) => bucket.upTo);
  const rows = await db.query<{ bucket: number; videos: number; medianSeconds: number; p95Seconds: number }>(
    `select width_bucket(coalesce((source->>'durationSeconds')::float8, 0), $4::float8[]) as bucket, count(*)::int as videos,
            (percentile_cont(0.5) within group (order by extract(epoch from finished_at - created_at)))::float8 as "medianSeconds",
            (percentile_cont(0.95) within group (order by extract(epoch from finished_at - created_at)))::float8 as "p95Seconds"
     from processing_videos where state = 'published' and finished_at > $1 and finished_at <= $2 and ($3 or not synthetic)
     group by 1 order by 1`,
    [window.from, window.to, window.includeSynthetic, bounds],
  );
  return rows.map(({ bucket, ...figures }) => ({ bucket: DURATION_BUCKETS[bucket]!.name, ...figures }));
}

/** Per stage: unfinished videos waiting (no running attempt), running, and the oldest wait. */
export async function waitingByStage(db: Queryable): Promise<Array<{ stage: string; depth: number; active: number; oldestQueuedAt: Date | null }>> {
  return db.query(
    `select v.stage, count(*) filter (where c.id is null)::int as depth, count(c.id)::int as active,
            min(v.queued_at) filter (where c.id is null) as "oldestQueuedAt"
     from processing_videos v
     left join processing_checkpoints c on c.video_id = v.id and c.stage = v.stage and c.status = 'started'
     where v.state in ('queued', 'waiting', 'processing')
     group by v.stage`,
  );
}

export async function finishedByStage(db: Queryable, window: { from: Date; to: Date }): Promise<Array<{ stage: string; count: number }>> {
  return db.query(
    `select stage, count(*)::int as count from processing_checkpoints where status = 'finished' and finished_at > $1 and finished_at <= $2 group by stage`,
    [window.from, window.to],
  );
}

// ---- storage GC

/** Marks derived files past their retention: failed videos, finished synthetic videos, and published ones when `derivedBefore` is set. */
export async function markExpiredOutputs(db: Queryable, cut: { now: Date; failedBefore: Date; syntheticBefore: Date; derivedBefore: Date | null }): Promise<void> {
  await db.query(
    `update processing_outputs o set gc_marked_at = $1 from processing_videos v
     where o.video_id = v.id and o.gc_marked_at is null and (
       (v.state = 'failed' and v.finished_at < $2)
       or (v.synthetic and v.state in ('published', 'failed') and v.finished_at < $3)
       or ($4::timestamptz is not null and v.state = 'published' and v.finished_at < $4))`,
    [cut.now, cut.failedBefore, cut.syntheticBefore, cut.derivedBefore],
  );
}

/** Deletes finished synthetic videos and their checkpoints; returns how many. */
export async function deleteExpiredSyntheticVideos(db: Queryable, finishedBefore: Date): Promise<number> {
  const expired = await db.query<{ id: string }>(`delete from processing_videos where synthetic and state in ('published', 'failed') and finished_at < $1 returning id`, [
    finishedBefore,
  ]);
  if (expired.length) await db.query('delete from processing_checkpoints where video_id = any($1)', [expired.map((video) => video.id)]);
  return expired.length;
}

/** Marks follow references: set on blobs nothing references, cleared on blobs referenced again. */
export async function markUnreferencedBlobs(db: Queryable, now: Date): Promise<void> {
  await db.query(
    `update processing_blobs b set gc_marked_at = case when exists (select 1 from processing_videos v where v.sha256 = b.sha256) then null else $1::timestamptz end
     where (gc_marked_at is null) = not exists (select 1 from processing_videos v where v.sha256 = b.sha256)`,
    [now],
  );
}

export async function storedBytes(db: Queryable): Promise<number> {
  const [row] = await db.query<{ total: number }>(
    `select (select coalesce(sum(bytes), 0) from processing_blobs where gc_marked_at is null)
          + (select coalesce(sum(bytes), 0) from processing_outputs where gc_marked_at is null) as total`,
  );
  return Number(row?.total ?? 0);
}

/** Derived files of finished videos, longest finished first: what goes when storage is over its bound. */
export async function listEvictableOutputs(db: Queryable): Promise<Array<{ videoId: string; name: string; bytes: number }>> {
  return db.query(
    `select o.video_id as "videoId", o.name, o.bytes::float8 as bytes from processing_outputs o join processing_videos v on v.id = o.video_id
     where o.gc_marked_at is null and v.state in ('published', 'failed') order by v.finished_at, o.created_at`,
  );
}

export async function markOutput(db: Queryable, videoId: string, name: string, now: Date): Promise<void> {
  await db.query('update processing_outputs set gc_marked_at = $3 where video_id = $1 and name = $2', [videoId, name, now]);
}

export async function listMarkedOutputs(db: Queryable): Promise<Array<{ videoId: string; name: string; path: string; bytes: number }>> {
  return db.query(`select video_id as "videoId", name, path, bytes::float8 as bytes from processing_outputs where gc_marked_at is not null`);
}

export async function deleteMarkedOutput(db: Queryable, output: { videoId: string; name: string; path: string }): Promise<void> {
  await db.query('delete from processing_outputs where video_id = $1 and name = $2 and path = $3 and gc_marked_at is not null', [output.videoId, output.name, output.path]);
}

export async function listMarkedBlobs(db: Queryable): Promise<string[]> {
  return (await db.query<{ sha256: string }>('select sha256 from processing_blobs where gc_marked_at is not null')).map((row) => row.sha256);
}

/** Deletes a marked blob row if still unreferenced; returns its size, or null when it is referenced again. */
export async function deleteMarkedBlob(db: Queryable, sha256: string): Promise<number | null> {
  const [row] = await db.query<{ bytes: number }>(
    `delete from processing_blobs b where sha256 = $1 and gc_marked_at is not null
     and not exists (select 1 from processing_videos v where v.sha256 = b.sha256) returning bytes::float8 as bytes`,
    [sha256],
  );
  return row ? row.bytes : null;
}

export async function listOutputPaths(db: Queryable): Promise<Set<string>> {
  return new Set((await db.query<{ path: string }>('select path from processing_outputs')).map((row) => row.path));
}

// ---- events (processing/events.ts)

export interface PendingEvent {
  id: string;
  videoId: string;
  sequence: number;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
  attempts: number;
  /** A per-upload callback's address; null for a configured endpoint. */
  url: string | null;
}

/** The channel event delivery listens on: an event written wakes delivery in every process on commit. */
export const EVENTS_CHANNEL = 'vigil_processing_events';

/**
 * The event with the video's next sequence number, and one pending delivery per endpoint; with `callback`, one more
 * under that endpoint name to the address the video was uploaded with, if any.
 */
export async function insertEvent(
  db: Queryable,
  event: { id: string; videoId: string; type: string; data: Record<string, unknown>; now: Date; endpoints: readonly string[]; callback: string | null },
): Promise<void> {
  // Serialises a video's events across transactions, so sequence numbers follow commit order.
  await db.query('select pg_advisory_xact_lock(hashtext($1))', [`processing_events:${event.videoId}`]);
  await db.query(
    `insert into processing_events (id, video_id, sequence, type, data, created_at)
     values ($1, $2, (select coalesce(max(sequence), 0) + 1 from processing_events where video_id = $2), $3, $4, $5)`,
    [event.id, event.videoId, event.type, JSON.stringify(event.data), event.now],
  );
  await db.query(
    `insert into processing_event_deliveries (event_id, endpoint, status, next_attempt_at) select $1, endpoint, 'pending', $2 from unnest($3::text[]) as endpoint`,
    [event.id, event.now, event.endpoints],
  );
  await db.query('select pg_notify($1, $2)', [EVENTS_CHANNEL, '']);
  if (event.callback === null) return;
  await db.query(
    `insert into processing_event_deliveries (event_id, endpoint, status, next_attempt_at, url)
     select $1, $2, 'pending', $3, callback_url from processing_videos where id = $4 and callback_url is not null`,
    [event.id, event.callback, event.now, event.videoId],
  );
}

/**
 * Claims, until `claimUntil`, each video's earliest undelivered event for `endpoint` when that one is due and unclaimed:
 * later events wait behind it, and a video's head claimed by another process is skipped, so one process at a time
 * sends a video's events. The update re-checks the row it claims, so of two processes racing for a head one wins.
 */
export async function claimEventHeads(db: Queryable, endpoint: string, now: Date, claimUntil: Date): Promise<PendingEvent[]> {
  return db.query<PendingEvent>(
    `with heads as (
       select distinct on (e.video_id) d.event_id, d.next_attempt_at, d.claimed_until, e.created_at
       from processing_event_deliveries d join processing_events e on e.id = d.event_id
       where d.endpoint = $1 and d.status = 'pending'
       order by e.video_id, e.sequence
     ), due as (
       select event_id from heads where next_attempt_at <= $2 and (claimed_until is null or claimed_until <= $2) order by created_at limit 100
     )
     update processing_event_deliveries d set claimed_until = $3
     from due, processing_events e
     where d.event_id = due.event_id and d.endpoint = $1 and e.id = d.event_id and d.status = 'pending' and (d.claimed_until is null or d.claimed_until <= $2)
     returning e.id, e.video_id as "videoId", e.sequence, e.type, e.data, e.created_at as "createdAt", d.attempts, d.url`,
    [endpoint, now, claimUntil],
  );
}

export async function markEventDelivered(db: Queryable, eventId: string, endpoint: string, now: Date): Promise<void> {
  await db.query(
    `update processing_event_deliveries set status = 'delivered', attempts = attempts + 1, delivered_at = $3, claimed_until = null where event_id = $1 and endpoint = $2`,
    [eventId, endpoint, now],
  );
}

export async function markEventRetry(db: Queryable, eventId: string, endpoint: string, nextAttemptAt: Date, error: string): Promise<void> {
  await db.query(`update processing_event_deliveries set attempts = attempts + 1, next_attempt_at = $3, last_error = $4, claimed_until = null where event_id = $1 and endpoint = $2`, [
    eventId,
    endpoint,
    nextAttemptAt,
    error,
  ]);
}

export async function markEventFailed(db: Queryable, eventId: string, endpoint: string, error: string): Promise<void> {
  await db.query(`update processing_event_deliveries set status = 'failed', attempts = attempts + 1, last_error = $3, claimed_until = null where event_id = $1 and endpoint = $2`, [
    eventId,
    endpoint,
    error,
  ]);
}

/**
 * Deletes events that happened before `before` whose every delivery is settled (delivered or given up) before it too;
 * a video's latest event stays, so the sequence of its next one carries on from it.
 */
export async function deleteSettledEvents(db: Queryable, before: Date): Promise<number> {
  const rows = await db.query<{ id: string }>(
    `with old as (
       select e.id from processing_events e
       where e.created_at < $1
         and e.sequence < (select max(later.sequence) from processing_events later where later.video_id = e.video_id)
         and not exists (select 1 from processing_event_deliveries d where d.event_id = e.id and (d.status = 'pending' or d.delivered_at >= $1))
     ), deliveries as (delete from processing_event_deliveries d using old where d.event_id = old.id)
     delete from processing_events e using old where e.id = old.id returning e.id`,
    [before],
  );
  return rows.length;
}

/** Per endpoint: deliveries still pending, the age of the oldest, and those given up. */
export async function eventBacklog(db: Queryable, now: Date): Promise<Array<{ endpoint: string; pending: number; oldestPendingSeconds: number; failed: number }>> {
  return db.query(
    `select d.endpoint, count(*) filter (where d.status = 'pending')::int as pending, count(*) filter (where d.status = 'failed')::int as failed,
            coalesce(extract(epoch from $1 - min(e.created_at) filter (where d.status = 'pending')), 0)::float8 as "oldestPendingSeconds"
     from processing_event_deliveries d join processing_events e on e.id = d.event_id group by d.endpoint`,
    [now],
  );
}

/** A video's events with each endpoint's delivery, for the admin API. */
export async function listVideoEvents(db: Queryable, videoId: string) {
  return db.query<{ id: string; sequence: number; type: string; createdAt: Date; data: Record<string, unknown>; deliveries: Array<{ endpoint: string; status: string; attempts: number; lastError: string | null }> }>(
    `select e.id, e.sequence, e.type, e.created_at as "createdAt", e.data,
            coalesce(json_agg(json_build_object('endpoint', d.endpoint, 'status', d.status, 'attempts', d.attempts, 'lastError', d.last_error) order by d.endpoint)
              filter (where d.endpoint is not null), '[]') as deliveries
     from processing_events e left join processing_event_deliveries d on d.event_id = e.id
     where e.video_id = $1 group by e.id order by e.sequence`,
    [videoId],
  );
}

// The read side of the admin API and the console: videos paged newest first.

export interface VideoFilter {
  state?: VideoState;
  /** Only videos with all these labels. */
  labels?: Record<string, string>;
  /** Only videos created before this one (the previous page's last): newer uploads never shift a later page. */
  before?: { createdAt: string; id: string };
  limit: number;
}

export async function selectVideosPage(db: Queryable, filter: VideoFilter): Promise<Video[]> {
  const rows = await db.query<{ id: string }>(
    `select id from processing_videos
      where ($1::text is null or state = $1) and ($2::jsonb is null or labels @> $2::jsonb)
        and ($3::timestamptz is null or (created_at, id) < ($3::timestamptz, $4::text))
      order by created_at desc, id desc limit $5`,
    [filter.state ?? null, filter.labels ? JSON.stringify(filter.labels) : null, filter.before?.createdAt ?? null, filter.before?.id ?? null, filter.limit],
  );
  const videos = await Promise.all(rows.map((row) => getVideo(db, row.id)));
  return videos.filter((video): video is Video => video !== null);
}
