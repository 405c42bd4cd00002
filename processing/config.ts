import { z } from 'zod';
import { bytes } from '../core/config/bytes.ts';
import { duration } from '../core/config/duration.ts';
import { secret } from '../core/config/secret.ts';
import { SCOPES } from '../core/http/auth.ts';
import { STAGES, type StageName, type StagePolicy } from './stages/index.ts';
import { eventsConfigShape } from './events.ts';
import { stageSettingsShape } from './stages/settings.ts';

const stagePolicy = z.strictObject({
  /** Budget for one attempt (ffmpeg is killed when it runs over). */
  timeout: duration().optional(),
  /** Retries after the first attempt for the video's own recoverable failures (TIMEOUT, RESOURCE, UNDEFINED). */
  retries: z.number().int().min(0).max(20).optional(),
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
    ...stageSettingsShape,
    ...eventsConfigShape,
    storageDir: z.string().min(1).default('.vigil/storage'),
    /** Uploads larger than this are refused with 413 before they reach the disk's end. */
    maxUploadBytes: bytes().default(2 * 1024 ** 3),
    /** /readyz reports not ready when the storage directory has less free space than this (or cannot be written). */
    minFreeBytes: bytes().default(1024 ** 3),
    /** Jobs one worker process runs at once, per stage queue. */
    concurrency: z.number().int().min(1).max(64).default(2),
    /**
     * How long a claim lasts unrenewed. An attempt renews it while it is alive (a transcode: while ffmpeg's progress
     * advances; a transcode without progress for a lease is stopped as timed_out), so this decides how soon another
     * worker takes over from a dead one (lease + 11 s) and how long ffmpeg may go without progress. At least 10 s.
     */
    lease: duration().refine((ms) => ms >= 10_000, 'the lease must be at least 10s').default(20_000),
    /** Attempts of one stage ended by a stop or a lost worker, beyond which the video fails as worker_lost (a crash-loop bound). */
    maxInterruptions: z.number().int().min(1).max(1000).default(20),
    /** First retry delay; doubled (with jitter) on each further retry. */
    retryDelay: duration().default(5_000),
    /** How long a stage waits, trying again with that backoff, for an unavailable dependency (full disk, store away) before the video fails. */
    waitCeiling: duration().default(3_600_000),
    /** How often idle workers look for jobs. */
    pollInterval: duration().default(1_000),
    /** Least time between two progress reports of a running transcode (API figure and `video.processing` event). */
    progressInterval: duration().default(10_000),
    stages: z
      .strictObject(Object.fromEntries(STAGES.map((stage) => [stage.name, stagePolicy.optional()])) as Record<StageName, z.ZodOptional<typeof stagePolicy>>)
      .prefault({})
      .transform(
        (given) =>
          Object.fromEntries(
            STAGES.map((stage) => {
              const policy = given[stage.name];
              return [stage.name, { timeout: policy?.timeout ?? stage.defaults.timeout, retries: policy?.retries ?? stage.defaults.retries }];
            }),
          ) as Record<StageName, StagePolicy>,
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
    apiLimits: z
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
        /**
         * Once a video has waited this long with no worker taking it (workers stopped, processing stalled), every waiting
         * video's uploader is told once that processing is down and that the result will follow. Keep it above the
         * longest retry backoff (10 minutes), which is waiting on purpose.
         */
        delayedAfter: duration().default(15 * 60_000),
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
        /** Processing events, this long after they were delivered or given up (a video's latest event stays). */
        events: duration().default(7 * 86_400_000),
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
export type { StageName };
