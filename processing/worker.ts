import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Job } from 'pg-boss';
import { createWakeups, systemClock, type Clock } from '../core/clock.ts';
import type { Db, Listening, Queryable } from '../core/db/index.ts';
import type { Component } from '../core/lifecycle/module.ts';
import type { Mailer } from '../core/mail.ts';
import { inTransaction, workEach, type Queue } from '../core/queue/index.ts';
import { withSpan, type Logger } from '../core/telemetry/index.ts';
import type { ProcessingConfig } from './config.ts';
import { emitEvent, type EventType } from './events.ts';
import { classify, isRetryable, ProcessingError, unavailableOf } from './failures.ts';
import type { ProcessingMetrics } from './metrics.ts';
import { watchProgress, type StageProgress } from './progress.ts';
import { durationBucketOf } from './time-to-publish.ts';
import { claimNotice, composeNotice, deliverNotice, type NoticeJob, type NoticeKind } from './notices.ts';
import { STAGES, type Stage, type StageName, type StageResult } from './stages/index.ts';
import type { Storage } from './storage.ts';
import * as store from './store.ts';
import type { Failure, Video } from './store.ts';

export const queueName = (stage: StageName): string => `processing.${stage}`;
export const NOTICE_QUEUE = 'processing.notice';
/** Where pg-boss puts a stage job that kept losing its worker past the crash-loop bound: the video fails as worker_lost. */
export const LOST_QUEUE = 'processing.lost';

/** Identifies this process start in checkpoints (worker ids); a restarted process, even with the same pid, is another start. */
export const START_ID = randomUUID();
export const WORKER_ID = `${os.hostname()}/${START_ID}`;

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
  /** A signed link to one output, for the `video.ready` event. */
  outputUrl(videoId: string, name: string): string;
  /** Set by the worker role: wakes this process's workers of `queue` when a job sent with a delay comes due. */
  wakeWhenDue?(queue: string, delayMs: number): void;
}

/** Why an attempt was given up without being the video's fault: none of these counts against the stage's retries. */
export type Interruption = 'stop' | 'lost' | 'cancelled';
const INTERRUPTION_DETAIL: Record<Interruption, string> = {
  stop: 'the worker stopped (restart or shutdown) and handed the attempt back',
  lost: 'the worker lost its claim on the job (it stopped renewing it)',
  cancelled: 'the video was deleted',
};
const interruption = (kind: Interruption) => new ProcessingError('worker_lost', INTERRUPTION_DETAIL[kind], { facts: { interruption: kind } });
const interruptionOf = (failure: ProcessingError): Interruption | undefined => failure.facts.interruption as Interruption | undefined;

/**
 * How often workers poll while NOTIFY is working. A job sent now wakes them by NOTIFY (and a busy worker fetches again
 * once done: workEach), a retry this process sent with a delay by a timer at its due time (wakeWhenDue); the poll
 * catches what neither covers: a retry pg-boss itself makes of a lost claim, a notification lost with a connection. It
 * is most of what an idle worker process asks its store, and bounds how soon a crashed worker's job runs again.
 */
const NOTIFY_BACKSTOP_SECONDS = 15;

const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));

/**
 * pg-boss's part of a stage queue: a claim whose heartbeat is older than the lease lapses. The attempt renews it while it
 * is alive, which for a transcode means while ffmpeg's progress advances (watchProgress), so a lapsed heartbeat means a
 * dead worker or a stuck ffmpeg; expiry is only a ceiling above the stage timeout. pg-boss retries only lost claims
 * (the video's own failures are retried by the runner with a new job), up to the crash-loop bound.
 */
export function stageQueuePolicy(config: ProcessingConfig, stage: StageName) {
  return {
    retryLimit: config.maxInterruptions,
    retryDelay: 1,
    retryBackoff: false,
    heartbeatSeconds: Math.max(10, seconds(config.lease)),
    expireInSeconds: seconds(config.stages[stage].timeout + 2 * config.lease),
    // Wakes workers the moment the previous stage commits instead of at their next poll.
    notify: true,
  };
}

