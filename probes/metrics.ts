import { Counter, Gauge, type Registry } from 'prom-client';
import { CompactGauge, CompactHistogram, SeriesTable } from '../core/telemetry/compact.ts';
import type { Clock } from '../core/clock.ts';
import type { Queryable } from '../core/db/index.ts';
import { selectLocationSilence } from './store.ts';
import { tracedHistogram } from '../core/telemetry/metrics.ts';
import type { KindMetrics, ProbeResult } from './types.ts';

const BASE_LABELS = ['probe', 'kind', 'location'] as const;

/** blackbox_exporter's values for the series a kind always reports, used for what a run did not measure (no response: status 0, phases 0). */
const WHEN_NOT_MEASURED: Readonly<Record<string, KindMetrics>> = {
  http: {
    httpStatusCode: 0,
    httpPhases: { resolve: 0, connect: 0, tls: 0, processing: 0, transfer: 0 },
    httpVersion: 0,
    httpContentLength: 0,
    httpUncompressedBodyLength: 0,
    httpRedirects: 0,
    httpSsl: false,
  },
  dns: { dnsAnswerRrs: 0, dnsAuthorityRrs: 0, dnsAdditionalRrs: 0 },
};

/** blackbox_exporter-compatible probe_* gauges plus Vigil's scheduler figures, on one registry. */
export interface ProbeMetrics {
  observe(result: ProbeResult, failure: string | undefined, metrics: KindMetrics | undefined): void;
  /** Declares the probes this scheduler runs, so their scheduler series exist (at 0) before the first run. */
  declare(probes: readonly string[]): void;
  scheduled(probe: string, latenessSeconds: number): void;
  skipped(probe: string, reason: 'overlap' | 'queued' | 'claimed'): void;
  /** Runs claimed and waiting for their target's or the pool's budget went up (or down) by `delta`. */
  waiting(delta: number): void;
  finished(probe: string): void;
  /** A run's slot was claimed by this agent alone because the store was unreachable. */
  claimedLocally(probe: string): void;
  /** Slots claimed locally during an outage that another agent of the location had claimed too: run twice, perhaps. */
  possiblyRunTwice(probe: string, slots: number): void;
  /** Results waiting in memory to be written to the store. */
  buffered(count: number): void;
  /** A buffered result dropped, oldest first, because the buffer was full. */
  dropped(count: number): void;
}

const cache = new WeakMap<Registry, ProbeMetrics>();

