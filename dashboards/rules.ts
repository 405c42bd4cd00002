/** Prometheus recording and alerting rules over what Vigil exports, for installations that run their own Alertmanager. */
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Array<
    | { record: string; expr: string; labels?: Record<string, string> }
    | { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }
  >;
}

type RecordingRule = Extract<RuleGroup['rules'][number], { record: string }>;
type AlertingRule = Extract<RuleGroup['rules'][number], { alert: string }>;

const recording = (record: string, expr: string): RecordingRule => ({ record, expr });

const alerting = (alert: string, expr: string, { for: holdFor, severity }: { for?: string; severity: 'critical' | 'warning' | 'info' }, summary: string): AlertingRule => ({
  alert,
  expr,
  ...(holdFor ? { for: holdFor } : {}),
  labels: { severity },
  annotations: { summary },
});

export const RULE_GROUPS: readonly RuleGroup[] = [
  {
    name: 'vigil.recording',
    rules: [
      recording('vigil:processing_failure_ratio:rate5m', 'sum by (job, environment) (rate(vigil_processing_videos_total{outcome="failed"}[5m])) / sum by (job, environment) (rate(vigil_processing_videos_total[5m]))'),
      recording('vigil:processing_stage_duration_seconds:p95_rate5m', 'histogram_quantile(0.95, sum by (job, environment, stage, le) (rate(vigil_processing_stage_duration_seconds_bucket[5m])))'),
      recording('vigil:processing_busy_job_slots:rate5m', 'sum by (job, environment) (rate(vigil_processing_stage_duration_seconds_sum[5m]))'),
      recording('probe:probe_success:avg_over_time1h', 'avg_over_time(probe_success[1h])'),
      recording('vigil:processing_time_to_publish_seconds:p95_rate1h', 'histogram_quantile(0.95, sum by (job, environment, duration, le) (rate(vigil_processing_time_to_publish_seconds_bucket[1h])))'),
    ],
  },
  {
    name: 'vigil.alerts',
    rules: [
      alerting('VigilDown', 'up{job=~".*vigil.*"} == 0', { for: '2m', severity: 'critical' }, 'Vigil at {{ $labels.instance }} is not answering scrapes.'),
      alerting('ProbeFailing', 'probe_success == 0', { for: '2m', severity: 'warning' }, 'Probe {{ $labels.probe }} fails at {{ $labels.location }}.'),
      alerting('ProbeCertificateExpiresSoon', 'probe_ssl_earliest_cert_expiry - time() < 14 * 86400', { for: '10m', severity: 'warning' }, 'The certificate seen by probe {{ $labels.probe }} expires in {{ $value | humanizeDuration }}.'),
      alerting('VigilProcessingFailureRateHigh', 'vigil:processing_failure_ratio:rate5m > 0.2', { for: '10m', severity: 'warning' }, '{{ $value | humanizePercentage }} of videos failed over the last 5 minutes.'),
      alerting('VigilTimeToPublishSlow', 'vigil:processing_time_to_publish_seconds:p95_rate1h{duration="<1m"} > 35', { for: '15m', severity: 'warning' }, 'Clips under a minute take {{ $value | humanizeDuration }} (p95 over 1 h) from upload to published; the promise is 35 s.'),
      alerting('VigilProcessingQueueStuck', 'max by (job, environment, queue) (vigil_processing_queue_oldest_age_seconds) > 900', { for: '5m', severity: 'warning' }, 'The oldest job in {{ $labels.queue }} has waited {{ $value | humanizeDuration }}.'),
      alerting('VigilOutboxBacklog', 'max by (job, environment) (vigil_alerts_outbox_oldest_age_seconds) > 300', { for: '5m', severity: 'critical' }, 'A notification has waited {{ $value | humanizeDuration }} in the outbox: a receiver is failing.'),
      alerting('VigilProbeRunsSkipped', 'sum by (job, environment, probe) (increase(vigil_probe_runs_skipped_total{reason="overlap"}[15m])) > 0', { severity: 'info' }, 'Probe {{ $labels.probe }} is still running when its next run is due: raise its interval or lower its timeout.'),
    ],
  },
];