/** Creates (or updates) one queue per stage, plus the notice and lost queues. */
export async function declareQueues(queue: Queue, config: ProcessingConfig): Promise<void> {
  for (const name of [LOST_QUEUE, NOTICE_QUEUE]) await queue.createQueue(name, { retryLimit: 5, retryDelay: 5, retryBackoff: true, notify: true });
  for (const stage of STAGES) {
    const policy = stageQueuePolicy(config, stage.name);
    await queue.createQueue(queueName(stage.name), { ...policy, deadLetter: LOST_QUEUE });
    await queue.updateQueue(queueName(stage.name), policy);
  }
  // pg-boss looks a queue up (through its own connection) the first time it sends to it. Inside our transaction on PGlite's
  // single connection that lookup would wait for the transaction forever, so every queue is looked up once here.
  for (const name of [LOST_QUEUE, NOTICE_QUEUE, ...STAGES.map((stage) => queueName(stage.name))]) {
    await queue.getJobById(name, '00000000-0000-0000-0000-000000000000');
  }
}

/** Queues `stage` for a video inside the transaction `tx`, after `delayMs` (a retry's backoff). */
export async function sendStage(queue: Queue, tx: Queryable, videoId: string, stage: StageName, delayMs = 0): Promise<string> {
  const data: StageJob = { videoId, stage };
  const id = await queue.send(queueName(stage), data, { ...inTransaction(tx), ...(delayMs > 0 ? { startAfter: Math.ceil(delayMs / 1000) } : {}) });
  if (!id) throw new Error(`pg-boss refused the ${stage} job for video ${videoId}`);
  await store.setVideoJob(tx, videoId, id);
  return id;
}

/** Queues a retry of `stage` after `delayMs`, and has this process's workers look for it when it comes due. */
async function sendRetry(deps: PipelineDeps, tx: Queryable, videoId: string, stage: StageName, delayMs: number): Promise<void> {
  await sendStage(deps.queue, tx, videoId, stage, delayMs);
  deps.wakeWhenDue?.(queueName(stage), delayMs);
}

export const enqueueFirstStage = (queue: Queue, tx: Queryable, videoId: string): Promise<string> => sendStage(queue, tx, videoId, STAGES[0].name);

/** Delay before retry number `failures` (1-based): `retryDelay` doubling per failure, with up to 50 % jitter, capped at 10 minutes. */
export function retryDelayMs(retryDelay: number, failures: number, random: number): number {
  return Math.min(600_000, retryDelay * 2 ** Math.max(0, failures - 1) * (1 + random / 2));
}

export interface AttemptCounts {
  failures: number;
  interruptions: number;
}

/** What happens to a video after an attempt of a stage failed for the video's own reasons. */
export function decideAfterFailure(failure: ProcessingError, counts: AttemptCounts, retries: number): 'retry' | 'fail' {
  return isRetryable(failure.failureClass) && counts.failures <= retries ? 'retry' : 'fail';
}

async function sendNoticeIfClaimed(deps: PipelineDeps, tx: Queryable, video: Video, kind: NoticeKind, now: Date): Promise<void> {
  if (!(await claimNotice(tx, video, kind, now, { synthetic: deps.config.notices.synthetic }))) return;
  const job: NoticeJob = { videoId: video.id, kind };
  await deps.queue.send(NOTICE_QUEUE, job, inTransaction(tx));
}

const failureRecord = (failure: ProcessingError, detail = failure.message): Failure => ({
  errorClass: failure.failureClass,
  errorCode: failure.code,
  userMessage: failure.userMessage,
  detail,
});

interface InFlight {
  videoId: string;
  done: Promise<unknown>;
  abort: AbortController;
}

