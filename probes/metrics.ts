import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { KindMetrics, ProbeResult } from './types.ts';

const BASE_LABELS = ['probe', 'kind', 'location'] as const;
const HTTP_PHASES = ['resolve', 'connect', 'tls', 'processing', 'transfer'] as const;

/** blackbox_exporter-compatible probe_* gauges plus Vigil's scheduler figures, on one registry. */
export interface ProbeMetrics {
  observe(result: ProbeResult, failure: string | undefined, metrics: KindMetrics | undefined): void;
  lateness: Histogram;
  /** Per probe: how late its last run started. */
  lastLateness: Gauge<'probe'>;
  skipped: Counter<'probe' | 'reason'>;
  /** Per probe: 1 while a run is going. */
  inFlight: Gauge<'probe'>;
  /** Runs claimed and waiting for their target's or the pool's budget. */
  queued: Gauge;
}

const cache = new WeakMap<Registry, ProbeMetrics>();

export function probeMetrics(registry: Registry): ProbeMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const gauge = <L extends string>(name: string, help: string, extra: readonly L[] = []) =>
    new Gauge<(typeof BASE_LABELS)[number] | L>({ name, help, labelNames: [...BASE_LABELS, ...extra], registers });
  const success = gauge('probe_success', 'Whether the last run of the probe succeeded (1) or failed (0).');
  const duration = gauge('probe_duration_seconds', 'How long the last run took, retries included.');
  const status = gauge('probe_http_status_code', 'HTTP status code of the last response (0 when none arrived).');
  const phases = gauge('probe_http_duration_seconds', 'Duration of each HTTP phase of the last run.', ['phase']);
  const certExpiry = gauge('probe_ssl_earliest_cert_expiry', 'Unix time of the earliest certificate expiry in the served chain.');
  const stages = gauge('probe_video_stage_duration_seconds', 'Duration of each stage of the last end-to-end video run.', ['stage']);
  const failureInfo = gauge('probe_failure_info', 'Set to 1 for the failure category of the last run (absent after a success).', ['reason']);
  const runs = new Counter({ name: 'vigil_probe_runs_total', help: 'Probe runs finished, by kind and result.', labelNames: ['kind', 'result'], registers });
  const lateness = new Histogram({
    name: 'vigil_probe_schedule_lateness_seconds',
    help: 'How long after its scheduled time a run started.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const skipped = new Counter({
    name: 'vigil_probe_runs_skipped_total',
    help: 'Scheduled runs not started: overlap (previous run still going), queued (previous run still waiting for a place) or claimed (another agent at this location took it).',
    labelNames: ['probe', 'reason'],
    registers,
  });
  const lastLateness = new Gauge({ name: 'vigil_probe_last_lateness_seconds', help: 'How long after its scheduled time the last run of the probe started.', labelNames: ['probe'], registers });
  const inFlight = new Gauge({ name: 'vigil_probe_in_flight', help: 'Whether a run of the probe is going (1) or not (0).', labelNames: ['probe'], registers });
  const queued = new Gauge({ name: 'vigil_probe_runs_queued', help: 'Runs claimed and waiting for a place under the per-target or global concurrency limit.', registers });

  const lastFailure = new Map<string, string>();
  const metrics: ProbeMetrics = {
    lateness,
    lastLateness,
    skipped,
    inFlight,
    queued,
    observe(result, failure, kindMetrics) {
      const labels = { probe: result.probe, kind: result.kind, location: result.location };
      success.set(labels, result.success ? 1 : 0);
      duration.set(labels, result.durationMs / 1000);
      runs.inc({ kind: result.kind, result: result.success ? 'success' : 'failure' });
      const key = `${result.probe}\0${result.location}`;
      const previous = lastFailure.get(key);
      if (previous !== undefined) failureInfo.remove({ ...labels, reason: previous });
      lastFailure.delete(key);
      if (!result.success) {
        lastFailure.set(key, failure ?? 'error');
        failureInfo.set({ ...labels, reason: failure ?? 'error' }, 1);
      }
      // A run that got no answer (refused, timed out) reports 0, as blackbox_exporter does, not the previous run's figures.
      if (result.kind === 'http' || kindMetrics?.httpStatusCode !== undefined) status.set(labels, kindMetrics?.httpStatusCode ?? 0);
      if (result.kind === 'http') for (const phase of HTTP_PHASES) phases.set({ ...labels, phase }, kindMetrics?.httpPhases?.[phase] ?? 0);
      if (kindMetrics?.sslEarliestCertExpiry !== undefined) certExpiry.set(labels, kindMetrics.sslEarliestCertExpiry);
      for (const [stage, seconds] of Object.entries(kindMetrics?.videoStages ?? {})) stages.set({ ...labels, stage }, seconds);
    },
  };
  cache.set(registry, metrics);
  return metrics;
}
