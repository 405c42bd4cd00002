import os from 'node:os';
import type { Job } from 'pg-boss';
import type { Clock } from '../core/clock.ts';
import type { Db, Queryable } from '../core/db/index.ts';
import type { Component } from '../core/lifecycle/module.ts';
import type { Mailer } from '../core/mail.ts';
import type { Queue } from '../core/queue/index.ts';
import { withSpan, type Logger } from '../core/telemetry/index.ts';
import type { ProcessingConfig, StageName } from './config.ts';
import { classify, isRetryable, type ProcessingError } from './failures.ts';
import type { ProcessingMetrics } from './metrics.ts';
import { claimNotice, composeNotice, deliverNotice, type NoticeJob, type NoticeKind } from './notices.ts';
import { STAGES, type Stage, type StageResult } from './stages/index.ts';
import type { Storage } from './storage.ts';
import { getVideo, listOutputs, type Output, type Video } from './videos.ts';

export const queueName = (stage: StageName): string => `processing.${stage}`;
export const NOTICE_QUEUE = 'processing.notice';
/** Where pg-boss puts a stage job whose last attempt was lost (lease expired): the video fails as WORKER_LOST. */
export const LOST_QUEUE = 'processing.lost';

interface StageJob {
  videoId: string;
  stage: StageName;
}

export interface PipelineDeps {
  db: Db;
  queue: Queue;
  storage: Storage;
  config: ProcessingConfig;
  clock: Clock;
  logger: Logger;
  metrics: ProcessingMetrics;
  mailer: Mailer;
  /** Read at use time: the server's address is known only after it listens. */
  statusUrl(videoId: string): string;
}

/** pg-boss statements that run inside one of our transactions, so a job is created if and only if the transaction commits. */
function inTransaction(tx: Queryable) {
  return { db: { executeSql: async (text: string, values?: unknown[]) => ({ rows: await tx.query(text, values) }) } };
}

const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));

/** Creates (or updates) one queue per stage with the stage's retry policy and the lease, plus the notice and lost queues. */
export async function declareQueues(queue: Queue, config: ProcessingConfig): Promise<void> {
  for (const name of [LOST_QUEUE, NOTICE_QUEUE]) await queue.createQueue(name, { retryLimit: 5, retryDelay: 5, retryBackoff: true, notify: true });
  for (const stage of STAGES) {
    const policy = {
      retryLimit: config.stages[stage.name].retries,
      retryDelay: seconds(config.retryDelay),
      retryBackoff: true,
      retryDelayMax: 600,
      expireInSeconds: seconds(config.lease),
      // Wakes workers the moment the previous stage commits instead of at their next poll (when pg-boss listens).
      notify: true,
    };
    await queue.createQueue(queueName(stage.name), { ...policy, deadLetter: LOST_QUEUE });
    await queue.updateQueue(queueName(stage.name), policy);
  }
  // pg-boss looks a queue up (through its own connection) the first time it sends to it. Inside our transaction on PGlite's
  // single connection that lookup would wait for the transaction forever, so every queue is looked up once here.
  for (const name of [LOST_QUEUE, NOTICE_QUEUE, ...STAGES.map((stage) => queueName(stage.name))]) {
    await queue.getJobById(name, '00000000-0000-0000-0000-000000000000');
  }
}

/** Queues the first stage for a new video inside the transaction that inserted it. */
export async function enqueueFirstStage(queue: Queue, tx: Queryable, videoId: string): Promise<string> {
  return sendStage(queue, tx, videoId, STAGES[0]!.name);
}

async function sendStage(queue: Queue, tx: Queryable, videoId: string, stage: StageName): Promise<string> {
  const data: StageJob = { videoId, stage };
  const id = await queue.send(queueName(stage), data, inTransaction(tx));
  if (!id) throw new Error(`pg-boss refused the ${stage} job for video ${videoId}`);
  await tx.query('update processing_videos set job_id = $2 where id = $1', [videoId, id]);
  return id;
}

async function sendNoticeIfClaimed(deps: PipelineDeps, tx: Queryable, video: Video, kind: NoticeKind, now: Date): Promise<void> {
  if (!(await claimNotice(tx, video, kind, now, { synthetic: deps.config.notices.synthetic }))) return;
  const job: NoticeJob = { videoId: video.id, kind };
  await deps.queue.send(NOTICE_QUEUE, job, inTransaction(tx));
}

