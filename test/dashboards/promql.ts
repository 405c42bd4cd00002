import { parser } from '@prometheus-io/lezer-promql';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard } from '../../dashboards/panels.ts';
import { DASHBOARDS, RULE_GROUPS } from '../../dashboards/files.ts';

export interface PanelQuery {
  where: string;
  expr: string;
  unit?: string;
}

/** Every panel query of every dashboard, with where it comes from and the panel's unit. */
export function panelQueries(): PanelQuery[] {
  return DASHBOARDS.flatMap((spec) => {
    const dashboard: Dashboard = buildDashboard(spec);
    return (dashboard.panels ?? []).flatMap((panel) => {
      if (panel.type === 'row') return [];
      const { title, targets, fieldConfig } = panel as { title?: string; targets?: Array<{ expr?: string }>; fieldConfig?: { defaults?: { unit?: string } } };
      return (targets ?? []).map((target) => ({ where: `${spec.title} / ${title}`, expr: target.expr ?? '', ...(fieldConfig?.defaults?.unit ? { unit: fieldConfig.defaults.unit } : {}) }));
    });
  });
}

export function ruleQueries(): PanelQuery[] {
  return RULE_GROUPS.flatMap((group) => group.rules.map((rule) => ({ where: `rules ${group.name} / ${'record' in rule ? rule.record : rule.alert}`, expr: rule.expr })));
}

/** The query as Prometheus receives it from Grafana: its variables replaced by what they expand to. */
export function expand(expr: string, range = '5m'): string {
  return expr.replaceAll('$__rate_interval', range).replaceAll('$__range', range).replace(/\$[a-z_]+/g, '.*');
}

export interface Analysis {
  errors: string[];
  metrics: string[];
  labels: string[];
  /** Range functions whose range is not `$__rate_interval`. */
  fixedRanges: string[];
}

/** Parses with Prometheus' own grammar; lists the metric names and label names the query names. */
export function analyse(expr: string): Analysis {
  const text = expand(expr);
  const tree = parser.parse(text);
  const result: Analysis = { errors: [], metrics: [], labels: [], fixedRanges: [] };
  tree.iterate({
    enter(node) {
      const slice = text.slice(node.from, node.to);
      if (node.type.isError) result.errors.push(`syntax error at ${node.from}: "${text.slice(Math.max(0, node.from - 10), node.to + 10)}"`);
      else if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') result.metrics.push(slice);
      else if (node.name === 'LabelName') result.labels.push(slice);
    },
  });
  for (const match of expr.matchAll(/\b(rate|irate|increase)\([^[]*\[([^\]]+)\]/g)) if (match[2] !== '$__rate_interval') result.fixedRanges.push(match[0]);
  return result;
}

/** The series names a metric family exposes: a histogram's _bucket, _sum and _count, a counter as written. */
export function exposedNames(name: string, type: string): string[] {
  return type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : type === 'summary' ? [name, `${name}_sum`, `${name}_count`] : [name];
}
