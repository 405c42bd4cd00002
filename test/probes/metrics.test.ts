import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { probeMetrics } from '../../probes/metrics.ts';
import type { KindMetrics, ProbeResult } from '../../probes/types.ts';
import { parsePrometheusText } from '../support/prometheus.ts';

const result = (success: boolean, kind = 'http'): ProbeResult => ({ probe: 'site', kind, location: 'eu', success, startedAt: 0, durationMs: 120 });
const served: KindMetrics = {
  httpStatusCode: 200,
  httpPhases: { resolve: 0.001, connect: 0.002, tls: 0.003, processing: 0.004, transfer: 0.005 },
  httpVersion: 1.1,
  httpSsl: true,
  tlsVersion: 'TLS 1.3',
  sslEarliestCertExpiry: 1_800_000_000,
  sslLastChainExpiry: 1_800_000_000,
  ipProtocol: 4,
};

async function series(registry: Registry): Promise<Record<string, number>> {
  const { samples } = parsePrometheusText(await registry.metrics());
  return Object.fromEntries(samples.filter((sample) => sample.name.startsWith('probe_')).map((sample) => {
    const extra = Object.entries(sample.labels).filter(([key]) => !['probe', 'kind', 'location'].includes(key)).map(([key, value]) => `${key}=${value}`);
    return [`${sample.name}${extra.length ? `{${extra.join(',')}}` : ''}`, sample.value];
  }));
}

describe('probe_* series of the last run', () => {
  it('reads status 0 and phases 0 once no response arrives, and drops the TLS series the failed run did not measure', async () => {
    const registry = new Registry();
    const metrics = probeMetrics(registry);
    metrics.observe(result(true), undefined, served);
    expect(await series(registry)).toMatchObject({ probe_http_status_code: 200, 'probe_tls_version_info{version=TLS 1.3}': 1, 'probe_http_duration_seconds{phase=tls}': 0.003 });

    metrics.observe(result(false), 'connection_refused', { ipProtocol: 4, dnsLookupSeconds: 0 });
    const after = await series(registry);
    expect(after).toMatchObject({
      probe_success: 0,
      probe_http_status_code: 0,
      probe_http_version: 0,
      probe_http_ssl: 0,
      'probe_http_duration_seconds{phase=resolve}': 0,
      'probe_http_duration_seconds{phase=tls}': 0,
      'probe_failure_info{reason=connection_refused}': 1,
    });
    for (const gone of ['probe_tls_version_info{version=TLS 1.3}', 'probe_ssl_earliest_cert_expiry', 'probe_ssl_last_chain_expiry_timestamp_seconds']) expect(after).not.toHaveProperty(gone);
  });

  it('gives kinds without HTTP or DNS figures no such series', async () => {
    const registry = new Registry();
    probeMetrics(registry).observe(result(true, 'redis'), undefined, {});
    expect(Object.keys(await series(registry)).sort()).toEqual(['probe_duration_seconds', 'probe_success']);
  });
});
