import { ENV, PROBE, stat, table, timeseries, type DashboardSpec } from '../panels.ts';

export const overview: DashboardSpec = {
  uid: 'vigil-overview',
  title: 'Vigil / Overview',
  description: 'Is the platform working: probes, open incidents, videos published and failed, the outbox.',
  probeVariables: true,
  rows: [
    {
      title: 'Now',
      panels: [
        stat('Probes up', [`sum(probe_success{${PROBE}}) / count(probe_success{${PROBE}})`], { unit: 'percentunit', min: 0, max: 1 }),
        stat('Open incidents by severity', [{ expr: `max by (severity) (vigil_alerts_open_incidents{${ENV}})`, legend: '{{severity}}' }], { unit: 'short' }),
        stat('Outbox depth', [`sum(vigil_alerts_outbox_depth{${ENV}})`], { unit: 'short' }),
        stat('Processing failure ratio', [`vigil:processing_failure_ratio:rate5m{${ENV}}`], {
          unit: 'percentunit',
          description: 'Failed over finished videos in the last 5 minutes (recording rule); the failure-rate alert rule of the config fires above its own threshold.',
        }),
      ],
    },
    {
      title: 'Probes and processing',
      panels: [
        timeseries('Probe success by probe', [{ expr: `probe_success{${PROBE}}`, legend: '{{probe}} @ {{location}}' }], { unit: 'bool_yes_no', min: 0, max: 1 }),
        timeseries('Videos per minute', [{ expr: `sum by (outcome) (rate(vigil_processing_videos_total{${ENV}}[$__rate_interval])) * 60`, legend: '{{outcome}}' }], { unit: 'short', description: 'Videos reaching published or failed, per minute.' }),
        timeseries('Failure ratio', [{ expr: `sum(rate(vigil_processing_videos_total{${ENV}, outcome="failed"}[$__rate_interval])) / sum(rate(vigil_processing_videos_total{${ENV}}[$__rate_interval]))`, legend: 'failed / finished' }], { unit: 'percentunit', min: 0, max: 1 }),
        timeseries('Outbox depth', [{ expr: `vigil_alerts_outbox_depth{${ENV}}`, legend: '{{instance}}' }], { unit: 'short' }),
      ],
    },
    {
      title: 'What users see',
      panels: [
        table('Components on the status page', [{ expr: `max by (component, status) (vigil_status_component_status{${ENV}}) == 1`, legend: '{{component}}: {{status}}' }], {
          unit: 'short',
          description: 'The status each public component shows now (operational, degraded_performance, partial_outage, major_outage, under_maintenance).',
        }),
        timeseries(
          'Failure rate against its trigger',
          [
            { expr: `max by (rule) (vigil_alerts_rule_value{${ENV}})`, legend: '{{rule}}' },
            { expr: `max by (rule) (vigil_alerts_rule_threshold{${ENV}})`, legend: '{{rule}} fires at' },
          ],
          { unit: 'percentunit', min: 0, description: 'What each rule that measures a share (the failure-rate rule behind the site banner) last compared, and the level it fires at.' },
        ),
      ],
    },
  ],
};
