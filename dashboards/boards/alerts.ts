import { ENV, stat, timeseries, type DashboardSpec } from '../panels.ts';

export const alerts: DashboardSpec = {
  uid: 'vigil-alerts',
  title: 'Vigil / Alerts',
  description: 'Incidents, notifications by receiver and outcome, delivery latency, the outbox and restart hooks.',
  rows: [
    {
      title: 'Incidents',
      panels: [
        timeseries('Incidents by state', [{ expr: `max by (state) (vigil_alerts_incidents{${ENV}})`, legend: '{{state}}' }], { unit: 'short' }),
        stat('Leader', [{ expr: `max by (instance) (vigil_alerts_leader{${ENV}})`, legend: '{{instance}}' }], { unit: 'bool_yes_no', width: 4, description: 'The process that holds the alerts lease evaluates rules and delivers notifications; the others stand by.' }),
        stat('Open incidents by severity', [{ expr: `max by (severity) (vigil_alerts_open_incidents{${ENV}})`, legend: '{{severity}}' }], { unit: 'short', width: 8 }),
        timeseries('Rule evaluations', [{ expr: `sum by (outcome) (rate(vigil_alerts_evaluations_total{${ENV}}[$__rate_interval]))`, legend: '{{outcome}}' }], { unit: 'ops' }),
      ],
    },
    {
      title: 'Notifications',
      panels: [
        timeseries('Notifications by receiver and outcome', [{ expr: `sum by (receiver, outcome) (rate(vigil_alerts_notifications_total{${ENV}}[$__rate_interval]))`, legend: '{{receiver}} {{outcome}}' }], { unit: 'ops' }),
        timeseries('Delivery latency p95', [{ expr: `histogram_quantile(0.95, sum by (le, receiver) (rate(vigil_alerts_delivery_latency_seconds_bucket{${ENV}}[$__rate_interval])))`, legend: '{{receiver}}' }], { unit: 's' }),
        stat('Outbox depth', [`sum(vigil_alerts_outbox_depth{${ENV}})`], { unit: 'short' }),
        stat('Oldest waiting notification', [`max(vigil_alerts_outbox_oldest_age_seconds{${ENV}})`], { unit: 's' }),
        timeseries('Restart and scale hook attempts', [{ expr: `sum by (receiver, outcome) (rate(vigil_alerts_hook_attempts_total{${ENV}}[$__rate_interval]))`, legend: '{{receiver}} {{outcome}}' }], {
          unit: 'ops',
          description: 'budget-spent attempts mean the hook exhausted its attempts in the window and the incident escalated.',
        }),
        timeseries('Hook budget left by service', [{ expr: `min by (receiver, service) (vigil_alerts_hook_budget_remaining{${ENV}})`, legend: '{{receiver}} {{service}}' }], {
          unit: 'short',
          min: 0,
          description: 'Attempts a hook may still make for the service in its window; 0 means the next incident escalates at once, until an incident reset.',
        }),
      ],
    },
  ],
};
