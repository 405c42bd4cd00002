import type { Checkpoint, Video } from './store.ts';

export interface StageAttempt {
  attempt: number;
  status: Checkpoint['status'];
  workerId: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  errorClass: string | null;
  message: string | null;
}

export interface WorkflowStage {
  stage: string;
  /** done: finished; failed: its last attempt failed; running: an attempt has no end yet; waiting: not reached (yet). */
  status: 'done' | 'failed' | 'running' | 'waiting';
  attempts: StageAttempt[];
  /** From the end of the stage before (or the upload) to this stage's first attempt. */
  waitMs: number | null;
  /** From the first attempt's start to the last attempt's end. */
  durationMs: number | null;
  /** The running attempt's last reported progress (stages that report it). */
  progress: { percent: number; speed: number | null; estimatedFinishAt: string | null } | null;
}

export interface Workflow {
  stages: WorkflowStage[];
  totalMs: number | null;
}

/** A video's pipeline as stages in order, each with its attempts, the time it waited before starting and how long it took. */
export function workflowOf(video: Pick<Video, 'createdAt' | 'state'>, checkpoints: readonly Checkpoint[], stageNames: readonly string[], now: number): Workflow {
  let previousEnd: number | null = video.createdAt.getTime();
  let lastEnd: number | null = null;
  const stages = stageNames.map((stage): WorkflowStage => {
    const runs = checkpoints.filter((checkpoint) => checkpoint.stage === stage);
    const attempts = runs.map((checkpoint) => ({
      attempt: checkpoint.attempt,
      status: checkpoint.status,
      workerId: checkpoint.workerId,
      startedAt: checkpoint.startedAt.toISOString(),
      finishedAt: checkpoint.finishedAt?.toISOString() ?? null,
      durationMs: checkpoint.finishedAt ? checkpoint.finishedAt.getTime() - checkpoint.startedAt.getTime() : null,
      errorClass: checkpoint.errorClass,
      message: checkpoint.message,
    }));
    const last = runs[runs.length - 1];
    if (!last) {
      previousEnd = null;
      return { stage, status: 'waiting', attempts, waitMs: null, durationMs: null, progress: null };
    }
    const start = runs[0]!.startedAt.getTime();
    const end = last.finishedAt?.getTime() ?? null;
    const waitMs = previousEnd === null ? null : Math.max(0, start - previousEnd);
    previousEnd = last.status === 'finished' ? end : null;
    if (end !== null) lastEnd = end;
    const status = last.status === 'finished' ? 'done' : last.status === 'failed' ? 'failed' : 'running';
    const progress = status === 'running' && last.progress ? { ...last.progress, estimatedFinishAt: last.progress.estimatedFinishAt?.toISOString() ?? null } : null;
    return { stage, status, attempts, waitMs, durationMs: end === null ? now - start : end - start, progress };
  });
  const finished = video.state === 'published' || video.state === 'failed';
  return { stages, totalMs: finished && lastEnd !== null ? lastEnd - video.createdAt.getTime() : null };
}
