import type { CliCommand } from '../core/cli/command.ts';
import { print } from '../core/cli/output.ts';
import { parseDuration } from '../core/config/duration.ts';
import type { Queryable } from '../core/db/index.ts';
import { timeToPublishByBucket } from './store.ts';
import type { TimeToPublish } from './time-to-publish.ts';

/** What the stored videos and checkpoints of a window add up to. */
export interface CostTotals {
  /** Videos published in the window. */
  videos: number;
  /** Seconds of source video they held. */
  videoSeconds: number;
  /** Bytes uploaded for them. */
  bytes: number;
  /** Wall seconds of every stage attempt of those videos, failed attempts included. */
  processingSeconds: number;
  /** CPU seconds (user + system) their tools reported, over the attempts that committed. */
  cpuSeconds: number;
  /** From upload (first stage) or the previous attempt's end to an attempt's start: queueing plus retry backoff. */
  queueWaitMeanSeconds: number | null;
  queueWaitP95Seconds: number | null;
}

/** One read over the videos published since `since` and their checkpoints. */
export async function readCostTotals(db: Queryable, since: Date): Promise<CostTotals> {
  const [row] = await db.query<CostTotals>(
    `with published as (
       select v.id, v.created_at, coalesce((v.source->>'durationSeconds')::float8, 0) as video_seconds, b.bytes
       from processing_videos v join processing_blobs b on b.sha256 = v.sha256
       where v.state = 'published' and v.finished_at >= $1
     ),
     attempts as (
       select c.duration_seconds, c.cpu_seconds,
              extract(epoch from c.started_at - coalesce(lag(c.finished_at) over (partition by c.video_id order by c.started_at, c.id), p.created_at))::float8 as wait_seconds
       from processing_checkpoints c join published p on p.id = c.video_id
     )
     select (select count(*)::int from published) as videos,
            (select coalesce(sum(video_seconds), 0)::float8 from published) as "videoSeconds",
            (select coalesce(sum(bytes), 0)::float8 from published) as bytes,
            coalesce(sum(duration_seconds), 0)::float8 as "processingSeconds",
            coalesce(sum(cpu_seconds), 0)::float8 as "cpuSeconds",
            avg(wait_seconds)::float8 as "queueWaitMeanSeconds",
            (percentile_cont(0.95) within group (order by wait_seconds))::float8 as "queueWaitP95Seconds"
     from attempts`,
    [since],
  );
  return row!;
}

export interface CostReport {
  windowHours: number;
  videos: number;
  processingSecondsPerVideoSecond: number | null;
  processingSecondsPerMegabyte: number | null;
  processingSecondsPerVideo: number | null;
  cpuSecondsPerVideo: number | null;
  queueWaitMeanSeconds: number | null;
  queueWaitP95Seconds: number | null;
  uploadsPerHour: number;
  /** Jobs running at once at `uploadsPerHour` (Little's law: arrival rate × processing seconds per video). */
  busyJobSlots: number | null;
  /** Worker processes at `concurrency` jobs each that keep those slots under 70 % busy. */
  workersNeeded: number | null;
}

/** Headroom kept on the job slots: at full utilisation queues grow without bound. */
const TARGET_UTILISATION = 0.7;

/** The figures of `vigil processing report`, from the stored totals; `uploadsPerHour` defaults to the rate observed. */
export function costReport(totals: CostTotals, options: { windowMs: number; concurrency: number; uploadsPerHour?: number }): CostReport {
  const per = (value: number, by: number) => (by > 0 ? value / by : null);
  const windowHours = options.windowMs / 3_600_000;
  const uploadsPerHour = options.uploadsPerHour ?? totals.videos / windowHours;
  const perVideo = per(totals.processingSeconds, totals.videos);
  const busyJobSlots = perVideo === null ? null : (uploadsPerHour / 3600) * perVideo;
  return {
    windowHours,
    videos: totals.videos,
    processingSecondsPerVideoSecond: per(totals.processingSeconds, totals.videoSeconds),
    processingSecondsPerMegabyte: per(totals.processingSeconds, totals.bytes / 1e6),
    processingSecondsPerVideo: perVideo,
    cpuSecondsPerVideo: per(totals.cpuSeconds, totals.videos),
    queueWaitMeanSeconds: totals.queueWaitMeanSeconds,
    queueWaitP95Seconds: totals.queueWaitP95Seconds,
    uploadsPerHour,
    busyJobSlots,
    workersNeeded: busyJobSlots === null ? null : Math.max(1, Math.ceil(busyJobSlots / (options.concurrency * TARGET_UTILISATION))),
  };
}

