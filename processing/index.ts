import type { CliCommand } from '../core/cli/command.ts';
import { print } from '../core/cli/output.ts';
import { defineModule, type Component } from '../core/lifecycle/module.ts';
import { createMailer } from '../core/mail.ts';
import { registerRoutes } from './api.ts';
import { processingConfigSchema } from './config.ts';
import { resolveFfmpeg } from './ffmpeg.ts';
import { createGcComponent, type GcReport } from './gc.ts';
import { processingMetrics } from './metrics.ts';
import { processingMigrations } from './migrations.ts';
import { registerProcessingReadApi } from './read-api.ts';
import { resumeWorkOfDeadProcesses } from './recovery.ts';
import { queueSignals } from './signals.ts';
import { Storage } from './storage.ts';
import { createPipelineWorker, declareQueues } from './worker.ts';

export { getProcessingSignals, type ProcessingSignals, type QueueSignal, type SignalOptions } from './signals.ts';
export { ffprobe, generateTestClip, resolveFfmpeg, runFfmpeg, type FfmpegInfo, type ProbeInfo } from './ffmpeg.ts';
export { FAILURE_CLASSES, type FailureClass } from './failures.ts';
export { listVideosPage, videoDetail } from './read-api.ts';
export { VIDEO_STATES, type VideoState } from './videos.ts';
export type { Workflow, WorkflowStage } from './workflow.ts';

const gcCommand: CliCommand = {
  name: 'processing gc',
  summary: 'Run the storage GC once (expired derived files, synthetic uploads, unreferenced originals) and print what it freed',
  async run(_args, io) {
    const report = await (await io.connect()).post<GcReport>('/processing/gc');
    print(io, report, () => [
      `freed ${report.freedBytes} bytes: ${report.deletedVideos} synthetic video(s), ${report.deletedOutputs} derived file(s), ` +
        `${report.deletedOriginals} original(s), ${report.deletedOrphans} orphan file(s); ${report.storedBytes} bytes still stored.`,
    ]);
    return 0;
  },
};

export const processingModule = defineModule({
  name: 'processing',
  config: { key: 'processing', schema: processingConfigSchema, env: { VIGIL_STORAGE_DIR: 'storageDir' } },
  roles: ['worker'],
  migrations: processingMigrations,
  commands: [gcCommand],
  async setup(ctx) {
    const config = ctx.config.processing;
    const storage = new Storage(config.storageDir);
    const metrics = processingMetrics(ctx.registry, async () => queueSignals(ctx.db, ctx.clock.now(), 60_000));
    const components: Component[] = [];
    const ffmpeg = await resolveFfmpeg();
    ctx.logger.info({ ffmpeg: ffmpeg.ffmpegPath, ffprobe: ffmpeg.ffprobePath, source: ffmpeg.source, version: ffmpeg.version }, 'ffmpeg resolved');
    if (ctx.roles.has('api')) {
      await registerRoutes(ctx.http, { db: ctx.db, queue: ctx.queue, storage, config, clock: ctx.clock, metrics, publicUrl: () => ctx.publicUrl });
      registerProcessingReadApi(ctx.http, { db: ctx.db, clock: ctx.clock, gc: { db: ctx.db, storage, config, clock: ctx.clock, logger: ctx.logger, metrics } });
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
        statusUrl: (id) => `${ctx.publicUrl}/api/v1/videos/${id}`,
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
