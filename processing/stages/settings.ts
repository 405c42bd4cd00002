import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';

const rendition = z.strictObject({
  name: z.string().regex(/^[a-z0-9_-]{1,32}$/, 'use lowercase letters, digits, "-" or "_" (it becomes a file name)'),
  /** Output height; the source height is used when it is smaller (no upscaling). */
  height: z.number().int().min(16).max(4320),
  videoBitrate: z.string().regex(/^\d+[kM]$/).optional(),
});

/** The part of the processing config that stages read (kept apart so the stage list can shape the rest of the config). */
export const stageSettingsShape = {
    renditions: z.array(rendition).min(1).default([{ name: '720p', height: 720 }]),
    /** x264 preset for renditions. */
    preset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']).default('veryfast'),
    /** Inputs refused at the probe stage, before any decoding (INPUT_INVALID, no retry). */
    limits: z
      .strictObject({
        minWidth: z.number().int().min(2).default(16),
        minHeight: z.number().int().min(2).default(16),
        /** width × height of the source picture. */
        maxPixels: z.number().int().min(1).default(8192 * 8192),
        maxFrames: z.number().int().min(1).default(1_000_000),
        maxDuration: duration().default(4 * 3_600_000),
      })
      .prefault({}),
    /** Verify fails a rendition whose duration differs from the source by more than this. */
    durationTolerance: duration().default(250),
};

export type StageSettings = z.output<z.ZodObject<typeof stageSettingsShape>>;