export function formatCostReport(report: CostReport, concurrency: number, timeToPublish: readonly TimeToPublish[] = []): string[] {
  const figure = (value: number | null, digits = 2) => (value === null ? 'n/a' : value.toFixed(digits));
  if (report.videos === 0) return [`No video was published in the last ${figure(report.windowHours, 1)} h, so there is nothing to measure yet.`];
  return [
    `${report.videos} video(s) published in the last ${figure(report.windowHours, 1)} h`,
    `processing seconds per video second   ${figure(report.processingSecondsPerVideoSecond)}`,
    `processing seconds per MB uploaded    ${figure(report.processingSecondsPerMegabyte)}`,
    `processing seconds per video          ${figure(report.processingSecondsPerVideo)}`,
    `CPU seconds per video                 ${figure(report.cpuSecondsPerVideo)}`,
    `queue wait per attempt (mean / p95)   ${figure(report.queueWaitMeanSeconds)} s / ${figure(report.queueWaitP95Seconds)} s`,
    `at ${figure(report.uploadsPerHour, 1)} uploads per hour: ${figure(report.busyJobSlots)} jobs busy at once on average, ` +
      `${report.workersNeeded} worker process(es) at concurrency ${concurrency} to stay under ${TARGET_UTILISATION * 100} % busy`,
    ...timeToPublish.map(
      (bucket) => `time to publish, sources ${bucket.bucket.padEnd(6)} median ${figure(bucket.medianSeconds, 1)} s, p95 ${figure(bucket.p95Seconds, 1)} s over ${bucket.videos} video(s)`,
    ),
  ];
}

/** Everything `vigil processing report` prints, as the admin API answers it (`GET /admin/api/v1/processing/report`). */
export async function processingReport(db: Queryable, options: { now: number; windowMs: number; concurrency: number; uploadsPerHour?: number }) {
  const from = new Date(options.now - options.windowMs);
  const totals = await readCostTotals(db, from);
  const timeToPublish = await timeToPublishByBucket(db, { from, to: new Date(options.now), includeSynthetic: true });
  const report = costReport(totals, { windowMs: options.windowMs, concurrency: options.concurrency, ...(options.uploadsPerHour !== undefined ? { uploadsPerHour: options.uploadsPerHour } : {}) });
  return { report, timeToPublish, concurrency: options.concurrency };
}

export const reportCommand: CliCommand = {
  name: 'processing report',
  summary:
    'Print processing cost from the stored checkpoints: seconds per video second and per MB, CPU seconds per video, queue wait, workers needed for an upload rate, time to publish per source length',
  usage: '[--since 7d] [--uploads-per-hour N]',
  options: { since: { type: 'string' }, 'uploads-per-hour': { type: 'string' } },
  async run(args, io) {
    const since = typeof args.values.since === 'string' ? args.values.since : '7d';
    try {
      parseDuration(since);
    } catch (error) {
      io.err(`--since: ${(error as Error).message}`);
      return 2;
    }
    const rate = typeof args.values['uploads-per-hour'] === 'string' ? Number(args.values['uploads-per-hour']) : undefined;
    if (rate !== undefined && !(rate >= 0)) {
      io.err(`--uploads-per-hour: "${args.values['uploads-per-hour']}" is not a number of uploads per hour, like 120`);
      return 2;
    }
    const answer = await (await io.connect()).get<Awaited<ReturnType<typeof processingReport>>>('/processing/report', { since, uploadsPerHour: rate });
    print(io, answer, () => formatCostReport(answer.report, answer.concurrency, answer.timeToPublish));
    return 0;
  },
};
