import { migrate, openDb } from '../core/db/index.ts';
import type { CliCommand } from '../core/cli/command.ts';
import type { CoreConfig } from '../core/config/index.ts';
import { systemClock } from '../core/clock.ts';
import { defineModule, type Component } from '../core/lifecycle/module.ts';
import { createMailer } from '../core/mail.ts';
import { createLogger } from '../core/telemetry/index.ts';
import multipart from '@fastify/multipart';
import { requireScopes } from '../core/http/auth.ts';
import { accessMigrations } from './access-migrations.ts';
import { registerRoutes } from './api.ts';
import { isAwaitingUpload, registerDirectUploadCreation, registerPlainDirectUpload, registerUploadCors, type DirectUploadDeps } from './direct-uploads.ts';
import { keyCommands, keyVerifier, registerKeyRoutes } from './keys.ts';
import { registerRateLimit, uploadQuota } from './limits.ts';
import { loadSigner, publicLinks, registerPublicLinkRoutes } from './links.ts';
import { registerTusUploads } from './tus.ts';
import { processingConfigSchema, type ProcessingConfig } from './config.ts';
import { resolveFfmpeg } from './ffmpeg.ts';
import { createGcComponent, runGc } from './gc.ts';
import { processingMetrics } from './metrics.ts';
import { processingMigrations } from './migrations.ts';
import { resumeWorkOfDeadProcesses } from './recovery.ts';
import { queueSignals } from './signals.ts';
import { Storage } from './storage.ts';
import { createPipelineWorker, declareQueues } from './worker.ts';

export { getProcessingSignals, type ProcessingSignals, type QueueSignal, type SignalOptions } from './signals.ts';
export { ffprobe, generateTestClip, resolveFfmpeg, runFfmpeg, type FfmpegInfo, type ProbeInfo } from './ffmpeg.ts';
export { FAILURE_CLASSES, type FailureClass } from './failures.ts';

const gcCommand: CliCommand<CoreConfig & { processing: ProcessingConfig }> = {
  name: 'processing gc',
  summary: 'Run the storage GC once (expired derived files, synthetic uploads, unreferenced originals) and print what it freed',
  async run(_args, io) {
    const config = await io.loadConfig();
    const db = await openDb(config.database, 'vigil-gc');
    try {
      await migrate(db, processingMigrations);
      const logger = createLogger({ level: 'warn' });
      const report = await runGc({ db, storage: new Storage(config.processing.storageDir), config: config.processing, clock: systemClock, logger });
      io.out(
        `freed ${report.freedBytes} bytes: ${report.deletedVideos} synthetic video(s), ${report.deletedOutputs} derived file(s), ` +
          `${report.deletedOriginals} original(s), ${report.deletedOrphans} orphan file(s); ${report.storedBytes} bytes still stored.`,
      );
      return 0;
    } finally {
      await db.close();
    }
  },
};

export const processingModule = defineModule({
  name: 'processing',
  config: { key: 'processing', schema: processingConfigSchema, env: { VIGIL_STORAGE_DIR: 'storageDir' } },
  roles: ['worker'],
  migrations: [...processingMigrations, ...accessMigrations],
  commands: [gcCommand, ...keyCommands],
  async setup(ctx) {
    const config = ctx.config.processing;
    const storage = new Storage(config.storageDir);
    const metrics = processingMetrics(ctx.registry, async () => queueSignals(ctx.db, ctx.clock.now(), 60_000));
    const components: Component[] = [];
    const ffmpeg = await resolveFfmpeg();
    ctx.logger.info({ ffmpeg: ffmpeg.ffmpegPath, ffprobe: ffmpeg.ffprobePath, source: ffmpeg.source, version: ffmpeg.version }, 'ffmpeg resolved');
    const signer = await loadSigner(ctx.db);
    const links = publicLinks({ signer, config, clock: ctx.clock, publicUrl: () => ctx.publicUrl });
    if (ctx.roles.has('api')) {
      const access = { adminToken: ctx.config.server.adminToken, verifyKey: keyVerifier(ctx.db, ctx.clock, config.keys) };
      const quota = uploadQuota({ db: ctx.db, clock: ctx.clock, limits: config.limits });
      const direct: DirectUploadDeps = { db: ctx.db, queue: ctx.queue, storage, config, clock: ctx.clock, metrics, publicUrl: () => ctx.publicUrl, statusUrl: links.status };
      // The processing API for the platform's backend, with keys: the internal listener.
      await ctx.http.register(async (internal) => {
        requireScopes(internal, access);
        await registerRateLimit(internal, config.limits);
        await registerRoutes(internal, { db: ctx.db, queue: ctx.queue, storage, config, clock: ctx.clock, metrics, apiUrl: () => ctx.apiUrl, links, quota });
        registerDirectUploadCreation(internal, direct, quota);
        registerKeyRoutes(internal, { db: ctx.db, clock: ctx.clock });
      });
      // What the platform's users reach: direct upload URLs, their video's status by token, signed media links.
      await ctx.publicHttp.register(async (open) => {
        await registerUploadCors(open, config);
        requireScopes(open, access);
        await registerRateLimit(open, config.limits);
        await open.register(multipart, { limits: { fileSize: config.maxUploadBytes, files: 1, fields: 10, fieldSize: 4096 } });
        registerPlainDirectUpload(open, direct);
        registerTusUploads(open, direct);
        registerPublicLinkRoutes(open, { db: ctx.db, storage, config, clock: ctx.clock, signer, publicUrl: () => ctx.publicUrl, awaitingUpload: (id) => isAwaitingUpload(ctx.db, id, ctx.clock.date()) });
      });
    }
    if (ctx.roles.has('worker')) {
      const mailer = createMailer(ctx.config.smtp);
      const worker = createPipelineWorker({
        db: ctx.db,
        queue: ctx.queue,
        storage,
        config,
        clock: ctx.clock,
        logger: ctx.logger,
        metrics,
        mailer,
        statusUrl: links.status,
      });
      components.push(
        {
          ...worker,
          async start() {
            await worker.start?.();
            await resumeWorkOfDeadProcesses(ctx.db, ctx.queue, ctx.logger);
          },
          async stop(deadline) {
            await worker.stop?.(deadline);
            mailer.close();
          },
        },
        createGcComponent({ db: ctx.db, storage, config, clock: ctx.clock, logger: ctx.logger, metrics }),
      );
    } else if (ctx.roles.has('api')) {
      // Uploads can arrive before any worker has started: the queues must exist for the upload's first job.
      components.push({ name: 'processing-queues', start: () => declareQueues(ctx.queue, config) });
    }
    return components;
  },
});
