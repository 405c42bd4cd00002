import os from 'node:os';
import type { Db } from '../core/db/index.ts';
import type { Queue } from '../core/queue/index.ts';
import type { Logger } from '../core/telemetry/index.ts';
import type { StageName } from './config.ts';
import { queueName } from './worker.ts';

/**
 * On start: attempts left "started" by a process on this host that no longer exists are handed back to pg-boss at once
 * (failed, so they are retried) instead of waiting for their lease to expire. Attempts on other hosts are recovered by
 * the lease. Fencing makes a wrong guess (a reused pid) harmless: the old attempt could no longer commit anyway.
 */
export async function resumeWorkOfDeadProcesses(db: Db, queue: Queue, logger: Logger): Promise<number> {
  const host = os.hostname();
  const started = await db.query<{ video_id: string; stage: StageName; attempt: number; job_id: string | null; worker_id: string }>(
    `select c.video_id, c.stage, c.attempt, c.job_id, c.worker_id from processing_checkpoints c
     join processing_videos v on v.id = c.video_id and v.stage = c.stage
     where c.status = 'started' and v.state = 'processing' and c.worker_id like $1`,
    [`${host}:%`],
  );
  let resumed = 0;
  for (const attempt of started) {
    const pid = Number(attempt.worker_id.slice(host.length + 1).split(':')[0]);
    if (!attempt.job_id || !Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    const result = await queue.fail(queueName(attempt.stage), { id: attempt.job_id, retryCount: attempt.attempt - 1 }, { reason: `worker ${attempt.worker_id} is gone` });
    if ((result as { affected?: number }).affected) {
      resumed++;
      logger.warn({ videoId: attempt.video_id, stage: attempt.stage, attempt: attempt.attempt, worker: attempt.worker_id }, 'resumed work of a dead worker');
    }
  }
  return resumed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
