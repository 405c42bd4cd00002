import type { Queryable } from '../core/db/index.ts';
import type { Queue } from '../core/queue/index.ts';
import { STAGES } from './stages/index.ts';
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
  const from = options.now - options.windowMs;
  const [outcomes] = await db.query<{ published: string | number; failed: string | number }>(
    `select count(*) filter (where state = 'published') as published, count(*) filter (where state = 'failed') as failed
     from processing_videos where finished_at > $1 and finished_at <= $2 and ($3 or not synthetic)`,
    [new Date(from), new Date(options.now), options.includeSynthetic ?? false],
  );
  const published = Number(outcomes?.published ?? 0);
  const failed = Number(outcomes?.failed ?? 0);
  return {
    window: { from, to: options.now },
    videos: { published, failed, failureRate: published + failed ? failed / (published + failed) : null },
    queues: await queueSignals(db, options.now, options.windowMs),
  };
}

export async function queueSignals(db: Queryable, now: number, windowMs: number): Promise<QueueSignal[]> {
  const waiting = await db.query<{ stage: string; depth: string | number; active: string | number; oldest: Date | string | null }>(
    `select v.stage,
            count(*) filter (where c.id is null) as depth,
            count(c.id) as active,
            min(v.queued_at) filter (where c.id is null) as oldest
     from processing_videos v
     left join processing_checkpoints c on c.video_id = v.id and c.stage = v.stage and c.status = 'started'
     where v.state in ('queued', 'processing')
     group by v.stage`,
  );
  const completed = await db.query<{ stage: string; count: string | number }>(
    `select stage, count(*) as count from processing_checkpoints where status = 'finished' and finished_at > $1 and finished_at <= $2 group by stage`,
    [new Date(now - windowMs), new Date(now)],
  );
  return STAGES.map(({ name }) => {
    const row = waiting.find((candidate) => candidate.stage === name);
    const done = Number(completed.find((candidate) => candidate.stage === name)?.count ?? 0);
    return {
      name: queueName(name),
      depth: Number(row?.depth ?? 0),
      active: Number(row?.active ?? 0),
      oldestQueuedAgeSeconds: row?.oldest ? Math.max(0, (now - new Date(row.oldest).getTime()) / 1000) : 0,
      completedInWindow: done,
      drainRatePerSecond: done / (windowMs / 1000),
    };
  });
}