/** The worker role: one pg-boss worker per stage queue (concurrency from config), the notice sender and the lost-job handler. */
export function createPipelineWorker(roleDeps: PipelineDeps): Component {
  const inFlight = new Set<InFlight>();
  const workers: Array<{ name: string; id: string }> = [];
  let running = false;
  // pg-boss holds a delayed job until its start time on the database's clock, so the wake-up runs on the real clock (a
  // second late at most: start times are whole seconds).
  const wakeups = createWakeups(systemClock);
  const wakeWhenDue = (queue: string, delayMs: number) =>
    wakeups.at(systemClock.now() + delayMs + 1000, () => {
      for (const worker of workers) if (worker.name === queue) roleDeps.queue.notifyWorker(worker.id);
    });
  const deps: PipelineDeps = { ...roleDeps, wakeWhenDue };
  let deletions: Listening | undefined;
  // Stops the running attempt of a deleted video at once (ffmpeg is killed).
  const cancel = (videoId: string) => {
    for (const entry of inFlight) if (entry.videoId === videoId) entry.abort.abort(interruption('cancelled'));
  };

  const track = <T>(entry: Omit<InFlight, 'done'>, work: () => Promise<T>): Promise<T> => {
    const tracked: InFlight = { ...entry, done: Promise.resolve() };
    const done = work().finally(() => inFlight.delete(tracked));
    tracked.done = done.catch(() => {});
    inFlight.add(tracked);
    return done;
  };

  return {
    name: 'processing-worker',
    /** Expects the queues declared (declareQueues) and the work of ended starts resumed. */
    async start() {
      const interval = Math.max(0.5, deps.config.pollInterval / 1000);
      // One job per free slot; a worker that finished a job fetches the next at once (workEach), and a NOTIFY wakes an
      // idle one for a job sent by any process, so the poll is only a backstop: for a NOTIFY lost with a connection, and
      // for jobs that come due later from another process (this one's delayed retries wake it at their time).
      const polling = { pollingIntervalSeconds: interval, notifyPollingIntervalSeconds: Math.max(interval, NOTIFY_BACKSTOP_SECONDS) };
      for (const stage of STAGES) {
        const name = queueName(stage.name);
        // pg-boss's own heartbeat timer would renew the claim while the process lives, stuck ffmpeg or not: its first
        // beat is set past the job's expiry, and the attempt renews the claim itself.
        const heartbeatRefreshSeconds = stageQueuePolicy(deps.config, stage.name).expireInSeconds + 1;
        const ids = await workEach<StageJob>(deps.queue, name, { ...polling, heartbeatRefreshSeconds }, deps.config.concurrency, async (job) => {
          const abort = new AbortController();
          job.signal.addEventListener('abort', () => abort.abort(interruption('lost')), { once: true });
          return track({ videoId: job.data.videoId, abort }, () => runAttempt(deps, stage, job, abort.signal));
        });
        for (const id of ids) workers.push({ name, id });
      }
      // A video deleted through any process stops its attempt here at once (ffmpeg killed), counting no failure.
      deletions = await deps.db.listen(store.DELETED_CHANNEL, cancel);
      for (const id of await workEach<NoticeJob>(deps.queue, NOTICE_QUEUE, polling, 1, async (job) => sendNotice(deps, job.data))) workers.push({ name: NOTICE_QUEUE, id });
      for (const id of await workEach<StageJob>(deps.queue, LOST_QUEUE, polling, 1, async (job) => failLostVideo(deps, job.data))) workers.push({ name: LOST_QUEUE, id });
      running = true;
    },
    async stop(deadline) {
      running = false;
      wakeups.cancelAll();
      await deletions?.close();
      await Promise.all(workers.map(({ name, id }) => deps.queue.offWork(name, { id, wait: false }).catch(() => {})));
      const waitUntil = (ms: number) => new Promise((resolve) => deps.clock.setTimeout(() => resolve(undefined), Math.max(0, ms)));
      await Promise.race([Promise.all([...inFlight].map((entry) => entry.done)), waitUntil(deadline - deps.clock.now())]);
      // What is still running is handed back: ffmpeg is killed and the attempt requeued without counting against the video.
      for (const entry of inFlight) entry.abort.abort(interruption('stop'));
      await Promise.all([...inFlight].map((entry) => entry.done));
    },
    health: () => (running ? { ok: true } : { ok: false, reason: 'processing worker not running' }),
  };
}

