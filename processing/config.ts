import { z } from 'zod';
import { bytes } from '../core/config/bytes.ts';
import { duration } from '../core/config/duration.ts';
import { secret } from '../core/config/secret.ts';
import { SCOPES } from '../core/http/auth.ts';

const stagePolicy = z.strictObject({
  /** Budget for one attempt (ffmpeg is killed when it runs over). */
  timeout: duration().optional(),
  /** Retries after the first attempt for recoverable failures (TIMEOUT, RESOURCE, WORKER_LOST, UNDEFINED). */
  retries: z.number().int().min(0).max(20).optional(),
});

const STAGE_DEFAULTS = {
  store: { timeout: 60_000, retries: 3 },
  probe: { timeout: 60_000, retries: 3 },
  transcode: { timeout: 3_600_000, retries: 3 },
  thumbnail: { timeout: 120_000, retries: 3 },
  verify: { timeout: 120_000, retries: 3 },
  publish: { timeout: 60_000, retries: 3 },
} as const;

const rendition = z.strictObject({
  name: z.string().regex(/^[a-z0-9_-]{1,32}$/, 'use lowercase letters, digits, "-" or "_" (it becomes a file name)'),
  /** Output height; the source height is used when it is smaller (no upscaling). */
  height: z.number().int().min(16).max(4320),
  videoBitrate: z.string().regex(/^\d+[kM]$/).optional(),
});

/** A key declared in the config file (e.g. for the end-to-end probe), valid for as long as the file declares it. */
const configKey = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'use letters, digits, ".", "_" or "-"'),
  scopes: z.array(z.enum(SCOPES)).min(1),
  key: secret().refine((value) => value.reveal().length >= 24, 'a key needs at least 24 characters'),
});

const origin = z.url().refine((value) => new URL(value).origin === value, 'an origin is scheme://host[:port], without a path or a trailing "/"');

export const processingConfigSchema = z
  .strictObject({
    storageDir: z.string().min(1).default('.vigil/storage'),
    /** Uploads larger than this are refused with 413 before they reach the disk's end. */
    maxUploadBytes: bytes().default(2 * 1024 ** 3),
    renditions: z.array(rendition).min(1).default([{ name: '720p', height: 720 }]),
    /** x264 preset for renditions. */
    preset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']).default('veryfast'),
    /** Jobs one worker process runs at once, per stage queue. */
    concurrency: z.number().int().min(1).max(64).default(2),
    /** How long a stage attempt may hold its job before another worker takes it over (the lease). */
    lease: duration().default(900_000),
    /** First retry delay; doubled (with jitter) on each further retry. */
    retryDelay: duration().default(5_000),
    /** How often idle workers look for jobs. */
    pollInterval: duration().default(1_000),
    /** Verify fails a rendition whose duration differs from the source by more than this. */
    durationTolerance: duration().default(250),
    stages: z
      .strictObject({
        store: stagePolicy.optional(),
        probe: stagePolicy.optional(),
        transcode: stagePolicy.optional(),
        thumbnail: stagePolicy.optional(),
        verify: stagePolicy.optional(),
        publish: stagePolicy.optional(),
      })
      .prefault({})
      .transform((given) =>
        Object.fromEntries(
          Object.entries(STAGE_DEFAULTS).map(([stage, defaults]) => {
            const policy = given[stage as keyof typeof given];
            return [stage, { timeout: policy?.timeout ?? defaults.timeout, retries: policy?.retries ?? defaults.retries }];
          }),
        ) as Record<keyof typeof STAGE_DEFAULTS, { timeout: number; retries: number }>,
      ),
    /** API keys from the config file, besides those made with `vigil keys create`. */
    keys: z.array(configKey).default([]),
    /** Direct upload URLs (`POST /api/v1/uploads`): what the platform's users' browsers send files to. */
    uploads: z
      .strictObject({
        /** Origins of the platform's pages allowed to send files to direct upload URLs (CORS). */
        allowedOrigins: z.array(origin).default([]),
        /** Life of a direct upload URL when its request names none, and the longest it may ask for. */
        defaultExpiry: duration().default(3_600_000),
        maxExpiry: duration().default(86_400_000),
      })
      .prefault({}),
    limits: z
      .strictObject({
        /** Requests per minute to the processing routes, per API key and, without a key, per client address. */
        perKey: z.number().int().min(1).default(600),
        perAddress: z.number().int().min(1).default(60),
        /** Upload quota of each key: bytes accepted per UTC day, and uploads in flight at once. */
        bytesPerDay: bytes().default(100 * 1024 ** 3),
        concurrentUploads: z.number().int().min(1).default(8),
      })
      .prefault({}),
    /** How long a signed output URL in an answer stays valid. */
    outputUrlTtl: duration().default(3_600_000),
    notices: z
      .strictObject({
        /** Email users about uploads labelled synthetic=true too (off: probes do not get mail). */
        synthetic: z.boolean().default(false),
      })
      .prefault({}),
    retention: z
      .strictObject({
        /** Derived files (renditions, thumbnails) of published videos; unset keeps them. */
        derived: duration().optional(),
        /** Derived files of failed videos. */
        failed: duration().default(7 * 86_400_000),
        /** Synthetic uploads (label synthetic=true): the whole video once it is finished. */
        synthetic: duration().default(3_600_000),
        /** Files nothing references (abandoned uploads, results of attempts that lost their lease). */
        orphans: duration().default(3_600_000),
      })
      .prefault({}),
    gc: z
      .strictObject({
        interval: duration().default(600_000),
        /** Upper bound for stored bytes; GC removes the oldest derived files beyond it. */
        maxBytes: bytes().optional(),
      })
      .prefault({}),
  })
  .prefault({});

export type ProcessingConfig = z.output<typeof processingConfigSchema>;
export type StageName = keyof typeof STAGE_DEFAULTS;
