import { STAGE_NAMES } from '../../processing/stages/index.ts';
import { randomBytes } from 'node:crypto';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, expect, it } from 'vitest';
import { startTracing } from '../../core/telemetry/tracing.ts';
import { getProcessingSignals } from '../../processing/index.ts';
import { describeEachBackend, storePer } from '../support/backends.ts';
import { testClips } from '../support/clips.ts';
import { parsePrometheusText } from '../support/prometheus.ts';
import { processingTestConfig, startProcessing, upload, waitForState } from './support.ts';

const spans = new InMemorySpanExporter();
const tracing = await startTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
const { clip } = testClips({ clip: { seconds: 1, width: 160, height: 120 } });
afterAll(() => tracing.shutdown());

describeEachBackend('processing signals and instrumentation', (backend) => {
  const suite = storePer('suite', backend);

  it('counts outcomes in the window (synthetic excluded unless asked), stage throughput, metrics and spans', async () => {
    spans.reset();
    const vigil = await startProcessing(processingTestConfig(suite.store));
    try {
      const answers = await Promise.all([
        upload(vigil.url, clip),
        upload(vigil.url, randomBytes(10_000)),
        upload(vigil.url, randomBytes(10_000), { labels: 'synthetic=true' }),
      ]);
      await Promise.all(answers.map((answer) => waitForState(vigil.url, answer.body.id, ['published', 'failed'])));
      const now = Date.now();
      const signals = await getProcessingSignals(vigil.db, vigil.queue, { windowMs: 3_600_000, now });
      expect(signals.window).toEqual({ from: now - 3_600_000, to: now });
      expect(signals.videos).toEqual({ published: 1, failed: 1, failureRate: 0.5 });
      const withSynthetic = await getProcessingSignals(vigil.db, vigil.queue, { windowMs: 3_600_000, now, includeSynthetic: true });
      expect(withSynthetic.videos).toEqual({ published: 1, failed: 2, failureRate: 2 / 3 });
      expect((await getProcessingSignals(vigil.db, vigil.queue, { windowMs: 1000, now: now - 3_600_000 })).videos.failureRate).toBeNull();
      const byName = Object.fromEntries(signals.queues.map((queue) => [queue.name, queue]));
      expect(Object.keys(byName)).toEqual(STAGE_NAMES.map((stage) => `processing.${stage}`));
      expect(byName['processing.store']).toMatchObject({ depth: 0, active: 0, completedInWindow: 3, drainRatePerSecond: 3 / 3600 });
      expect(byName['processing.publish']!.completedInWindow).toBe(1);

      // Only this module's families: process metrics may print "Nan" before their first sample, which the strict reader refuses.
      const scrape = async () => {
        const text = await (await fetch(`${vigil.url}/metrics`)).text();
        return parsePrometheusText(text.split('\n').filter((line) => line.includes('vigil_processing_')).join('\n')).samples;
      };
      // Counters move just after the state commits that the API already shows.
      const find = (samples: Awaited<ReturnType<typeof scrape>>, name: string, labels: Record<string, string> = {}) =>
        samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, v]) => sample.labels[key] === v))?.value;
      await expect.poll(async () => find(await scrape(), 'vigil_processing_videos_total', { outcome: 'failed', class: 'INPUT_INVALID' })).toBe(2);
      const metrics = await scrape();
      const value = (name: string, labels: Record<string, string> = {}) => find(metrics, name, labels);
      expect(value('vigil_processing_videos_total', { outcome: 'published' })).toBe(1);
      expect(value('vigil_processing_videos_total', { outcome: 'failed', class: 'INPUT_INVALID' })).toBe(2);
      expect(value('vigil_processing_stage_failures_total', { stage: 'probe', class: 'INPUT_INVALID' })).toBe(2);
      expect(value('vigil_processing_stage_duration_seconds_count', { stage: 'transcode', outcome: 'finished' })).toBe(1);
      expect(value('vigil_processing_seconds_per_video_second_count')).toBe(1);
      expect(value('vigil_processing_bytes_in_total')).toBeGreaterThan(20_000);
      expect(value('vigil_processing_bytes_out_total')).toBeGreaterThan(0);
      expect(value('vigil_processing_queue_depth', { queue: 'processing.transcode' })).toBe(0);
      // No ids in labels.
      for (const sample of metrics.filter((s) => s.name.startsWith('vigil_processing_'))) {
        for (const label of Object.values(sample.labels)) expect(label).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/);
      }

      const finished = spans.getFinishedSpans();
      const published = answers[0]!.body.id;
      expect(finished.some((span) => span.name === 'processing.upload' && span.attributes['video.id'] === published)).toBe(true);
      const transcode = finished.find((span) => span.name === 'processing.stage transcode' && span.attributes['video.id'] === published)!;
      expect(transcode.attributes['processing.attempt']).toBe(1);
      const ffmpegSpan = finished.find((span) => span.name === 'ffmpeg' && span.parentSpanContext?.spanId === transcode.spanContext().spanId)!;
      expect(ffmpegSpan.attributes['process.exit_code']).toBe(0);
      expect(String(ffmpegSpan.attributes['process.command_args'])).toContain('libx264');
    } finally {
      await vigil.stop();
    }
  });

  it('reports depth and oldest queued age per stage queue while no worker runs', async () => {
    const api = await startProcessing(processingTestConfig(suite.store), { roles: ['api'] });
    try {
      await upload(api.url, clip);
      await upload(api.url, clip);
      const now = Date.now() + 10_000;
      const store_ = (await getProcessingSignals(api.db, api.queue, { windowMs: 60_000, now })).queues.find((queue) => queue.name === 'processing.store')!;
      expect(store_.depth).toBe(2);
      expect(store_.active).toBe(0);
      expect(store_.oldestQueuedAgeSeconds).toBeGreaterThanOrEqual(10);
      expect(store_.oldestQueuedAgeSeconds).toBeLessThan(30);
      const metrics = await (await fetch(`${api.url}/metrics`)).text();
      expect(metrics).toMatch(/vigil_processing_queue_depth\{queue="processing.store"\} 2/);
    } finally {
      await api.stop();
    }
  });
});
