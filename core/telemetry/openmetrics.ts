import type { Registry } from 'prom-client';

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

interface Exemplar {
  labelSet: Record<string, string | number>;
  value: number;
  timestamp: number;
}

interface Value {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  exemplar?: Exemplar | null;
}

/** True when a scraper's Accept header prefers OpenMetrics (Prometheus sends it first when exemplar storage is on). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return /application\/openmetrics-text/.test(accept ?? '');
}

/**
 * The registry in the OpenMetrics 1.0 text format, with histogram exemplars. Written here rather than switching
 * prom-client's registry type, because prom-client renames counters in place when it renders OpenMetrics, which
 * would break the Prometheus text served to the next scraper.
 */
export async function renderOpenMetrics(registry: Registry): Promise<string> {
  const families: string[] = [];
  for (const metric of await registry.getMetricsAsJSON()) {
    const { name, help } = metric;
    const type = String(metric.type);
    const values = metric.values as Value[];
    const family = type === 'counter' ? name.replace(/_total$/, '') : name;
    const lines = [`# TYPE ${family} ${type === 'untyped' ? 'unknown' : type}`, `# HELP ${family} ${escapeHelp(help)}`];
    for (const sample of values) {
      const sampleName = sample.metricName ?? (type === 'counter' ? `${family}_total` : name);
      const exemplar = sample.exemplar && Object.keys(sample.exemplar.labelSet).length > 0 ? ` # ${labels(sample.exemplar.labelSet)} ${number(sample.exemplar.value)} ${sample.exemplar.timestamp}` : '';
      lines.push(`${sampleName}${labels(sample.labels)} ${number(sample.value)}${exemplar}`);
    }
    families.push(lines.join('\n'));
  }
  return `${families.join('\n')}\n# EOF\n`;
}

function labels(set: Record<string, string | number>): string {
  const entries = Object.entries(set);
  if (entries.length === 0) return '';
  return `{${entries.map(([key, value]) => `${key}="${escapeLabel(key === 'le' ? number(Number(value)) : String(value))}"`).join(',')}}`;
}

function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
