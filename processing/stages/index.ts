import { probeStage } from './probe.ts';
import { publishStage } from './publish.ts';
import { storeStage } from './store.ts';
import { transcodeStage } from './transcode.ts';
import { verifyStage } from './verify.ts';

/** The pipeline, in order: the one list of stages. Each is its own pg-boss queue with its own timeout and retry policy. */
export const STAGES = [storeStage, probeStage, transcodeStage, verifyStage, publishStage] as const;

export type StageName = (typeof STAGES)[number]['name'];
export const STAGE_NAMES = STAGES.map((stage) => stage.name) as StageName[];

export type { Stage, StageContext, StagePolicy, StageResult } from './stage.ts';
