import type { Db } from '../core/db/index.ts';
import type { Queue } from '../core/queue/index.ts';
import type { Logger } from '../core/telemetry/index.ts';
import type { Clock } from '../core/clock.ts';
import { STAGE_NAMES, type StageName } from './stages/index.ts';
import * as store from './store.ts';
import { queueName, sendStage, START_ID } from './worker.ts';

/**
 * On the embedded store one process owns the data directory (its lock proves every other start is gone), so at start
 * every unfinished video whose job is claimed (active) belongs to a dead start: its started attempt is marked interrupted
 * (not counted against the video) and it gets a fresh job at once, instead of waiting for the claim to lapse. Runs before
 * the workers start, so nothing of this start is claimed yet. On PostgreSQL, where other live workers may hold claims,
 * lapsed heartbeats hand dead workers' jobs on within the lease.
 */
export async function resumeWorkOfDeadStarts(deps: { db: Db; queue: Queue; clock: Clock; logger: Logger }): Promise<number> {
  if (deps.db.kind !== 'pglite') return 0;
  let resumed = 0;
  for (const video of await store.listUnfinishedVideos(deps.db)) {
    const stage = video.stage as StageName;
    if (!STAGE_NAMES.includes(stage) || !video.jobId) continue;
    const job = await deps.queue.getJobById(queueName(stage), video.jobId);
    if (job && job.state !== 'active') continue;
    await deps.db.transaction(async (tx) => {
      const now = deps.clock.date();
      await store.interruptStartedAttempts(tx, video.id, stage, `the process running this attempt ended (this start: ${START_ID})`, now);
      await store.requeueVideo(tx, video.id, now);
      await sendStage(deps.queue, tx, video.id, stage);
    });
    if (job) await deps.queue.cancel(queueName(stage), job.id).catch(() => {});
    resumed++;
    deps.logger.warn({ videoId: video.id, stage }, 'resumed work of a process that ended');
  }
  return resumed;
}
