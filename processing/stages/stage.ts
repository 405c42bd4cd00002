import type { InputDiagnostics } from '../diagnostics.ts';
import type { FfmpegProgress } from '../ffmpeg.ts';
import type { Storage } from '../storage.ts';
import type { Output, SourceInfo, Video } from '../store.ts';
import type { StageSettings } from './settings.ts';

export interface StageContext {
  video: Video;
  attempt: number;
  /** Outputs committed by earlier stages. */
  outputs: Output[];
  storage: Storage;
  config: StageSettings;
  /** This stage's budget for one attempt; ffmpeg gets it as its timeout. */
  timeoutMs: number;
  /** Aborted when the worker gives the job up (stop, lost claim, deletion); the reason says which. */
  signal: AbortSignal;
  /** A fresh directory for this attempt's files. */
  workDir(): Promise<string>;
  /** How far ffmpeg is, from its own progress output: shown to the platform, and what keeps the job's lease. */
  progress(progress: FfmpegProgress): void;
}

export interface StageResult {
  source?: SourceInfo;
  /** What the probe found in the upload, for the platform: stored with the video and sent in its events. */
  diagnostics?: InputDiagnostics;
  outputs?: Output[];
  /** CPU seconds (user + system) of the tools the attempt ran, when they report it. */
  cpuSeconds?: number;
}

export interface StagePolicy {
  /** Budget for one attempt (ffmpeg is killed when it runs over), ms. */
  timeout: number;
  /** Retries after the first attempt for the video's own recoverable failures (TIMEOUT, RESOURCE, UNDEFINED). */
  retries: number;
}

/** One step of the pipeline. It reads and writes files only; the runner records checkpoints and commits the result under the fence. */
export interface Stage<Name extends string = string> {
  name: Name;
  defaults: StagePolicy;
  /** The stage passes ffmpeg's progress on: its job's lease is renewed only while that progress advances. */
  reportsProgress?: boolean;
  run(context: StageContext): Promise<StageResult>;
}

export const defineStage = <const Name extends string>(stage: Stage<Name>): Stage<Name> => stage;
