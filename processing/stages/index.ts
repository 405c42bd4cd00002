import { probeStage } from './probe.ts';
import { publishStage } from './publish.ts';
import type { Stage } from './stage.ts';
import { storeStage } from './store.ts';
import { thumbnailStage } from './thumbnail.ts';
import { transcodeStage } from './transcode.ts';
import { verifyStage } from './verify.ts';

/** The pipeline, in order. Each stage is its own pg-boss queue with its own timeout and retry policy. */
export const STAGES: readonly Stage[] = [storeStage, probeStage, transcodeStage, thumbnailStage, verifyStage, publishStage];

export type { Stage, StageContext, StageResult } from './stage.ts';
