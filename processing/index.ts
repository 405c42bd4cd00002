import { apiCommand, firstPositional } from '../core/cli/output.ts';
import { defineModule, type Component } from '../core/lifecycle/module.ts';
import { createMailer } from '../core/mail.ts';
import multipart from '@fastify/multipart';
import { declareScopes } from '../core/http/auth.ts';
import { accessMigrations } from './access-migrations.ts';
import { SUPERVISE_SECONDS } from '../core/queue/index.ts';
import { registerRoutes } from './api.ts';
import { isAwaitingUpload, registerDirectUploadCreation, registerPlainDirectUpload, registerUploadCors, type DirectUploadDeps } from './direct-uploads.ts';
import { keyCommands, keyVerifier, registerKeyRoutes } from './keys.ts';
import { registerRateLimit, uploadQuota } from './limits.ts';
import { loadSigner, publicLinks, registerPublicLinkRoutes } from './links.ts';
import { registerTusUploads } from './tus.ts';
import { processingConfigSchema, type ProcessingConfig } from './config.ts';
import { resolveFfmpeg } from './ffmpeg.ts';
import { createDelayNotices } from './delays.ts';
import { createEventDelivery } from './events.ts';
import { createGcComponent, type GcReport } from './gc.ts';
import { processingMetrics } from './metrics.ts';
import { processingMigrations } from './migrations.ts';
import { registerProcessingReadApi } from './read-api.ts';
import { resumeWorkOfDeadStarts } from './recovery.ts';
import { reportCommand } from './report.ts';
import { queueSignals } from './signals.ts';
import { Storage } from './storage.ts';
import { countWaitingVideos, eventBacklog } from './store.ts';
import { createPipelineWorker, declareQueues } from './worker.ts';

export { getProcessingSignals, processingSignalParts, type ProcessingSignals, type QueueSignal, type SignalOptions } from './signals.ts';
export { ffprobe, generateTestClip, resolveFfmpeg, runFfmpeg, type FfmpegInfo, type ProbeInfo } from './ffmpeg.ts';
export { FAILURE_CLASSES, FAILURE_CODES, type FailureClass, type FailureCode } from './failures.ts';
export { listVideosPage, videoDetail } from './read-api.ts';
export { VIDEO_STATES, type VideoState } from './store.ts';
export { DURATION_BUCKET_NAMES, type DurationBucket, type TimeToPublish } from './time-to-publish.ts';
export type { Workflow, WorkflowStage } from './workflow.ts';

const gcCommand = apiCommand({
  name: 'processing gc',
  summary: 'Run the storage GC once (expired derived files, synthetic uploads, unreferenced originals) and print what it freed',
  call: (api) => api.post<GcReport>('/processing/gc'),
  lines: (report) => [
    `freed ${report.freedBytes} bytes: ${report.deletedVideos} synthetic video(s), ${report.deletedOutputs} derived file(s), ` +
      `${report.deletedOriginals} original(s), ${report.deletedOrphans} orphan file(s), ${report.deletedEvents} delivered event(s); ${report.storedBytes} bytes still stored.`,
  ],
});

const retryCommand = apiCommand({
  name: 'processing retry',
  summary: 'Queue a failed video again at the stage it failed at, with fresh attempt counts',
  usage: '<video-id>',
  positionals: 1,
  call: (api, args) => api.post<{ stage: string }>(`/videos/${encodeURIComponent(firstPositional(args, 'give the id of a failed video'))}/retry`),
  lines: (video, args) => [`video ${args.positionals[0]} queued again at the ${video.stage} stage`],
});

/** The longest a dead worker's job may wait before another worker takes it over. */
const TAKEOVER_PROMISE_MS = 60_000;