let attemptCounter = 0;
const nextWorkerId = () => `${os.hostname()}:${process.pid}:${++attemptCounter}`;

interface InFlight {
  done: Promise<unknown>;
  abort: AbortController;
}

/** The worker role: one pg-boss worker per stage queue (concurrency from config), the notice sender and the lost-job handler. */
export function createPipelineWorker(deps: PipelineDeps): Component {
  const inFlight = new Set<InFlight>();
  const workers: Array<{ name: string; id: string }> = [];
  let running = false;

  const track = <T>(abort: AbortController, work: () => Promise<T>): Promise<T> => {
    const entry: InFlight = { done: Promise.resolve(), abort };
    const done = work().finally(() => inFlight.delete(entry));
    entry.done = done.catch(() => {});
    inFlight.add(entry);
    return done;
  };

  return {
    name: 'processing-worker',
    async start() {
      await declareQueues(deps.queue, deps.config);
      const interval = Math.max(0.5, deps.config.pollInterval / 1000);
      // NOTIFY only wakes an idle worker early; polling stays at pollInterval for workers busy when the notice came.
      const polling = { pollingIntervalSeconds: interval, notifyPollingIntervalSeconds: interval, batchSize: 1 };
      for (const stage of STAGES) {
        const name = queueName(stage.name);
        const id = await deps.queue.work<StageJob>(name, { ...polling, localConcurrency: deps.config.concurrency }, async ([job]) => {
          const abort = new AbortController();
          job!.signal.addEventListener('abort', () => abort.abort(), { once: true });
          return track(abort, () => runAttempt(deps, stage, job!, abort.signal));
        });
        workers.push({ name, id });
      }
      workers.push({ name: NOTICE_QUEUE, id: await deps.queue.work<NoticeJob>(NOTICE_QUEUE, polling, async ([job]) => sendNotice(deps, job!.data)) });
      workers.push({ name: LOST_QUEUE, id: await deps.queue.work<StageJob>(LOST_QUEUE, polling, async ([job]) => failLostVideo(deps, job!.data)) });
      running = true;
    },
    async stop(deadline) {
      running = false;
      await Promise.all(workers.map(({ name, id }) => deps.queue.offWork(name, { id, wait: false }).catch(() => {})));
      const waitUntil = (ms: number) => new Promise((resolve) => deps.clock.setTimeout(() => resolve(undefined), Math.max(0, ms)));
      await Promise.race([Promise.all([...inFlight].map((entry) => entry.done)), waitUntil(deadline - deps.clock.now())]);
      // What is still running is handed back: ffmpeg is killed and the attempt fails as WORKER_LOST, to be retried elsewhere.
      for (const entry of inFlight) entry.abort.abort();
      await Promise.all([...inFlight].map((entry) => entry.done));
    },
    health: () => (running ? { ok: true } : { ok: false, reason: 'processing worker not running' }),
  };
}

/** One attempt of one stage: checkpoint, run, then commit the result under the fence (or record the failure and decide on a retry). */
async function runAttempt(deps: PipelineDeps, stage: Stage, job: Job<StageJob>, signal: AbortSignal): Promise<void> {
  const { db, clock } = deps;
  const { videoId } = job.data;
  const attempt = job.retryCount + 1;
  const fence = `${job.id}/${attempt}`;
  const workerId = nextWorkerId();
  const attributes = { 'video.id': videoId, 'processing.stage': stage.name, 'processing.attempt': attempt, 'processing.worker_id': workerId, 'messaging.message.id': job.id };
  await withSpan(`processing.stage ${stage.name}`, attributes, async (span) => {
    const begun = await db.transaction(async (tx) => {
      const video = await getVideo(tx, videoId, { forUpdate: true });
      // A deleted, finished or already-advanced video: this job is stale, nothing to do.
      if (!video || video.state === 'published' || video.state === 'failed' || video.stage !== stage.name) return null;
      const now = clock.date();
      const lost = await tx.query(
        `update processing_checkpoints set status = 'failed', error_class = 'WORKER_LOST', finished_at = $3,
           message = 'the worker running this attempt stopped or lost its lease'
         where video_id = $1 and stage = $2 and status = 'started' returning id`,
        [videoId, stage.name, now],
      );
      if (lost.length) {
        deps.metrics.stageFailures.inc({ stage: stage.name, class: 'WORKER_LOST' }, lost.length);
        await sendNoticeIfClaimed(deps, tx, video, 'retry', now);
      }
      await tx.query(`update processing_videos set state = 'processing', fence = $2, updated_at = $3 where id = $1`, [videoId, fence, now]);
      const [checkpoint] = await tx.query<{ id: string }>(
        `insert into processing_checkpoints (video_id, stage, attempt, status, job_id, worker_id, started_at)
         values ($1, $2, $3, 'started', $4, $5, $6) returning id`,
        [videoId, stage.name, attempt, job.id, workerId, now],
      );
      return { video: { ...video, fence }, checkpointId: checkpoint!.id };
    });
    if (!begun) {
      span.setAttribute('processing.skipped', true);
      return;
    }
    const started = performance.now();
    let result: StageResult;
    try {
      const outputs = await listOutputs(db, videoId);
      result = await stage.run({
        video: begun.video,
        attempt,
        outputs,
        storage: deps.storage,
        config: deps.config,
        timeoutMs: deps.config.stages[stage.name].timeout,
        signal,
        workDir: () => deps.storage.attemptDir(videoId, stage.name, attempt),
      });
    } catch (error) {
      const failure = classify(error);
      span.setAttribute('processing.error_class', failure.failureClass);
      const retry = await recordFailure(deps, stage, begun.checkpointId, videoId, fence, attempt, failure, (performance.now() - started) / 1000);
      // Throwing hands the job back to pg-boss, which retries it with backoff.
      if (retry) throw failure;
      return;
    }
    const committed = await commitSuccess(deps, stage, begun.checkpointId, videoId, fence, result, (performance.now() - started) / 1000);
    span.setAttribute('processing.committed', committed);
  });
}

