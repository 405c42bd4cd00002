import { isSpanContextValid, trace } from '@opentelemetry/api';
import { collectDefaultMetrics, Gauge, Histogram, Registry, type HistogramConfiguration, type LabelValues } from 'prom-client';
import { BUILD } from './build.ts';

export type { Registry } from 'prom-client';

/** The one registry /metrics serves: process metrics and vigil_build_info; modules add theirs to it. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'vigil_build_info',
    help: 'Always 1; labels name the running build.',
    labelNames: ['version', 'node_version', 'revision'],
    registers: [registry],
    // Set when first scraped: the revision is asked of git then, not by every process that makes a registry.
    collect() {
      this.set({ version: BUILD.version, node_version: process.version, revision: BUILD.revision }, 1);
    },
  });
  return registry;
}

export interface TracedHistogram<T extends string> {
  /** Observes `value`; the bucket's exemplar carries `traceId`, else the active span's trace id. */
  observe(labels: LabelValues<T>, value: number, traceId?: string): void;
  zero(labels: LabelValues<T>): void;
}

/** A histogram whose observations leave an exemplar with the trace id (shown when /metrics is scraped as OpenMetrics). */
export function tracedHistogram<T extends string>(configuration: HistogramConfiguration<T>): TracedHistogram<T> {
  // Typed over any label name: prom-client types an exemplar's labels as the histogram's own label names.
  // Registered by hand: prom-client refuses exemplars on a registry that renders the Prometheus text format,
  // though it then simply leaves them out of that format; /metrics renders them when OpenMetrics is asked for.
  const histogram = new Histogram<string>({ ...configuration, registers: [], enableExemplars: true });
  for (const registry of configuration.registers ?? []) registry.registerMetric(histogram);
  return {
    observe(labels, value, traceId) {
      const spanContext = trace.getActiveSpan()?.spanContext();
      const id = traceId ?? (spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined);
      histogram.observe({ labels, value, ...(id ? { exemplarLabels: { trace_id: id } } : {}) });
    },
    zero: (labels) => histogram.zero(labels),
  };
}