/** One attempt of one stage: checkpoint, run, then commit the result under the fence (or record the failure and decide on a retry). */
async function runAttempt(deps: PipelineDeps, stage: Stage<StageName>, job: Job<StageJob>, signal: AbortSignal): Promise<void> {
  const { db, clock } = deps;
  const { videoId } = job.data;
  const attributes = { 'video.id': videoId, 'processing.stage': stage.name, 'processing.worker_id': WORKER_ID, 'messaging.message.id': job.id };
  await withSpan(`processing.stage ${stage.name}`, attributes, async (span) => {
    const begun = await db.transaction(async (tx) => {
      const video = await store.getVideo(tx, videoId, { forUpdate: true });
      // A deleted, finished or already-advanced video, or a job superseded by a newer one: stale, nothing to do.
      if (!video || video.state === 'published' || video.state === 'failed' || video.stage !== stage.name || (video.jobId && video.jobId !== job.id)) return null;
      const now = clock.date();
      const lost = await store.interruptStartedAttempts(tx, videoId, stage.name, INTERRUPTION_DETAIL.lost, now);
      const counts = await store.countAttempts(tx, videoId, stage.name);
      if (lost) deps.metrics.stageFailures.inc({ stage: stage.name, class: 'WORKER_LOST' }, lost);
      if (counts.interruptions > deps.config.maxInterruptions) {
        const detail = `the ${stage.name} stage was interrupted ${counts.interruptions} times (processing.maxInterruptions ${deps.config.maxInterruptions})`;
        await failVideo(deps, tx, video, failureRecord(new ProcessingError('worker_lost', detail)), now);
        return null;
      }
      if (lost) await sendNoticeIfClaimed(deps, tx, video, 'retry', now);
      const attempt = counts.failures + counts.interruptions + counts.waits + 1;
      const fence = `${job.id}/${job.retryCount}/${attempt}`;
      await store.claimVideo(tx, videoId, fence, now);
      const checkpointId = await store.insertCheckpoint(tx, { videoId, stage: stage.name, attempt, jobId: job.id, workerId: WORKER_ID, now });
      await emit(deps, tx, videoId, 'video.processing', { stage: stage.name, attempt }, now);
      return { video: { ...video, fence }, checkpointId, attempt, counts };
    });
    if (!begun) {
      span.setAttribute('processing.skipped', true);
      return;
    }
    span.setAttribute('processing.attempt', begun.attempt);
    const started = performance.now();
    // Ends the attempt from here: a stall (timed_out) or a renewal that found the claim gone (lost).
    const ended = new AbortController();
    const attemptSignal = AbortSignal.any([signal, ended.signal]);
    let progressWrites = Promise.resolve();
    const watch = watchProgress({
      clock,
      sourceSeconds: begun.video.source?.durationSeconds ?? 0,
      interval: deps.config.progressInterval,
      lease: deps.config.lease,
      reportsProgress: stage.reportsProgress ?? false,
      renew: () => void renewLease(deps, stage.name, job).then((held) => held || ended.abort(interruption('lost'))),
      report: (progress) => {
        span.setAttribute('processing.progress_percent', progress.percent);
        progressWrites = progressWrites.then(() => recordProgress(deps, begun.checkpointId, begun.video, stage.name, progress));
      },
      stalled: (error) => ended.abort(error),
    });
    let result: StageResult;
    try {
      const outputs = await store.listOutputs(db, videoId);
      result = await stage.run({
        video: begun.video,
        attempt: begun.attempt,
        outputs,
        storage: deps.storage,
        config: deps.config,
        timeoutMs: deps.config.stages[stage.name].timeout,
        signal: attemptSignal,
        workDir: () => deps.storage.attemptDir(videoId, stage.name, begun.attempt),
        progress: (reported) => watch.update(reported),
      });
      // A stage that ignored its signal still must not commit for a deleted or handed-back attempt.
      if (attemptSignal.aborted) throw attemptSignal.reason;
    } catch (error) {
      watch.stop();
      await progressWrites;
      const failure = classify(error);
      const elapsed = (performance.now() - started) / 1000;
      span.setAttributes({ 'processing.error_class': failure.failureClass, 'processing.error_code': failure.code, 'processing.error_detail': failure.message });
      const kind = interruptionOf(failure);
      if (kind) await recordInterruption(deps, stage, begun.checkpointId, begun.video, kind, elapsed);
      else if (unavailableOf(failure)) await recordWait(deps, stage, begun.checkpointId, begun.video, failure, elapsed);
      else await recordFailure(deps, stage, begun.checkpointId, begun.video, failure, begun.counts, elapsed);
      return;
    }
    watch.stop();
    await progressWrites;
    const committed = await commitSuccess(deps, stage, begun.checkpointId, begun.video, result, (performance.now() - started) / 1000);
    span.setAttribute('processing.committed', committed);
  });
}

/**
 * Renews the job's lease (pg-boss's heartbeat, fenced to this attempt). False when the claim is gone (another worker
 * has the job); a renewal that could not run (database away) says nothing about the claim and counts as held.
 */
