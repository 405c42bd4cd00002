import type { Migration } from '../core/db/index.ts';

// One statement per migration: PGlite runs each as one prepared statement.
export const processingMigrations: readonly Migration[] = [
  {
    id: 'processing/001_blobs',
    // gc_marked_at: set by GC when nothing references the blob, cleared by an upload that references it again.
    sql: `create table processing_blobs (
      sha256 text primary key,
      bytes bigint not null,
      created_at timestamptz not null,
      gc_marked_at timestamptz
    )`,
  },
  {
    id: 'processing/002_videos',
    // fence: the attempt (job id / attempt number) that holds the video. Results from any other attempt are discarded.
    sql: `create table processing_videos (
      id text primary key,
      sha256 text not null references processing_blobs (sha256),
      original_name text,
      email text,
      labels jsonb not null default '{}',
      synthetic boolean not null default false,
      state text not null,
      stage text,
      fence text,
      job_id text,
      queued_at timestamptz,
      source jsonb,
      error_class text,
      error_message text,
      noticed_retry_at timestamptz,
      noticed_ready_at timestamptz,
      noticed_failed_at timestamptz,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      finished_at timestamptz
    )`,
  },
  { id: 'processing/003_videos_state', sql: 'create index processing_videos_state on processing_videos (state, updated_at)' },
  { id: 'processing/004_videos_sha256', sql: 'create index processing_videos_sha256 on processing_videos (sha256)' },
  {
    id: 'processing/005_checkpoints',
    sql: `create table processing_checkpoints (
      id bigserial primary key,
      video_id text not null,
      stage text not null,
      attempt integer not null,
      status text not null,
      job_id text,
      worker_id text not null,
      started_at timestamptz not null,
      finished_at timestamptz,
      duration_seconds double precision,
      error_class text,
      message text
    )`,
  },
  { id: 'processing/006_checkpoints_video', sql: 'create index processing_checkpoints_video on processing_checkpoints (video_id, id)' },
  { id: 'processing/007_checkpoints_finished', sql: 'create index processing_checkpoints_finished on processing_checkpoints (stage, finished_at)' },
  {
    id: 'processing/008_outputs',
    sql: `create table processing_outputs (
      video_id text not null,
      kind text not null,
      name text not null,
      path text not null,
      bytes bigint not null,
      duration_seconds double precision,
      created_at timestamptz not null,
      gc_marked_at timestamptz,
      primary key (video_id, name)
    )`,
  },
  {
    id: 'processing/009_videos_failure_code',
    // error_message becomes the user sentence; error_detail keeps the technical detail for admins.
    // counted_after: checkpoints up to this id no longer count against the attempt limits (set when a failed video is retried).
    sql: `alter table processing_videos add column error_code text, add column error_detail text, add column counted_after bigint not null default 0`,
  },
  { id: 'processing/010_checkpoints_failure_code', sql: 'alter table processing_checkpoints add column error_code text' },
  {
    id: 'processing/011_videos_failure_code_backfill',
    sql: `update processing_videos set error_detail = error_message,
      error_code = case error_class when 'INPUT_INVALID' then 'not_a_video' when 'TIMEOUT' then 'timed_out' when 'RESOURCE' then 'storage_unavailable'
        when 'WORKER_LOST' then 'worker_lost' else 'internal' end,
      error_message = case error_class when 'INPUT_INVALID' then 'The file is not a video we can read.'
        when 'TIMEOUT' then 'Processing took longer than allowed, every time we tried.'
        when 'RESOURCE' then 'Our storage was not available, every time we tried.'
        when 'WORKER_LOST' then 'The machines processing it kept stopping, every time we tried.'
        else 'An unexpected error stopped processing, every time we tried.' end
      where error_class is not null`,
  },
  {
    id: 'processing/012_checkpoints_failure_code_backfill',
    sql: `update processing_checkpoints set error_code = case error_class when 'INPUT_INVALID' then 'not_a_video' when 'TIMEOUT' then 'timed_out'
      when 'RESOURCE' then 'storage_unavailable' when 'WORKER_LOST' then 'worker_lost' else 'internal' end where error_class is not null`,
  },
  { id: 'processing/013_videos_diagnostics', sql: 'alter table processing_videos add column diagnostics jsonb' },
  {
    id: 'processing/014_checkpoints_progress',
    // progress_*: the running attempt's last reported progress; cpu_seconds: what its tools reported using.
    sql: `alter table processing_checkpoints add column progress_percent double precision, add column progress_speed double precision,
      add column progress_eta timestamptz, add column progress_at timestamptz, add column cpu_seconds double precision`,
  },
  {
    id: 'processing/015_events',
    // Written in the transaction of the change each one reports; sequence orders a video's events.
    sql: `create table processing_events (
      id text primary key,
      video_id text not null,
      sequence integer not null,
      type text not null,
      data jsonb not null,
      created_at timestamptz not null,
      unique (video_id, sequence)
    )`,
  },
  {
    id: 'processing/016_event_deliveries',
    sql: `create table processing_event_deliveries (
      event_id text not null references processing_events (id),
      endpoint text not null,
      status text not null check (status in ('pending', 'delivered', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null,
      delivered_at timestamptz,
      last_error text,
      primary key (event_id, endpoint)
    )`,
  },
  { id: 'processing/017_event_deliveries_pending', sql: `create index processing_event_deliveries_pending on processing_event_deliveries (endpoint, event_id) where status = 'pending'` },
  { id: 'processing/018_videos_delayed_notice', sql: 'alter table processing_videos add column noticed_delayed_at timestamptz' },
  {
    id: 'processing/019_event_deliveries_claims',
    // claimed_until: one process at a time sends a video's next event (claims lapse when their process dies);
    // url: a per-upload callback's address (null for the configured endpoints).
    sql: 'alter table processing_event_deliveries add column claimed_until timestamptz, add column url text',
  },
  { id: 'processing/020_videos_callback_url', sql: 'alter table processing_videos add column callback_url text' },
];
