import { randomBytes } from 'node:crypto';
import {
  context, isSpanContextValid, propagation, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span, type SpanOptions, type Tracer, type TracerProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
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
 * keeping its spans to itself does not need); only processors load the SDK's tracer (102 modules with its resources
 * and semantic conventions, about 1.3 MiB of idle heap), which records spans for them. */
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
  const provider = options.spanProcessors ? new (await import('@opentelemetry/sdk-trace')).TracerProvider({ spanProcessors: options.spanProcessors }) : new UnrecordedSpans();
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

/** Spans nothing receives: each has real ids, and a trace id and sampled flag carried on from its parent as the SDK's
 * default sampler would (a root is sampled), but records nothing. */
class UnrecordedSpans implements TracerProvider, Tracer {
  getTracer(): Tracer {
    return this;
  }

  startSpan(_name: string, options?: SpanOptions, parentContext: Context = context.active()): Span {
    const parent = options?.root ? undefined : trace.getSpanContext(parentContext);
    const spanId = randomBytes(8).toString('hex');
    if (parent && isSpanContextValid(parent)) return trace.wrapSpanContext({ traceId: parent.traceId, spanId, traceFlags: parent.traceFlags, ...(parent.traceState ? { traceState: parent.traceState } : {}) });
    return trace.wrapSpanContext({ traceId: randomBytes(16).toString('hex'), spanId, traceFlags: TraceFlags.SAMPLED });
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]): ReturnType<F> {
    const fn = rest.at(-1) as F;
    const options = rest.length > 1 ? (rest[0] as SpanOptions) : undefined;
    const parentContext = rest.length > 2 ? (rest[1] as Context) : context.active();
    const span = this.startSpan(name, options, parentContext);
    return context.with(trace.setSpan(parentContext, span), () => fn(span) as ReturnType<F>);
  }

  async shutdown(): Promise<void> {}
}

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