async function renewLease(deps: PipelineDeps, stage: StageName, job: Job<StageJob>): Promise<boolean> {
  try {
    const answer = (await deps.queue.touch(queueName(stage), { id: job.id, retryCount: job.retryCount })) as { affected?: number };
    return answer.affected !== 0;
  } catch (error) {
    deps.logger.warn({ videoId: job.data.videoId, stage, err: error }, 'could not renew the lease');
    return true;
  }
}

/** A running attempt's progress on its checkpoint; a failed write is logged and the attempt goes on. */
async function recordProgress(deps: PipelineDeps, checkpointId: string, video: Video, stage: StageName, progress: StageProgress): Promise<void> {
  try {
    await deps.db.transaction(async (tx) => {
      const now = deps.clock.date();
      await store.setCheckpointProgress(tx, checkpointId, progress, now);
      const figures = { percent: progress.percent, speed: progress.speed, estimatedFinishAt: progress.estimatedFinishAt?.toISOString() ?? null };
      await emit(deps, tx, video.id, 'video.processing', { stage, progress: figures }, now);
    });
  } catch (error) {
    deps.logger.warn({ videoId: video.id, stage, err: error }, 'could not record progress');
  }
}

async function commitSuccess(deps: PipelineDeps, stage: Stage<StageName>, checkpointId: string, claimed: Video, result: StageResult, elapsed: number): Promise<boolean> {
  const { db, clock, metrics } = deps;
  const next = STAGES[STAGES.findIndex((candidate) => candidate.name === stage.name) + 1];
  const videoId = claimed.id;
  const outcome = await db.transaction(async (tx) => {
    const now = clock.date();
    const video = await store.getVideo(tx, videoId, { forUpdate: true });
    if (!video || video.fence !== claimed.fence) {
      await store.failCheckpoint(tx, checkpointId, { errorClass: 'WORKER_LOST', errorCode: 'worker_lost', detail: 'lost its lease before committing; the result was discarded' }, now, elapsed);
      return null;
    }
    await store.finishCheckpoint(tx, checkpointId, now, elapsed, result.cpuSeconds ?? null);
    for (const output of result.outputs ?? []) await store.upsertOutput(tx, videoId, output, now);
    if (result.source) await store.setSource(tx, videoId, result.source);
    if (result.diagnostics) {
      await store.setDiagnostics(tx, videoId, result.diagnostics);
      await emit(deps, tx, videoId, 'video.processing', { stage: stage.name, input: result.diagnostics }, now);
      for (const finding of result.diagnostics.findings) await emit(deps, tx, videoId, 'video.warning', { ...finding }, now);
    }
    if (next) {
      await store.advanceStage(tx, videoId, next.name, now);
      await sendStage(deps.queue, tx, videoId, next.name);
      return { published: false, video };
    }
    await store.publishVideo(tx, videoId, now);
    const published = await store.listOutputs(tx, videoId);
    const outputs = published.map((output) => ({ kind: output.kind, name: output.name, url: deps.outputUrl(videoId, output.name), bytes: output.bytes, durationSeconds: output.durationSeconds }));
    await emit(deps, tx, videoId, 'video.ready', { outputs, secondsToPublish: (now.getTime() - video.createdAt.getTime()) / 1000 }, now);
    await sendNoticeIfClaimed(deps, tx, video, 'ready', now);
    return { published: true, video, processingSeconds: await store.processingSeconds(tx, videoId), secondsToPublish: (now.getTime() - video.createdAt.getTime()) / 1000 };
  });
  metrics.stageDuration.observe({ stage: stage.name, outcome: outcome ? 'finished' : 'discarded' }, elapsed);
  if (!outcome) {
    deps.logger.warn({ videoId, stage: stage.name, fence: claimed.fence }, 'stage result discarded: the attempt lost its lease');
    return false;
  }
  if (result.cpuSeconds) metrics.cpuSeconds.inc(result.cpuSeconds);
  if (stage.name !== 'verify') metrics.bytesOut.inc((result.outputs ?? []).reduce((sum, output) => sum + output.bytes, 0));
  if (outcome.published) {
    metrics.videos.inc({ outcome: 'published', class: '' });
    const duration = outcome.video.source?.durationSeconds;
    if (duration && outcome.processingSeconds !== undefined) metrics.processingRatio.observe(outcome.processingSeconds / duration);
    if (outcome.secondsToPublish !== undefined) metrics.timeToPublish.observe({ duration: durationBucketOf(duration ?? 0) }, outcome.secondsToPublish);
    deps.logger.info({ videoId }, 'video published');
  }
  return true;
}

