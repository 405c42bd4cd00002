import type { Clock, TimerHandle } from '../core/clock.ts';
import { ProcessingError } from './failures.ts';
import type { FfmpegProgress } from './ffmpeg.ts';

/** How far a running attempt is, as the API, the console and `video.processing` events show it. */
export interface StageProgress {
  /** Share of the source's duration written so far, 0–100. */
  percent: number;
  /** Seconds of video written per second of wall time (ffmpeg's `speed`), when known. */
  speed: number | null;
  /** When the stage should finish at the current pace; null until there is a pace. */
  estimatedFinishAt: Date | null;
}

/**
 * Progress from what ffmpeg reported: the percent of the source written, and a finish estimated from ffmpeg's own speed,
 * or from the pace since the attempt started when ffmpeg gives none.
 */
export function progressOf(reported: FfmpegProgress, sourceSeconds: number, startedAt: number, now: number): StageProgress {
  // The last frame starts one frame before the source's end, so only ffmpeg's own end says the whole source is done.
  const done = reported.finished ? sourceSeconds : Math.min(Math.max(reported.mediaSeconds, 0), sourceSeconds);
  const percent = sourceSeconds > 0 ? Math.round((done / sourceSeconds) * 1000) / 10 : 0;
  const pace = reported.speed ?? (now > startedAt && done > 0 ? done / ((now - startedAt) / 1000) : null);
  const estimatedFinishAt = pace && pace > 0 ? new Date(now + ((sourceSeconds - done) / pace) * 1000) : null;
  return { percent, speed: reported.speed, estimatedFinishAt };
}

export interface ProgressWatchOptions {
  clock: Clock;
  sourceSeconds: number;
  /** Least time between two reports passed on (each one a database write and a `video.processing` event). */
  interval: number;
  /**
   * The job's lease (processing.lease): the attempt renews it (`renew`, every third of a lease) only while it is alive.
   * For a stage that reports progress, alive means its figure advanced since the last renewal, and an attempt whose
   * figure has not advanced for a whole lease is stopped: one signal keeps the job and shows ffmpeg works.
   */
  lease: number;
  /** False for a stage with no progress figure (ffprobe passes, moving files): alive while it runs, within its own timeout. */
  reportsProgress: boolean;
  renew(): void;
  report(progress: StageProgress): void;
  /** Called once with a timed_out ProcessingError when progress stalls. */
  stalled(error: ProcessingError): void;
}

/**
 * Watches one attempt: passes on at most one progress report per interval (the first at once, and always a report that
 * reaches 100 %), renews the job's lease while the attempt shows it is alive, and stops an attempt whose progress
 * stalls for a lease (a hung ffmpeg) as timed_out, before its lease would lapse, so the video's own retries apply.
 */
export function watchProgress(options: ProgressWatchOptions) {
  const { clock, lease } = options;
  const startedAt = clock.now();
  let lastReportAt = -Infinity;
  let furthest = -1;
  let advancedAt = startedAt;
  let renewedAt = startedAt;
  let watchdog: TimerHandle | undefined;
  let stopped = false;

  const arm = () => {
    watchdog?.cancel();
    watchdog = clock.setTimeout(() => {
      if (stopped) return;
      stop();
      const seconds = Math.round(lease / 1000);
      const where = furthest < 0 ? 'before ffmpeg reported any progress' : `at ${furthest.toFixed(1)} s of the source`;
      options.stalled(new ProcessingError('timed_out', `no progress for ${seconds} s (processing.lease) ${where}`));
    }, lease);
  };
  const renewals = clock.setInterval(() => {
    if (stopped || (options.reportsProgress && advancedAt <= renewedAt)) return;
    renewedAt = clock.now();
    options.renew();
  }, lease / 3);
  const stop = () => {
    stopped = true;
    watchdog?.cancel();
    renewals.cancel();
  };
  if (options.reportsProgress) arm();

  return {
    update(reported: FfmpegProgress): void {
      if (stopped) return;
      const now = clock.now();
      if (reported.mediaSeconds > furthest) {
        furthest = reported.mediaSeconds;
        advancedAt = now;
        arm();
      }
      const progress = progressOf(reported, options.sourceSeconds, startedAt, now);
      if (now - lastReportAt < options.interval && progress.percent < 100) return;
      lastReportAt = now;
      options.report(progress);
    },
    stop,
  };
}