export const processingModule = defineModule({
  name: 'processing',
  config: { key: 'processing', schema: processingConfigSchema, env: { VIGIL_STORAGE_DIR: 'storageDir' } },
  roles: ['worker'],
  migrations: [...processingMigrations, ...accessMigrations],
  commands: [gcCommand, retryCommand, reportCommand, ...keyCommands],
  validate(config) {
    const takeover = takeoverMs(config.processing);
    return takeover > TAKEOVER_PROMISE_MS
      ? [
          `processing.lease ${config.processing.lease / 1000}s: a dead worker's job would wait up to ${Math.round(takeover / 1000)}s before another worker ` +
            `takes it over; keep the lease at or under ${Math.floor((TAKEOVER_PROMISE_MS - takeoverMs({ lease: 0 })) / 1000)}s`,
        ]
      : [];
  },
  async setup(ctx) {
    const config = ctx.config.processing;
    const storage = new Storage(config.storageDir);
    const metrics = processingMetrics(
      ctx.registry,
      async () => queueSignals(ctx.db, ctx.clock.now(), 60_000),
      async () => eventBacklog(ctx.db, ctx.clock.date()),
      async () => countWaitingVideos(ctx.db),
    );
    const components: Component[] = [{ name: 'processing-storage', health: () => storage.health(config.minFreeBytes) }];
    const signer = await loadSigner(ctx.db);
    const links = publicLinks({ signer, config, clock: ctx.clock, publicUrl: () => ctx.publicUrl });
    if (ctx.roles.has('api')) {
      ctx.verifyKeysWith(keyVerifier(ctx.db, ctx.clock, config.keys));
      const quota = uploadQuota({ db: ctx.db, clock: ctx.clock, limits: config.apiLimits });
      const direct: DirectUploadDeps = { db: ctx.db, queue: ctx.queue, storage, config, clock: ctx.clock, metrics, publicUrl: () => ctx.publicUrl, statusUrl: links.status };
      // The processing API for the platform's backend, with keys: the internal listener.
      await ctx.http.register(async (internal) => {
        declareScopes(internal);
        await registerRateLimit(internal, config.apiLimits);
        await registerRoutes(internal, {
          db: ctx.db,
          queue: ctx.queue,
          storage,
          config,
          clock: ctx.clock,
          metrics,
          apiUrl: () => ctx.apiUrl,
          links,
          quota,
        });
        registerDirectUploadCreation(internal, direct, quota);
        registerKeyRoutes(internal, { db: ctx.db, clock: ctx.clock });
      });
      // What the platform's users reach: direct upload URLs, their video's status by token, signed media links.
      await ctx.publicHttp.register(async (open) => {
        await registerUploadCors(open, config);
        declareScopes(open);
        await registerRateLimit(open, config.apiLimits);
        await open.register(multipart, { limits: { fileSize: config.maxUploadBytes, files: 1, fields: 10, fieldSize: 4096 } });
        registerPlainDirectUpload(open, direct);
        registerTusUploads(open, direct);
        registerPublicLinkRoutes(open, { db: ctx.db, storage, config, clock: ctx.clock, signer, publicUrl: () => ctx.publicUrl, awaitingUpload: (id) => isAwaitingUpload(ctx.db, id, ctx.clock.date()) });
      });
      registerProcessingReadApi(ctx.http, { db: ctx.db, clock: ctx.clock, gc: { db: ctx.db, storage, config, clock: ctx.clock, logger: ctx.logger, metrics } });
      components.push(createDelayNotices({ db: ctx.db, clock: ctx.clock, logger: ctx.logger, mailer: createMailer(ctx.config.smtp), config, statusUrl: links.status }));
    }
    if (ctx.roles.has('worker')) {
      // Only workers run ffmpeg: an API process (or a CLI command served in-process) does not look for it.
      const ffmpeg = await resolveFfmpeg();
      ctx.logger.info({ ffmpeg: ffmpeg.ffmpegPath, ffprobe: ffmpeg.ffprobePath, source: ffmpeg.source, version: ffmpeg.version }, 'ffmpeg resolved');
      if (ffmpeg.warning) ctx.logger.warn({ ffmpeg: ffmpeg.ffmpegPath, builtYear: ffmpeg.builtYear }, ffmpeg.warning);
      const mailer = createMailer(ctx.config.smtp);
      const pipeline = createPipelineWorker({
        db: ctx.db,
        queue: ctx.queue,
        storage,
        config,
        clock: ctx.clock,
        logger: ctx.logger,
        metrics,
        mailer,
        statusUrl: links.status,
        outputUrl: links.output,
      });
      components.push(
        {
          ...pipeline,
          async start() {
            // Before this start claims anything: what is claimed now was claimed by a start that ended.
            await declareQueues(ctx.queue, config);
            await resumeWorkOfDeadStarts({ db: ctx.db, queue: ctx.queue, clock: ctx.clock, logger: ctx.logger });
            await pipeline.start?.();
          },
          async stop(deadline) {
            await pipeline.stop?.(deadline);
            mailer.close();
          },
        },
        createGcComponent({ db: ctx.db, storage, config, clock: ctx.clock, logger: ctx.logger, metrics }),
        createEventDelivery({ db: ctx.db, clock: ctx.clock, logger: ctx.logger, metrics, endpoints: config.events, callbacks: config.eventCallbacks, policy: config.eventDelivery, interval: config.pollInterval }),
      );
    } else if (ctx.roles.has('api')) {
      // Uploads can arrive before any worker has started: the queues must exist for the upload's first job.
      components.push({ name: 'processing-queues', start: () => declareQueues(ctx.queue, config) });
    }
    return components;
  },
});

/** A dead worker's claim lapses after the lease, pg-boss's supervisor finds it within its interval, and retries it a second later. */
export const takeoverMs = (config: Pick<ProcessingConfig, 'lease'>): number => config.lease + SUPERVISE_SECONDS * 1000 + 1000;
