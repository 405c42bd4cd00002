import type { Queryable } from '../core/db/index.ts';
import type { FailureClass } from './failures.ts';

export const VIDEO_STATES = ['queued', 'processing', 'published', 'failed'] as const;
export type VideoState = (typeof VIDEO_STATES)[number];

export interface SourceInfo {
  durationSeconds: number;
  formatName: string;
  width: number;
  height: number;
  hasAudio: boolean;
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
  source: SourceInfo | null;
  errorClass: FailureClass | null;
  errorMessage: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Checkpoint {
  stage: string;
  attempt: number;
  status: 'started' | 'finished' | 'failed';
  startedAt: Date;
  finishedAt: Date | null;
  workerId: string;
  jobId: string | null;
  errorClass: FailureClass | null;
  message: string | null;
}

export interface Output {
  kind: 'rendition' | 'thumbnail';
  name: string;
  path: string;
  bytes: number;
  durationSeconds: number | null;
}

interface VideoRow {
  id: string;
  sha256: string;
  original_name: string | null;
  email: string | null;
  labels: Record<string, string> | string;
  synthetic: boolean;
  state: VideoState;
  stage: string | null;
  fence: string | null;
  source: SourceInfo | string | null;
  error_class: FailureClass | null;
  error_message: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

function toVideo(row: VideoRow): Video {
  return {
    id: row.id,
    sha256: row.sha256,
    originalName: row.original_name,
    email: row.email,
    labels: json(row.labels),
    synthetic: row.synthetic,
    state: row.state,
    stage: row.stage,
    fence: row.fence,
    source: row.source === null ? null : json(row.source),
    errorClass: row.error_class,
    errorMessage: row.error_message,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export async function getVideo(db: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<Video | null> {
  const rows = await db.query<VideoRow>(`select * from processing_videos where id = $1${options.forUpdate ? ' for update' : ''}`, [id]);
  return rows[0] ? toVideo(rows[0]) : null;
}

export async function listVideos(db: Queryable, filter: { state?: VideoState; limit: number }): Promise<Video[]> {
  const rows = filter.state
    ? await db.query<VideoRow>('select * from processing_videos where state = $1 order by updated_at desc limit $2', [filter.state, filter.limit])
    : await db.query<VideoRow>('select * from processing_videos order by updated_at desc limit $1', [filter.limit]);
  return rows.map(toVideo);
}

export async function insertVideo(
  db: Queryable,
  video: { id: string; sha256: string; bytes: number; originalName: string | null; email: string | null; labels: Record<string, string>; now: Date },
): Promise<void> {
  // Referencing the blob again cancels a GC mark made while nothing referenced it.
  await db.query(
    `insert into processing_blobs (sha256, bytes, created_at) values ($1, $2, $3)
     on conflict (sha256) do update set gc_marked_at = null`,
    [video.sha256, video.bytes, video.now],
  );
  await db.query(
    `insert into processing_videos (id, sha256, original_name, email, labels, synthetic, state, stage, queued_at, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, 'queued', 'store', $7, $7, $7)`,
    [video.id, video.sha256, video.originalName, video.email, JSON.stringify(video.labels), video.labels.synthetic === 'true', video.now],
  );
}

export async function listCheckpoints(db: Queryable, videoId: string): Promise<Checkpoint[]> {
  const rows = await db.query<{
    stage: string;
    attempt: number;
    status: Checkpoint['status'];
    started_at: Date | string;
    finished_at: Date | string | null;
    worker_id: string;
    job_id: string | null;
    error_class: FailureClass | null;
    message: string | null;
  }>('select * from processing_checkpoints where video_id = $1 order by id', [videoId]);
  return rows.map((row) => ({
    stage: row.stage,
    attempt: row.attempt,
    status: row.status,
    startedAt: new Date(row.started_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
    workerId: row.worker_id,
    jobId: row.job_id,
    errorClass: row.error_class,
    message: row.message,
  }));
}

export async function listOutputs(db: Queryable, videoId: string): Promise<Output[]> {
  const rows = await db.query<{ kind: Output['kind']; name: string; path: string; bytes: string | number; duration_seconds: number | null }>(
    'select kind, name, path, bytes, duration_seconds from processing_outputs where video_id = $1 and gc_marked_at is null order by kind, name',
    [videoId],
  );
  return rows.map((row) => ({ kind: row.kind, name: row.name, path: row.path, bytes: Number(row.bytes), durationSeconds: row.duration_seconds }));
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
