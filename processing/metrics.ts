import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createOutboxMetrics, type OutboxMetricNames, type OutboxMetrics } from '../core/outbox.ts';
import { tracedHistogram, type TracedHistogram } from '../core/telemetry/metrics.ts';
import { FAILURE_CLASSES } from './failures.ts';
import { STAGE_NAMES } from './stages/index.ts';

export interface ProcessingMetrics {
  videos: Counter<'outcome' | 'class'>;
  stageDuration: TracedHistogram<'stage' | 'outcome'>;
  stageFailures: Counter<'stage' | 'class'>;
  stageWaits: Counter<'stage'>;
  processingRatio: Histogram;
  timeToPublish: Histogram<'duration'>;
  cpuSeconds: Counter;
  bytesIn: Counter;
  bytesOut: Counter;
  uploads: Counter<'outcome'>;
  gcFreedBytes: Counter<'kind'>;
  queueDepth: Gauge<'queue'>;
  eventDeliveries: OutboxMetrics;
  queueOldestAge: Gauge<'queue'>;
}

export interface QueueGauge {
  name: string;
  depth: number;
  oldestQueuedAgeSeconds: number;
}

const cache = new WeakMap<Registry, ProcessingMetrics>();

export interface EventBacklogGauge {
  endpoint: string;
  pending: number;
  oldestPendingSeconds: number;
  failed: number;
}

/** Every stage and class at 0 from the start: a rate over them reads 0, not "no data", before the first failure. */
function zeroed(failures: Counter<'stage' | 'class'>): Counter<'stage' | 'class'> {
  for (const stage of STAGE_NAMES) for (const failureClass of FAILURE_CLASSES) failures.inc({ stage, class: failureClass }, 0);
  return failures;
}

const EVENT_DELIVERY_METRICS: OutboxMetricNames = {
  targetLabel: 'endpoint',
  outcomes: { name: 'vigil_processing_event_deliveries_total', help: 'POSTs of processing events, by endpoint and outcome (delivered, retry, failed: given up).' },
  latency: { name: 'vigil_processing_event_delivery_latency_seconds', help: 'From a processing event being written to its delivery.' },
};

/** The processing metrics in `registry` (created once per registry). Labels are bounded: stage, class, outcome, queue, duration bucket, event endpoint (from config). */
export function processingMetrics(
  registry: Registry,
  readQueues: () => Promise<QueueGauge[]> = async () => [],
  readEvents: () => Promise<EventBacklogGauge[]> = async () => [],
  readWaiting: () => Promise<Array<{ stage: string; count: number }>> = async () => [],
): ProcessingMetrics {
  let metrics = cache.get(registry);
  if (metrics) return metrics;
  const registers = [registry];
  // Both queue gauges are read from the database at scrape time; one read serves the pair.
  let pending: Promise<QueueGauge[]> | undefined;
  const read = () => (pending ??= readQueues().finally(() => setImmediate(() => (pending = undefined))));
  metrics = {
    videos: new Counter({ name: 'vigil_processing_videos_total', help: 'Videos that reached a final state, by outcome (published, failed) and failure class.', labelNames: ['outcome', 'class'], registers }),
    stageDuration: tracedHistogram({
      name: 'vigil_processing_stage_duration_seconds',
      help: 'Wall time of one stage attempt, by stage and outcome (finished, failed).',
      labelNames: ['stage', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers,
    }),
    stageFailures: zeroed(new Counter({ name: 'vigil_processing_stage_failures_total', help: 'Failed stage attempts, by stage and failure class.', labelNames: ['stage', 'class'], registers })),
    stageWaits: new Counter({
      name: 'vigil_processing_stage_waits_total',
      help: 'Stage attempts that ended because a dependency was unavailable (full disk, store away): the video waits and keeps its retries.',
      labelNames: ['stage'],
      registers,
    }),
    processingRatio: new Histogram({
      name: 'vigil_processing_seconds_per_video_second',
      help: 'Processing seconds spent per second of source video, observed when a video is published.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
      registers,
    }),
    timeToPublish: new Histogram({
      name: 'vigil_processing_time_to_publish_seconds',
      help: 'From upload to published, by source-duration bucket (<1m, 1-5m, 5-20m, 20-60m, >60m).',
      labelNames: ['duration'],
      buckets: [5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400],
      registers,
    }),
    cpuSeconds: new Counter({ name: 'vigil_processing_cpu_seconds_total', help: 'CPU seconds (user + system) that ffmpeg reported for committed stage attempts.', registers }),
    bytesIn: new Counter({ name: 'vigil_processing_bytes_in_total', help: 'Bytes of accepted uploads.', registers }),
    bytesOut: new Counter({ name: 'vigil_processing_bytes_out_total', help: 'Bytes of committed derived files (renditions, thumbnails).', registers }),
    uploads: new Counter({ name: 'vigil_processing_uploads_total', help: 'Upload requests, by outcome (accepted, too_large, invalid, error).', labelNames: ['outcome'], registers }),
    gcFreedBytes: new Counter({ name: 'vigil_processing_gc_freed_bytes_total', help: 'Bytes GC deleted, by kind (derived, original, orphan).', labelNames: ['kind'], registers }),
    eventDeliveries: createOutboxMetrics(registry, EVENT_DELIVERY_METRICS),
    queueDepth: new Gauge({
      name: 'vigil_processing_queue_depth',
      help: 'Jobs waiting in each stage queue.',
      labelNames: ['queue'],
      registers,
      async collect() {
        for (const queue of await read()) this.set({ queue: queue.name }, queue.depth);
      },
    }),
    queueOldestAge: new Gauge({
      name: 'vigil_processing_queue_oldest_age_seconds',
      help: 'Age of the oldest video waiting in each stage queue.',
      labelNames: ['queue'],
      registers,
      async collect() {
        for (const queue of await read()) this.set({ queue: queue.name }, queue.oldestQueuedAgeSeconds);
      },
    }),
  };
  new Gauge({
    name: 'vigil_processing_events_pending',
    help: 'Processing events not yet delivered, by endpoint.',
    labelNames: ['endpoint'],
    registers,
    async collect() {
      for (const backlog of await readEvents()) this.set({ endpoint: backlog.endpoint }, backlog.pending);
    },
  });
  new Gauge({
    name: 'vigil_processing_events_oldest_pending_age_seconds',
    help: 'Age of the oldest undelivered processing event, by endpoint: a receiver that keeps failing makes it grow.',
    labelNames: ['endpoint'],
    registers,
    async collect() {
      for (const backlog of await readEvents()) this.set({ endpoint: backlog.endpoint }, backlog.oldestPendingSeconds);
    },
  });
  new Gauge({
    name: 'vigil_processing_videos_waiting',
    help: 'Videos whose current stage waits for an unavailable dependency (full disk, store away), by stage.',
    labelNames: ['stage'],
    registers,
    async collect() {
      this.reset();
      for (const row of await readWaiting().catch(() => [])) this.set({ stage: row.stage }, row.count);
    },
  });
  cache.set(registry, metrics);
  return metrics;
}
