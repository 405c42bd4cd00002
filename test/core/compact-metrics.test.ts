import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CompactGauge, CompactHistogram, SeriesTable } from '../../core/telemetry/compact.ts';
import { renderOpenMetrics } from '../../core/telemetry/openmetrics.ts';

const BUCKETS = [0.01, 0.1, 1];

/** The same operations on prom-client's own metrics and on the compact ones, each on its registry. */
function pair() {
  const own = new Registry();
  const compact = new Registry();
  const table = new SeriesTable(['probe', 'location'] as const);
  return {
    own,
    compact,
    table,
    histogram: {
      own: new Histogram({ name: 'lateness_seconds', help: 'h', labelNames: ['probe', 'location'], buckets: BUCKETS, registers: [own] }),
      compact: new CompactHistogram(table, { name: 'lateness_seconds', help: 'h', buckets: BUCKETS, registers: [compact] }),
    },
    gauge: {
      own: new Gauge({ name: 'phase_seconds', help: 'g', labelNames: ['probe', 'location', 'phase'], registers: [own] }),
      compact: new CompactGauge(table, { name: 'phase_seconds', help: 'g', extraLabel: 'phase', registers: [compact] }),
    },
    counter: {
      own: new Counter({ name: 'skipped_total', help: 'c', labelNames: ['probe', 'location'], registers: [own] }),
      compact: new CompactGauge(table, { name: 'skipped_total', help: 'c', type: 'counter', registers: [compact] }),
    },
  };
}

describe('compact metric families', () => {
  it('render the same Prometheus and OpenMetrics text as prom-client for the same operations', async () => {
    const { own, compact, table, histogram, gauge, counter } = pair();
    const a = { probe: 'a', location: 'eu' };
    const b = { probe: 'b', location: 'eu' };
    histogram.own.zero(b);
    histogram.compact.zero(table.row(b));
    for (const value of [0.005, 0.05, 0.05, 5]) {
      histogram.own.observe(a, value);
      histogram.compact.observe(table.row(a), value);
    }
    for (const [labels, phase, value] of [[a, 'connect', 0.002], [a, 'tls', 0.003], [b, 'connect', 0.004]] as const) {
      gauge.own.set({ ...labels, phase }, value);
      gauge.compact.set(table.row(labels), value, phase);
    }
    // A run without TLS: the probe's series are replaced, the tls one goes away.
    gauge.own.remove({ ...a, phase: 'connect' });
    gauge.own.remove({ ...a, phase: 'tls' });
    gauge.own.set({ ...a, phase: 'connect' }, 0.001);
    gauge.compact.remove(table.row(a));
    gauge.compact.set(table.row(a), 0.001, 'connect');
    counter.own.inc(a, 0);
    counter.compact.inc(table.row(a), 0);
    counter.own.inc(b, 2);
    counter.compact.inc(table.row(b), 2);

    const sorted = (text: string) => text.split('\n').sort().join('\n');
    expect(sorted(await compact.metrics())).toBe(sorted(await own.metrics()));
    expect(sorted(await renderOpenMetrics(compact))).toBe(sorted(await renderOpenMetrics(own)));
    expect(await compact.metrics()).toContain('phase_seconds{probe="a",location="eu",phase="connect"} 0.001');
    expect(await compact.metrics()).not.toContain('phase="tls"');
  });

  it('answer getSingleMetric(name).get() with the values prom-client gives, and reset', async () => {
    const { own, compact, table, counter } = pair();
    counter.own.inc({ probe: 'a', location: 'eu' }, 3);
    counter.compact.inc(table.row({ probe: 'a', location: 'eu' }), 3);
    const values = async (registry: Registry) => (await registry.getSingleMetric('skipped_total')!.get()).values.map(({ labels, value }) => ({ labels, value }));
    expect(await values(compact)).toEqual(await values(own));
    compact.resetMetrics();
    expect(await values(compact)).toEqual([]);
  });
});
