import { ENV, heatmap, stat, timeseries, type DashboardSpec } from '../panels.ts';

const rate = (metric: string, extra = '') => `rate(${metric}{${ENV}${extra}}[$__rate_interval])`;
const quantile = (q: number, by: string) => ({ expr: `histogram_quantile(${q}, sum by (le, ${by}) (${rate('vigil_processing_stage_duration_seconds_bucket')}))`, legend: `p${q * 100} {{${by}}}` });

export const processing: DashboardSpec = {
  uid: 'vigil-processing',
  title: 'Vigil / Processing',
  description: 'The video pipeline: stage durations, failures by class, queues, retries, throughput and cost.',
  rows: [
    {
      title: 'Stages',
      panels: [
        timeseries('Stage duration p50 / p95', [quantile(0.5, 'stage'), quantile(0.95, 'stage')], { unit: 's' }),
        heatmap('Stage duration', `sum by (le) (${rate('vigil_processing_stage_duration_seconds_bucket')})`, { unit: 's' }),
        timeseries('Failures by stage and class', [{ expr: `sum by (stage, class) (${rate('vigil_processing_stage_failures_total')})`, legend: '{{stage}} {{class}}' }], { unit: 'ops', stacked: true }),
        timeseries('Retried attempts by stage', [{ expr: `sum by (stage) (${rate('vigil_processing_stage_failures_total', ', class!="INPUT_INVALID"')})`, legend: '{{stage}}' }], {
          unit: 'ops',
          description: 'Failed attempts of a retryable class (everything but INPUT_INVALID): each is retried until its stage runs out of attempts.',
        }),
      ],
    },
    {
      title: 'Queues',
      panels: [
        timeseries('Queue depth', [{ expr: `max by (queue) (vigil_processing_queue_depth{${ENV}})`, legend: '{{queue}}' }], { unit: 'short' }),
        timeseries('Oldest waiting job', [{ expr: `max by (queue) (vigil_processing_queue_oldest_age_seconds{${ENV}})`, legend: '{{queue}}' }], { unit: 's' }),
      ],
    },
    {
      title: 'Throughput',
      panels: [
        timeseries('Uploads by outcome', [{ expr: `sum by (outcome) (${rate('vigil_processing_uploads_total')})`, legend: '{{outcome}}' }], { unit: 'reqps', width: 8 }),
        timeseries('Bytes in and out', [
          { expr: `sum(${rate('vigil_processing_bytes_in_total')})`, legend: 'uploaded' },
          { expr: `sum(${rate('vigil_processing_bytes_out_total')})`, legend: 'derived files' },
        ], { unit: 'Bps', width: 8 }),
        timeseries('Storage GC freed', [{ expr: `sum by (kind) (${rate('vigil_processing_gc_freed_bytes_total')})`, legend: '{{kind}}' }], { unit: 'Bps', width: 8 }),
      ],
    },
    {
      title: 'Cost (what `vigil processing report` prints)',
      panels: [
        stat('Processing seconds per video second', [`sum(${rate('vigil_processing_seconds_per_video_second_sum')}) / sum(${rate('vigil_processing_seconds_per_video_second_count')})`], { unit: 'none' }),
        stat('Processing seconds per MB uploaded', [`sum(${rate('vigil_processing_stage_duration_seconds_sum')}) / (sum(${rate('vigil_processing_bytes_in_total')}) / 1e6)`], { unit: 's' }),
        stat('Busy job slots', [`sum(${rate('vigil_processing_stage_duration_seconds_sum')})`], {
          unit: 'short',
          description: 'Stage seconds spent per second: the job slots (workers × concurrency) the current upload rate keeps busy. Provision above it.',
        }),
        timeseries('Processing seconds per video second', [{ expr: `histogram_quantile(0.95, sum by (le) (${rate('vigil_processing_seconds_per_video_second_bucket')}))`, legend: 'p95' }], { unit: 'none', width: 6, height: 5 }),
        stat('CPU seconds per video', [`sum(${rate('vigil_processing_cpu_seconds_total')}) / sum(${rate('vigil_processing_videos_total', ', outcome="published"')})`], {
          unit: 's',
          description: 'CPU seconds ffmpeg reported (user + system) per published video.',
        }),
      ],
    },
    {
      title: 'Time to publish (the promise, by source length)',
      panels: [
        timeseries('Upload to published p50 / p95', [
          { expr: `histogram_quantile(0.5, sum by (le, duration) (${rate('vigil_processing_time_to_publish_seconds_bucket')}))`, legend: 'p50 {{duration}}' },
          { expr: `histogram_quantile(0.95, sum by (le, duration) (${rate('vigil_processing_time_to_publish_seconds_bucket')}))`, legend: 'p95 {{duration}}' },
        ], { unit: 's', description: 'From upload to published, by source-duration bucket; the timeToPublishRule of the config and VigilTimeToPublishSlow alert on the p95.' }),
      ],
    },
  ],
};
