// Tracing in a process that exports nothing (no OTEL_* variables, no processors): spans still carry real ids, joined to
// the trace of their parent, as the SDK's tracer gave them (test/core/footprint.test.ts checks it is not loaded).
import { context, propagation, trace, TraceFlags, type Span } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { startTracing, tracer, withSpan } from '../../core/telemetry/tracing.ts';

const tracing = await startTracing({ env: {} });
afterAll(() => tracing.shutdown());

const ID = { trace: /^[0-9a-f]{32}$/, span: /^[0-9a-f]{16}$/ };

describe('spans of a process that exports nothing', () => {
  it('records nothing', () => {
    expect(tracing.exporting).toBe(false);
    expect(tracer.startSpan('root').isRecording()).toBe(false);
  });

  it('gives a root span new sampled ids, and each child its own span id in the same trace', async () => {
    let root: Span | undefined;
    let child: Span | undefined;
    await withSpan('root', {}, async (span) => {
      root = span;
      await withSpan('child', {}, async (inner) => {
        child = inner;
      });
    });
    expect(root!.spanContext()).toMatchObject({ traceId: expect.stringMatching(ID.trace), spanId: expect.stringMatching(ID.span), traceFlags: TraceFlags.SAMPLED });
    expect(child!.spanContext().traceId).toBe(root!.spanContext().traceId);
    expect(child!.spanContext().spanId).not.toBe(root!.spanContext().spanId);
    expect(tracer.startSpan('another root').spanContext().traceId).not.toBe(root!.spanContext().traceId);
  });

  it('continues an incoming traceparent with its sampled flag, and starts anew when asked for a root', () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    for (const flags of ['01', '00']) {
      const parent = propagation.extract(context.active(), { traceparent: `00-${traceId}-00f067aa0ba902b7-${flags}` });
      const span = tracer.startSpan('server', {}, parent);
      expect(span.spanContext()).toMatchObject({ traceId, traceFlags: Number(flags) });
      expect(span.spanContext().spanId).not.toBe('00f067aa0ba902b7');
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(context.active(), span), carrier);
      expect(carrier.traceparent).toBe(`00-${traceId}-${span.spanContext().spanId}-${flags}`);
      expect(tracer.startSpan('root', { root: true }, parent).spanContext().traceId).not.toBe(traceId);
    }
  });
});
