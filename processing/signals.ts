import type { Queryable } from '../core/db/index.ts';
import type { Queue } from '../core/queue/index.ts';
import { STAGES } from './stages/index.ts';
import { finishedByStage, timeToPublishByBucket, videoOutcomes, waitingByStage } from './store.ts';
import type { TimeToPublish } from './time-to-publish.ts';
import { queueName } from './worker.ts';

export interface QueueSignal {
  name: string;
  depth: number;
  active: number;
  oldestQueuedAgeSeconds: number;
  completedInWindow: number;
  drainRatePerSecond: number;
}

export interface ProcessingSignals {
  window: { from: number; to: number };
  /** failureRate = failed / (published + failed) in the window; null with no samples. */
  videos: { published: number; failed: number; failureRate: number | null };
  queues: QueueSignal[];
  /** Upload-to-published time per source-duration bucket of the videos published in the window (buckets with none left out). */
  timeToPublish: TimeToPublish[];
}

export interface SignalOptions {
  windowMs: number;
  now: number;
  /** Count uploads labelled synthetic=true (the probes' own) in `videos` too. Default false. */
  includeSynthetic?: boolean;
}

/**
 * What the alerts and probes watch. Read from the processing tables rather than pg-boss's cached stats, so they are exact
 * at `now`: a stage's queue holds the unfinished videos at that stage; those with a running attempt are active.
 * `_queue` is part of the shared signature for signals that only pg-boss knows; none are needed yet.
 */
export async function getProcessingSignals(db: Queryable, _queue: Queue | null, options: SignalOptions): Promise<ProcessingSignals> {
  const parts = processingSignalParts(db, options);
  return { window: { from: options.now - options.windowMs, to: options.now }, videos: await parts.videos(), queues: await parts.queues(), timeToPublish: await parts.timeToPublish() };
}

/** The same figures, each read when first asked for: a reader of one part (an alert rule) runs only that part's queries. */
export function processingSignalParts(db: Queryable, options: SignalOptions) {
  const window = { from: new Date(options.now - options.windowMs), to: new Date(options.now), includeSynthetic: options.includeSynthetic ?? false };
  const once = <T>(read: () => Promise<T>) => {
    let result: Promise<T> | undefined;
    return () => (result ??= read());
  };
  return {
    videos: once(async (): Promise<ProcessingSignals['videos']> => {
      const { published, failed } = await videoOutcomes(db, window);
      return { published, failed, failureRate: published + failed ? failed / (published + failed) : null };
    }),
    queues: once(() => queueSignals(db, options.now, options.windowMs)),
    timeToPublish: once(() => timeToPublishByBucket(db, window)),
  };
}

export async function queueSignals(db: Queryable, now: number, windowMs: number): Promise<QueueSignal[]> {
  const waiting = await waitingByStage(db);
  const finished = await finishedByStage(db, { from: new Date(now - windowMs), to: new Date(now) });
  return STAGES.map(({ name }) => {
    const row = waiting.find((candidate) => candidate.stage === name);
    const done = finished.find((candidate) => candidate.stage === name)?.count ?? 0;
    return {
      name: queueName(name),
      depth: row?.depth ?? 0,
      active: row?.active ?? 0,
      oldestQueuedAgeSeconds: row?.oldestQueuedAt ? Math.max(0, (now - new Date(row.oldestQueuedAt).getTime()) / 1000) : 0,
      completedInWindow: done,
      drainRatePerSecond: done / (windowMs / 1000),
    };
  });
}
