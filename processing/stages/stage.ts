import type { ProcessingConfig, StageName } from '../config.ts';
import type { Storage } from '../storage.ts';
import type { Output, SourceInfo, Video } from '../videos.ts';

export interface StageContext {
  video: Video;
  attempt: number;
  /** Outputs committed by earlier stages. */
  outputs: Output[];
  storage: Storage;
  config: ProcessingConfig;
  /** This stage's budget for one attempt; ffmpeg gets it as its timeout. */
  timeoutMs: number;
  /** Aborted when the worker gives the job up (stop, lost lease). */
  signal: AbortSignal;
  /** A fresh directory for this attempt's files. */
  workDir(): Promise<string>;
}

export interface StageResult {
  source?: SourceInfo;
  outputs?: Output[];
}

/** One step of the pipeline. It reads and writes files only; the runner records checkpoints and commits the result under the fence. */
export interface Stage {
  name: StageName;
  run(context: StageContext): Promise<StageResult>;
}