async function commitSuccess(deps: PipelineDeps, stage: Stage, checkpointId: string, videoId: string, fence: string, result: StageResult, elapsed: number): Promise<boolean> {
  const { db, clock, metrics } = deps;
  const index = STAGES.indexOf(stage);
  const next = STAGES[index + 1];
  const outcome = await db.transaction(async (tx) => {
    const now = clock.date();
    const video = await getVideo(tx, videoId, { forUpdate: true });
    if (!video || video.fence !== fence) {
      await tx.query(
        `update processing_checkpoints set status = 'failed', error_class = 'WORKER_LOST', finished_at = $2, duration_seconds = $3,
           message = 'lost its lease before committing; the result was discarded' where id = $1 and status = 'started'`,
        [checkpointId, now, elapsed],
      );
      return null;
    }
    await tx.query(`update processing_checkpoints set status = 'finished', finished_at = $2, duration_seconds = $3 where id = $1`, [checkpointId, now, elapsed]);
    for (const output of result.outputs ?? []) await upsertOutput(tx, videoId, output, now);
    if (result.source) await tx.query('update processing_videos set source = $2 where id = $1', [videoId, JSON.stringify(result.source)]);
    if (next) {
      await tx.query(`update processing_videos set stage = $2, queued_at = $3, updated_at = $3 where id = $1`, [videoId, next.name, now]);
      await sendStage(deps.queue, tx, videoId, next.name);
      return { published: false, video };
    }
    await tx.query(
      `update processing_videos set state = 'published', stage = null, fence = null, error_class = null, error_message = null, updated_at = $2, finished_at = $2 where id = $1`,
      [videoId, now],
    );
    await sendNoticeIfClaimed(deps, tx, video, 'ready', now);
    const [spent] = await tx.query<{ total: number | null }>(`select sum(duration_seconds) as total from processing_checkpoints where video_id = $1`, [videoId]);
    return { published: true, video, processingSeconds: Number(spent?.total ?? 0) };
  });
  metrics.stageDuration.observe({ stage: stage.name, outcome: outcome ? 'finished' : 'discarded' }, elapsed);
  if (!outcome) {
    deps.logger.warn({ videoId, stage: stage.name, fence }, 'stage result discarded: the attempt lost its lease');
    return false;
  }
  if (stage.name !== 'verify') metrics.bytesOut.inc((result.outputs ?? []).reduce((sum, output) => sum + output.bytes, 0));
  if (outcome.published) {
    metrics.videos.inc({ outcome: 'published', class: '' });
    const seconds = outcome.video.source?.durationSeconds;
    if (seconds && outcome.processingSeconds !== undefined) metrics.processingRatio.observe(outcome.processingSeconds / seconds);
    deps.logger.info({ videoId }, 'video published');
  }
  return true;
}

