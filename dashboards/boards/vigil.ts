import { ENV, stat, table, timeseries, type DashboardSpec } from '../panels.ts';

const http = (extra = '') => `rate(vigil_http_request_duration_seconds_count{${ENV}${extra}}[$__rate_interval])`;

export const vigil: DashboardSpec = {
  uid: 'vigil-self',
  title: 'Vigil / Vigil itself',
  description: 'The Vigil processes: CPU, memory, event loop, HTTP by route, probe runs.',
  rows: [
    {
      title: 'Process',
      panels: [
        table('Builds running', [{ expr: `vigil_build_info{${ENV}}` }], { unit: 'none', width: 8, height: 5 }),
        stat('Processes up', [`sum(up{${ENV}, job=~".*vigil.*"})`], { unit: 'short', width: 4, height: 5 }),
        timeseries('CPU', [{ expr: `rate(process_cpu_seconds_total{${ENV}}[$__rate_interval])`, legend: '{{instance}}' }], { unit: 'percentunit', width: 12, height: 5, description: 'CPU seconds per second of the Vigil process (ffmpeg children are not counted).' }),
        timeseries('Memory', [
          { expr: `process_resident_memory_bytes{${ENV}}`, legend: 'resident {{instance}}' },
          { expr: `nodejs_heap_size_used_bytes{${ENV}}`, legend: 'heap used {{instance}}' },
        ], { unit: 'bytes' }),
        timeseries('Event-loop lag p99', [{ expr: `nodejs_eventloop_lag_p99_seconds{${ENV}}`, legend: '{{instance}}' }], { unit: 's' }),
        timeseries('Garbage collection time', [{ expr: `sum by (instance) (rate(nodejs_gc_duration_seconds_sum{${ENV}}[$__rate_interval]))`, legend: '{{instance}}' }], { unit: 'percentunit' }),
      ],
    },
    {
      title: 'HTTP',
      panels: [
        timeseries('Requests by route', [{ expr: `sum by (route) (${http()})`, legend: '{{route}}' }], { unit: 'reqps' }),
        timeseries('Latency p95 by route', [{ expr: `histogram_quantile(0.95, sum by (le, route) (rate(vigil_http_request_duration_seconds_bucket{${ENV}}[$__rate_interval])))`, legend: '{{route}}' }], { unit: 's' }),
        timeseries('Open connections', [{ expr: `sum by (instance) (vigil_http_open_connections{${ENV}})`, legend: '{{instance}}' }], { unit: 'short', width: 12 }),
        timeseries('Error responses by status code', [{ expr: `sum by (status_code) (${http(', status_code=~"4..|5.."')})`, legend: '{{status_code}}' }], { unit: 'reqps' }),
      ],
    },
    {
      title: 'Database',
      panels: [
        timeseries('Statements per second by outcome', [{ expr: `sum by (outcome) (rate(vigil_db_query_duration_seconds_count{${ENV}}[$__rate_interval]))`, legend: '{{outcome}}' }], { unit: 'ops' }),
        timeseries('Statement time p95', [{ expr: `histogram_quantile(0.95, sum by (le, instance) (rate(vigil_db_query_duration_seconds_bucket{${ENV}}[$__rate_interval])))`, legend: '{{instance}}' }], { unit: 's' }),
      ],
    },
    {
      title: 'Probe runner',
      panels: [
        timeseries('Probe runs by kind and result', [{ expr: `sum by (kind, result) (rate(vigil_probe_runs_total{${ENV}}[$__rate_interval]))`, legend: '{{kind}} {{result}}' }], { unit: 'ops' }),
        timeseries('Probe run duration p95 by kind', [{ expr: `histogram_quantile(0.95, sum by (le, kind) (rate(vigil_probe_run_duration_seconds_bucket{${ENV}}[$__rate_interval])))`, legend: '{{kind}}' }], { unit: 's' }),
      ],
    },
  ],
};