const emit = (deps: Pick<PipelineDeps, 'config'>, tx: Queryable, videoId: string, type: EventType, data: Record<string, unknown>, now: Date) =>
  emitEvent(tx, deps.config, { videoId, type, data, now });

async function failVideo(deps: PipelineDeps, tx: Queryable, video: Video, failure: Failure, now: Date): Promise<void> {
  await store.failVideo(tx, video.id, failure, now);
  // The technical detail stays with admins: the event points at where they read it.
  const failed = { code: failure.errorCode, class: failure.errorClass, message: failure.userMessage, detail: `/admin/api/v1/videos/${video.id}` };
  await emit(deps, tx, video.id, 'video.failed', failed, now);
  await sendNoticeIfClaimed(deps, tx, { ...video, errorClass: failure.errorClass, errorCode: failure.errorCode, errorMessage: failure.userMessage }, 'failed', now);
}

/** Records a failed attempt, then either queues a new attempt after the backoff or fails the video. */
async function recordFailure(
  deps: PipelineDeps,
  stage: Stage<StageName>,
  checkpointId: string,
  claimed: Video,
  failure: ProcessingError,
  before: AttemptCounts,
  elapsed: number,
): Promise<void> {
  const { db, clock, metrics } = deps;
  const counts = { ...before, failures: before.failures + 1 };
  const retries = deps.config.stages[stage.name].retries;
  const decision = decideAfterFailure(failure, counts, retries);
  const detail = decision === 'fail' && isRetryable(failure.failureClass) ? `${failure.message} (gave up after ${counts.failures} failed attempts)` : failure.message;
  const fenced = await db.transaction(async (tx) => {
    const now = clock.date();
    await store.failCheckpoint(tx, checkpointId, failureRecord(failure), now, elapsed);
    const video = await store.getVideo(tx, claimed.id, { forUpdate: true });
    if (!video || video.fence !== claimed.fence) return false;
    if (decision === 'fail') {
      await failVideo(deps, tx, video, failureRecord(failure, detail), now);
    } else {
      await store.requeueVideo(tx, video.id, now, failureRecord(failure));
      await sendRetry(deps, tx, video.id, stage.name, retryDelayMs(deps.config.retryDelay, counts.failures, Math.random()));
      await sendNoticeIfClaimed(deps, tx, video, 'retry', now);
    }
    return true;
  });
  metrics.stageDuration.observe({ stage: stage.name, outcome: 'failed' }, elapsed);
  metrics.stageFailures.inc({ stage: stage.name, class: failure.failureClass });
  if (fenced && decision === 'fail') metrics.videos.inc({ outcome: 'failed', class: failure.failureClass });
  deps.logger.warn({ videoId: claimed.id, stage: stage.name, code: failure.code, class: failure.failureClass, decision, err: failure }, 'stage attempt failed');
}

/**
 * An attempt that failed because a dependency is unavailable (a full disk, an unreachable store): the video waits and
 * the stage is tried again with backoff, spending none of its retries, until the dependency is back or the video has
 * waited `waitCeiling`; then it fails with the cause named for admins and a storage problem for the uploader.
 */
