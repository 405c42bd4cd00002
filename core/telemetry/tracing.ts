import { context, propagation, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { BUILD } from './build.ts';

export interface Tracing {
  /** True when spans leave the process (OTLP configured through OTEL_* variables, or processors given). */
  readonly exporting: boolean;
  shutdown(): Promise<void>;
}

const OTLP_VARIABLES = ['OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];

/** Starts tracing once per process. Spans always get real ids (for logs and traceparent); they are exported only when
 * the standard OTEL_* variables ask for it or a test passes its processors. Only exporting through OTEL_* loads the
 * OpenTelemetry Node SDK (its exporters and configuration from the environment cost about 20 MB that a process
 * keeping its spans to itself does not need). */
export async function startTracing(options: { env?: NodeJS.ProcessEnv; spanProcessors?: SpanProcessor[] } = {}): Promise<Tracing> {
  const env = options.env ?? process.env;
  const fromEnv = !options.spanProcessors && OTLP_VARIABLES.some((name) => env[name] && env[name] !== 'none');
  if (fromEnv) {
    const { NodeSDK } = await import('@opentelemetry/sdk-node');
    const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME ?? 'vigil', metricReaders: [], logRecordProcessors: [], instrumentations: [] });
    sdk.start();
    return { exporting: true, shutdown: () => sdk.shutdown() };
  }
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const provider = new TracerProvider({ spanProcessors: options.spanProcessors ?? [] });
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    exporting: Boolean(options.spanProcessors),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
export const tracer = trace.getTracer('vigil', BUILD.version);

/** Runs `fn` inside a new active span; a throw marks the span ERROR with the exception recorded. */
export async function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      markSpanFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

export function markSpanFailed(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}