export function probeMetrics(registry: Registry): ProbeMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  // Series per probe (and kind and location) are kept compactly: at thousands of probes they are most of the memory.
  const results = new SeriesTable(BASE_LABELS);
  const probes = new SeriesTable(['probe'] as const);
  const gauge = (name: string, help: string, extraLabel?: string) => new CompactGauge(results, { name, help, registers, extraLabel });
  const success = gauge('probe_success', 'Whether the last run of the probe succeeded (1) or failed (0).');
  const duration = gauge('probe_duration_seconds', 'How long the last run took, retries included.');
  const failureInfo = gauge('probe_failure_info', 'Set to 1 for the failure category of the last run (absent after a success).', 'reason');
  // Each gauge below is set from one KindMetrics field; a field a run did not report removes the probe's series.
  const fields: Array<{ gauge: CompactGauge<(typeof BASE_LABELS)[number]>; samples: (metrics: KindMetrics) => Array<[string | undefined, number]> }> = [];
  const field = (name: string, help: string, value: (metrics: KindMetrics) => number | undefined) => {
    fields.push({ gauge: gauge(name, help), samples: (metrics) => { const v = value(metrics); return v === undefined ? [] : [[undefined, v]]; } });
  };
  const labelled = (name: string, help: string, label: string, values: (metrics: KindMetrics) => Record<string, number> | undefined) => {
    fields.push({ gauge: gauge(name, help, label), samples: (metrics) => Object.entries(values(metrics) ?? {}) });
  };
  field('probe_http_status_code', 'HTTP status code of the last response (0 when none arrived).', (m) => m.httpStatusCode);
  labelled('probe_http_duration_seconds', 'Duration of each HTTP phase of the last run (0 for phases not reached).', 'phase', (m) => m.httpPhases);
  field('probe_http_version', 'HTTP version of the last response (0 when none arrived).', (m) => m.httpVersion);
  field('probe_http_content_length', 'Content-Length of the last response (-1 when the header was absent).', (m) => m.httpContentLength);
  field('probe_http_uncompressed_body_length', 'Bytes of body read from the last response.', (m) => m.httpUncompressedBodyLength);
  field('probe_http_redirects', 'Redirects followed by the last run.', (m) => m.httpRedirects);
  field('probe_http_ssl', 'Whether the final request of the last run used TLS (1) or not (0).', (m) => (m.httpSsl === undefined ? undefined : Number(m.httpSsl)));
  field('probe_dns_lookup_time_seconds', 'Seconds spent resolving the target host name.', (m) => m.dnsLookupSeconds);
  field('probe_ip_protocol', 'IP protocol (4 or 6) the last run connected over.', (m) => m.ipProtocol);
  field('probe_ip_addr_hash', 'Hash of the IP address the last run connected to.', (m) => m.ipAddrHash);
  labelled('probe_tls_version_info', 'Set to 1 for the TLS version negotiated by the last run.', 'version', (m) => (m.tlsVersion ? { [m.tlsVersion]: 1 } : undefined));
  field('probe_ssl_earliest_cert_expiry', 'Unix time of the earliest certificate expiry in the served chain.', (m) => m.sslEarliestCertExpiry);
  field('probe_ssl_last_chain_expiry_timestamp_seconds', 'Unix time of the earliest expiry in the verified certificate chain.', (m) => m.sslLastChainExpiry);
  field('probe_dns_answer_rrs', 'Records in the answer section of the last DNS response.', (m) => m.dnsAnswerRrs);
  field('probe_dns_authority_rrs', 'Records in the authority section of the last DNS response.', (m) => m.dnsAuthorityRrs);
  field('probe_dns_additional_rrs', 'Records in the additional section of the last DNS response.', (m) => m.dnsAdditionalRrs);
  labelled('probe_video_stage_duration_seconds', 'Duration of each stage of the last end-to-end video run.', 'stage', (m) => m.videoStages);

  const runs = new Counter({ name: 'vigil_probe_runs_total', help: 'Probe runs finished, by kind and result.', labelNames: ['kind', 'result'], registers });
  const runDuration = tracedHistogram({
    name: 'vigil_probe_run_duration_seconds',
    help: 'Duration of probe runs (retries included), by kind; exemplars carry the run trace id.',
    labelNames: ['kind'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  const lateness = new CompactHistogram(probes, {
    name: 'vigil_probe_schedule_lateness_seconds',
    help: 'How long after its scheduled time a run started, by probe.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const skipped = new CompactGauge(probes, {
    name: 'vigil_probe_runs_skipped_total',
    help: 'Scheduled runs not started, by probe and reason: overlap (previous run still going), queued (previous run still waiting for a place under the concurrency limits) or claimed (another agent at this location took it).',
    extraLabel: 'reason',
    type: 'counter',
    registers,
  });
  const waiting = new Gauge({ name: 'vigil_probe_runs_queued', help: 'Runs claimed and waiting for a place under the per-target or global concurrency limit.', registers });
  const inFlight = new CompactGauge(probes, { name: 'vigil_probe_runs_in_flight', help: 'Runs of each probe started and not yet finished (0 or 1); the write to the store follows in the next batch.', registers });
  const claimedLocally = new CompactGauge(probes, {
    name: 'vigil_probe_runs_claimed_locally_total',
    help: 'Scheduled runs this agent claimed on its own because the store was unreachable, by probe.',
    type: 'counter',
    registers,
  });
  const runTwice = new CompactGauge(probes, {
    name: 'vigil_probe_runs_possibly_doubled_total',
    help: 'Slots claimed locally during a store outage that another agent of the same location also claimed (each may have run twice), by probe.',
    type: 'counter',
    registers,
  });
  const buffered = new Gauge({ name: 'vigil_probe_results_buffered', help: 'Probe results held in memory until the store takes them.', registers });
  const dropped = new Counter({ name: 'vigil_probe_results_dropped_total', help: 'Buffered probe results dropped, oldest first, because the buffer was full during a store outage.', registers });

  const metrics: ProbeMetrics = {
    observe(result, failure, kindMetrics) {
      const row = results.row(result);
      success.set(row, result.success ? 1 : 0);
      duration.set(row, result.durationMs / 1000);
      runs.inc({ kind: result.kind, result: result.success ? 'success' : 'failure' });
      runDuration.observe({ kind: result.kind }, result.durationMs / 1000, result.traceId);
      failureInfo.remove(row);
      if (!result.success) failureInfo.set(row, 1, failure ?? 'error');
      const measured = mergeMeasured(WHEN_NOT_MEASURED[result.kind], kindMetrics);
      for (const { gauge: target, samples } of fields) {
        target.remove(row);
        for (const [extra, value] of samples(measured)) target.set(row, value, extra);
      }
    },
    declare(names) {
      for (const probe of names) {
        const row = probes.row({ probe });
        lateness.zero(row);
        inFlight.set(row, 0);
        for (const reason of ['overlap', 'queued', 'claimed']) skipped.inc(row, 0, reason);
        claimedLocally.inc(row, 0);
        runTwice.inc(row, 0);
      }
    },
    scheduled(probe, latenessSeconds) {
      const row = probes.row({ probe });
      lateness.observe(row, latenessSeconds);
      inFlight.inc(row);
    },
    skipped: (probe, reason) => skipped.inc(probes.row({ probe }), 1, reason),
    finished: (probe) => inFlight.inc(probes.row({ probe }), -1),
    waiting: (delta) => waiting.inc(delta),
    claimedLocally: (probe) => claimedLocally.inc(probes.row({ probe })),
    possiblyRunTwice: (probe, slots) => runTwice.inc(probes.row({ probe }), slots),
    buffered: (count) => buffered.set(count),
    dropped: (count) => dropped.inc(count),
  };
  cache.set(registry, metrics);
  return metrics;
}

/** What the run measured over the kind's defaults; phases merge key by key, so a phase not reached reads 0. */
function mergeMeasured(defaults: KindMetrics | undefined, measured: KindMetrics | undefined): KindMetrics {
  if (!defaults) return measured ?? {};
  return { ...defaults, ...measured, ...(defaults.httpPhases ? { httpPhases: { ...defaults.httpPhases, ...measured?.httpPhases } } : {}) };
}


/**
 * `vigil_probe_location_silent{probe,location}`: 1 while a location that reported a configured probe has sent nothing
 * for its schedule plus grace (its agent stopped), else 0. Read from the store at each scrape (and each evaluation of a
 * `metricRule`), so any process with the store sees the agents that went quiet; labels are bounded by the configured
 * probes and the locations that ran them.
 */
export function locationSilenceMetric(registry: Registry, db: Queryable, clock: Clock, probes: ReadonlySet<string>): void {
  if (registry.getSingleMetric('vigil_probe_location_silent')) return;
  new Gauge({
    name: 'vigil_probe_location_silent',
    help: 'Whether a location stopped reporting a probe (1: nothing for its schedule plus grace), by probe and location.',
    labelNames: ['probe', 'location'],
    registers: [registry],
    async collect() {
      // Unreadable (the store away): the last values stay.
      const rows = await selectLocationSilence(db).catch(() => undefined);
      if (!rows) return;
      const now = clock.now();
      this.reset();
      for (const { probe, location, silentAfter } of rows) if (probes.has(probe)) this.set({ probe, location }, silentAfter !== null && silentAfter < now ? 1 : 0);
    },
  });
}
