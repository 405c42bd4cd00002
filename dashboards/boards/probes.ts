import { ENV, PROBE, stat, table, timeseries, type DashboardSpec } from '../panels.ts';

export const probes: DashboardSpec = {
  uid: 'vigil-probes',
  title: 'Vigil / Probes',
  description: 'Synthetic probes in the blackbox_exporter style, on the probe, kind and location labels.',
  tags: ['blackbox'],
  probeVariables: true,
  rows: [
    {
      title: 'Availability',
      panels: [
        stat('Uptime over the range', [{ expr: `avg by (probe) (avg_over_time(probe_success{${PROBE}}[$__range]))`, legend: '{{probe}}' }], { unit: 'percentunit', min: 0, max: 1, width: 12 }),
        table('State per location', [{ expr: `max by (probe, kind, location) (probe_success{${PROBE}})` }], { unit: 'bool_yes_no' }),
        timeseries('Success', [{ expr: `probe_success{${PROBE}}`, legend: '{{probe}} @ {{location}}' }], { unit: 'bool_yes_no', min: 0, max: 1 }),
        timeseries('Failure reason', [{ expr: `probe_failure_info{${PROBE}}`, legend: '{{probe}}: {{reason}}' }], { unit: 'short' }),
      ],
    },
    {
      title: 'Timings',
      panels: [
        timeseries('Run duration', [{ expr: `probe_duration_seconds{${PROBE}}`, legend: '{{probe}} @ {{location}}' }], { unit: 's' }),
        timeseries('HTTP phases', [{ expr: `sum by (phase) (probe_http_duration_seconds{${PROBE}})`, legend: '{{phase}}' }], { unit: 's', stacked: true }),
        timeseries('DNS lookup', [{ expr: `probe_dns_lookup_time_seconds{${PROBE}}`, legend: '{{probe}}' }], { unit: 's' }),
        timeseries('Video end-to-end stages', [{ expr: `max by (stage) (probe_video_stage_duration_seconds{${PROBE}})`, legend: '{{stage}}' }], { unit: 's', stacked: true }),
      ],
    },
    {
      title: 'HTTP, TLS and DNS',
      panels: [
        timeseries('HTTP status code', [{ expr: `probe_http_status_code{${PROBE}}`, legend: '{{probe}}' }], { unit: 'none', width: 8 }),
        table('HTTP version, TLS and IP', [
          { expr: `probe_http_version{${PROBE}}` },
          { expr: `probe_ip_protocol{${PROBE}}` },
          { expr: `probe_tls_version_info{${PROBE}}` },
        ], { unit: 'none', width: 8 }),
        stat('Certificate days left', [{ expr: `min by (probe) (probe_ssl_earliest_cert_expiry{${PROBE}} - time()) / 86400`, legend: '{{probe}}' }], { unit: 'd', width: 8 }),
        timeseries('Body bytes', [{ expr: `probe_http_uncompressed_body_length{${PROBE}}`, legend: '{{probe}}' }], { unit: 'bytes', width: 12 }),
        timeseries('DNS answer records', [{ expr: `probe_dns_answer_rrs{${PROBE}}`, legend: '{{probe}}' }], { unit: 'short', width: 12 }),
      ],
    },
    {
      title: 'Scheduler',
      panels: [
        timeseries('Schedule lateness p99', [{ expr: `histogram_quantile(0.99, sum by (le, probe) (rate(vigil_probe_schedule_lateness_seconds_bucket{${ENV}, probe=~"$probe"}[$__rate_interval])))`, legend: '{{probe}}' }], { unit: 's', width: 8 }),
        timeseries('Skipped runs', [{ expr: `sum by (probe, reason) (rate(vigil_probe_runs_skipped_total{${ENV}, probe=~"$probe"}[$__rate_interval]))`, legend: '{{probe}} {{reason}}' }], { unit: 'ops', width: 8 }),
        timeseries('Runs in flight', [{ expr: `sum by (probe) (vigil_probe_runs_in_flight{${ENV}, probe=~"$probe"})`, legend: '{{probe}}' }], { unit: 'short', width: 8 }),
      ],
    },
  ],
};