async function upsertOutput(tx: Queryable, videoId: string, output: Output, now: Date): Promise<void> {
  await tx.query(
    `insert into processing_outputs (video_id, kind, name, path, bytes, duration_seconds, created_at) values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (video_id, name) do update set kind = excluded.kind, path = excluded.path, bytes = excluded.bytes,
       duration_seconds = excluded.duration_seconds, created_at = excluded.created_at, gc_marked_at = null`,
    [videoId, output.kind, output.name, output.path, output.bytes, output.durationSeconds, now],
  );
}

/** Records a failed attempt. Returns true when the job should be retried; a permanent failure fails the video instead. */
async function recordFailure(
  deps: PipelineDeps,
  stage: Stage,
  checkpointId: string,
  videoId: string,
  fence: string,
  attempt: number,
  failure: ProcessingError,
  elapsed: number,
): Promise<boolean> {
  const { db, clock, metrics } = deps;
  const retries = deps.config.stages[stage.name].retries;
  const permanent = !isRetryable(failure.failureClass) || attempt > retries;
  const message = permanent && isRetryable(failure.failureClass) ? `${failure.message} (gave up after ${attempt} attempts)` : failure.message;
  const fenced = await db.transaction(async (tx) => {
    const now = clock.date();
    await tx.query(
      `update processing_checkpoints set status = 'failed', finished_at = $2, duration_seconds = $3, error_class = $4, message = $5 where id = $1`,
      [checkpointId, now, elapsed, failure.failureClass, failure.message],
    );
    const video = await getVideo(tx, videoId, { forUpdate: true });
    if (!video || video.fence !== fence) return false;
    if (permanent) {
      await tx.query(
        `update processing_videos set state = 'failed', fence = null, error_class = $2, error_message = $3, updated_at = $4, finished_at = $4 where id = $1`,
        [videoId, failure.failureClass, message, now],
      );
      await sendNoticeIfClaimed(deps, tx, { ...video, errorClass: failure.failureClass, errorMessage: message }, 'failed', now);
    } else {
      await tx.query(`update processing_videos set error_class = $2, error_message = $3, queued_at = $4, updated_at = $4 where id = $1`, [
        videoId,
        failure.failureClass,
        failure.message,
        now,
      ]);
      await sendNoticeIfClaimed(deps, tx, video, 'retry', now);
    }
    return true;
  });
  metrics.stageDuration.observe({ stage: stage.name, outcome: 'failed' }, elapsed);
  metrics.stageFailures.inc({ stage: stage.name, class: failure.failureClass });
  if (fenced && permanent) metrics.videos.inc({ outcome: 'failed', class: failure.failureClass });
  deps.logger.warn({ videoId, stage: stage.name, attempt, class: failure.failureClass, permanent, err: failure }, 'stage attempt failed');
  return fenced && !permanent;
}

/** pg-boss gave up on a stage job whose attempts kept losing their lease: the video fails as WORKER_LOST. */
async function failLostVideo(deps: PipelineDeps, job: StageJob): Promise<void> {
  const failed = await deps.db.transaction(async (tx) => {
    const video = await getVideo(tx, job.videoId, { forUpdate: true });
    if (!video || video.state === 'published' || video.state === 'failed') return false;
    const now = deps.clock.date();
    const message = `the ${job.stage} stage kept losing its worker; gave up`;
    await tx.query(
      `update processing_checkpoints set status = 'failed', error_class = 'WORKER_LOST', finished_at = $2, message = 'the worker running this attempt stopped or lost its lease'
       where video_id = $1 and status = 'started'`,
      [job.videoId, now],
    );
    await tx.query(
      `update processing_videos set state = 'failed', fence = null, error_class = 'WORKER_LOST', error_message = $2, updated_at = $3, finished_at = $3 where id = $1`,
      [job.videoId, message, now],
    );
    await sendNoticeIfClaimed(deps, tx, { ...video, errorClass: 'WORKER_LOST', errorMessage: message }, 'failed', now);
    return true;
  });
  if (failed) deps.metrics.videos.inc({ outcome: 'failed', class: 'WORKER_LOST' });
}

async function sendNotice(deps: PipelineDeps, job: NoticeJob): Promise<void> {
  const video = await getVideo(deps.db, job.videoId);
  if (!video?.email) return;
  await withSpan('processing.notice', { 'video.id': video.id, 'processing.notice': job.kind }, () =>
    deliverNotice(deps.mailer, deps.logger, composeNotice(job.kind, video, deps.statusUrl(video.id)), job),
  );
}