async function recordWait(deps: PipelineDeps, stage: Stage<StageName>, checkpointId: string, claimed: Video, failure: ProcessingError, elapsed: number): Promise<void> {
  const { db, clock, metrics } = deps;
  const outcome = await db.transaction(async (tx) => {
    const now = clock.date();
    await store.waitCheckpoint(tx, checkpointId, failureRecord(failure), now, elapsed);
    const video = await store.getVideo(tx, claimed.id, { forUpdate: true });
    if (!video || video.fence !== claimed.fence) return undefined;
    const stretch = await store.waitStretch(tx, video.id, stage.name);
    const waited = now.getTime() - (stretch.since ?? now).getTime();
    if (waited >= deps.config.waitCeiling) {
      const detail = `${failure.message} (waited ${Math.round(waited / 60_000)} min over ${stretch.waits} attempts for it to come back; processing.waitCeiling)`;
      await failVideo(deps, tx, video, failureRecord(failure, detail), now);
      return 'failed' as const;
    }
    await store.waitVideo(tx, video.id, now, failureRecord(failure));
    const delay = Math.min(retryDelayMs(deps.config.retryDelay, stretch.waits, Math.random()), deps.config.waitCeiling - waited);
    await sendRetry(deps, tx, video.id, stage.name, delay);
    await sendNoticeIfClaimed(deps, tx, video, 'retry', now);
    return 'waiting' as const;
  });
  metrics.stageDuration.observe({ stage: stage.name, outcome: 'waited' }, elapsed);
  metrics.stageWaits.inc({ stage: stage.name });
  if (outcome === 'failed') {
    metrics.stageFailures.inc({ stage: stage.name, class: failure.failureClass });
    metrics.videos.inc({ outcome: 'failed', class: failure.failureClass });
  }
  deps.logger.warn({ videoId: claimed.id, stage: stage.name, cause: unavailableOf(failure), decision: outcome ?? 'superseded' }, 'stage waits for an unavailable dependency; the video keeps its retries');
}

/**
 * An attempt given up for a reason that is not the video's: a stop hands it straight back (a new job, no backoff), a lost
 * claim is already back with pg-boss, a deleted video has nothing left to record.
 */
async function recordInterruption(deps: PipelineDeps, stage: Stage<StageName>, checkpointId: string, claimed: Video, kind: Interruption, elapsed: number): Promise<void> {
  if (kind === 'cancelled') return;
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.date();
    await store.failCheckpoint(tx, checkpointId, { errorClass: 'WORKER_LOST', errorCode: 'worker_lost', detail: INTERRUPTION_DETAIL[kind] }, now, elapsed);
    const video = await store.getVideo(tx, claimed.id, { forUpdate: true });
    if (kind !== 'stop' || !video || video.fence !== claimed.fence) return;
    await store.requeueVideo(tx, video.id, now);
    await sendStage(deps.queue, tx, video.id, stage.name);
  });
  deps.metrics.stageFailures.inc({ stage: stage.name, class: 'WORKER_LOST' });
  deps.logger.warn({ videoId: claimed.id, stage: stage.name, interruption: kind }, 'stage attempt interrupted; handed back without counting against the video');
}

/** pg-boss gave up on a stage job that kept losing its worker (past the crash-loop bound): the video fails as worker_lost. */
async function failLostVideo(deps: PipelineDeps, job: StageJob): Promise<void> {
  const failed = await deps.db.transaction(async (tx) => {
    const video = await store.getVideo(tx, job.videoId, { forUpdate: true });
    if (!video || video.state === 'published' || video.state === 'failed') return false;
    const now = deps.clock.date();
    await store.interruptStartedAttempts(tx, video.id, null, INTERRUPTION_DETAIL.lost, now);
    const detail = `the ${job.stage} stage kept losing its worker; gave up`;
    await failVideo(deps, tx, video, failureRecord(new ProcessingError('worker_lost', detail)), now);
    return true;
  });
  if (failed) deps.metrics.videos.inc({ outcome: 'failed', class: 'WORKER_LOST' });
}

async function sendNotice(deps: PipelineDeps, job: NoticeJob): Promise<void> {
  const video = await store.getVideo(deps.db, job.videoId);
  if (!video?.email) return;
  await withSpan('processing.notice', { 'video.id': video.id, 'processing.notice': job.kind }, () =>
    deliverNotice(deps.mailer, deps.logger, composeNotice(job.kind, video, deps.statusUrl(video.id)), job),
  );
}

/** Puts a failed video back in the queue at the stage it failed at, with fresh attempt counts. Null when it is not failed. */
export async function retryFailedVideo(deps: Pick<PipelineDeps, 'db' | 'queue' | 'clock'>, videoId: string): Promise<Video | null> {
  return deps.db.transaction(async (tx) => {
    const video = await store.reopenFailedVideo(tx, videoId, deps.clock.date());
    if (!video) return null;
    await sendStage(deps.queue, tx, video.id, (video.stage ?? STAGES[0].name) as StageName);
    return video;
  });
}
