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
  /** Once progress has been reported, an attempt whose figure does not advance for this long is stopped. */
  stallTimeout: number;
  report(progress: StageProgress): void;
  /** Called once with a timed_out ProcessingError when progress stalls. */
  stalled(error: ProcessingError): void;
}

/**
 * Watches one attempt's progress: passes on at most one report per interval (the first at once, and always a report
 * that reaches 100 %), and fails the attempt when the figure stops advancing. The same figure is what shows the
 * attempt is alive: a hung ffmpeg is stopped within `stallTimeout` instead of holding its job until the stage timeout.
 */
export function watchProgress(options: ProgressWatchOptions) {
  const { clock } = options;
  const startedAt = clock.now();
  let lastReportAt = -Infinity;
  let furthest = -1;
  let watchdog: TimerHandle | undefined;
  let stopped = false;

  const arm = () => {
    watchdog?.cancel();
    watchdog = clock.setTimeout(() => {
      if (stopped) return;
      stopped = true;
      const seconds = Math.round(options.stallTimeout / 1000);
      options.stalled(new ProcessingError('timed_out', `no progress for ${seconds} s (processing.stallTimeout) at ${furthest.toFixed(1)} s of the source`));
    }, options.stallTimeout);
  };

  return {
    update(reported: FfmpegProgress): void {
      if (stopped) return;
      if (reported.mediaSeconds > furthest) {
        furthest = reported.mediaSeconds;
        arm();
      }
      const now = clock.now();
      const progress = progressOf(reported, options.sourceSeconds, startedAt, now);
      if (now - lastReportAt < options.interval && progress.percent < 100) return;
      lastReportAt = now;
      options.report(progress);
    },
    stop(): void {
      stopped = true;
      watchdog?.cancel();
    },
  };
}
