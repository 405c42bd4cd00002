import { LegendDisplayMode, LegendPlacement, StackingConfigBuilder, StackingMode, VizLegendOptionsBuilder, type DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapBuilder } from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** The uid the provisioned Prometheus datasource gets, so dashboards and provisioning agree. */
export const DATASOURCE_UID = 'vigil-prometheus';

const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** The target-level selector every query carries: the environment a scrape job labels its targets with. */
export const ENV = 'environment=~"$environment"';
/** The probe selector of the Probes and Overview dashboards. */
export const PROBE = `${ENV}, probe=~"$probe", location=~"$location"`;

export interface Query {
  expr: string;
  legend?: string;
}

type Queries = ReadonlyArray<Query | string>;

interface PanelOptions {
  unit: string;
  description?: string;
  width?: number;
  height?: number;
  min?: number;
  max?: number;
}

function target(query: Query | string, index: number): DataqueryBuilder {
  const { expr, legend } = typeof query === 'string' ? { expr: query, legend: undefined } : query;
  const builder = new DataqueryBuilder().expr(expr).refId(String.fromCharCode(65 + index)).datasource(DATASOURCE);
  return legend ? builder.legendFormat(legend) : builder;
}

export function timeseries(title: string, queries: Queries, options: PanelOptions & { stacked?: boolean }): TimeseriesBuilder {
  let panel = new TimeseriesBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom))
    .span(options.width ?? 12)
    .height(options.height ?? 8);
  if (options.description) panel = panel.description(options.description);
  if (options.min !== undefined) panel = panel.min(options.min);
  if (options.max !== undefined) panel = panel.max(options.max);
  if (options.stacked) panel = panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal)).fillOpacity(40);
  queries.forEach((query, index) => (panel = panel.withTarget(target(query, index))));
  return panel;
}

export function stat(title: string, queries: Queries, options: PanelOptions): StatBuilder {
  let panel = new StatBuilder().title(title).datasource(DATASOURCE).unit(options.unit).span(options.width ?? 6).height(options.height ?? 5);
  if (options.description) panel = panel.description(options.description);
  if (options.min !== undefined) panel = panel.min(options.min);
  if (options.max !== undefined) panel = panel.max(options.max);
  queries.forEach((query, index) => (panel = panel.withTarget(target(query, index).instant())));
  return panel;
}

export function table(title: string, queries: Queries, options: PanelOptions): TableBuilder {
  let panel = new TableBuilder().title(title).datasource(DATASOURCE).unit(options.unit).span(options.width ?? 12).height(options.height ?? 8);
  if (options.description) panel = panel.description(options.description);
  queries.forEach((query, index) => (panel = panel.withTarget(target(query, index).instant().format(PromQueryFormat.Table))));
  return panel;
}

/** A heatmap of a histogram's buckets (`sum by (le) (rate(..._bucket[$__rate_interval]))`). */
export function heatmap(title: string, expr: string, options: PanelOptions): HeatmapBuilder {
  let panel = new HeatmapBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .calculate(false)
    .span(options.width ?? 12)
    .height(options.height ?? 8)
    .withTarget(target({ expr, legend: '{{le}}' }, 0).format(PromQueryFormat.Heatmap));
  if (options.description) panel = panel.description(options.description);
  return panel;
}

export type Panel = TimeseriesBuilder | StatBuilder | TableBuilder | HeatmapBuilder;

export interface Row {
  title: string;
  panels: Panel[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags?: string[];
  /** Whether the probe and location variables apply. */
  probeVariables?: boolean;
  rows: Row[];
}

/** A dashboard with the datasource and environment variables (and probe/location when asked), rows in order. */
export function buildDashboard(spec: DashboardSpec): Dashboard {
  let builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(['vigil', ...(spec.tags ?? [])])
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .readonly()
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(labelVariable('environment', 'Environment', 'vigil_build_info', 'environment'));
  if (spec.probeVariables) {
    builder = builder
      .withVariable(labelVariable('probe', 'Probe', `probe_success{${ENV}}`, 'probe'))
      .withVariable(labelVariable('location', 'Location', `probe_success{${ENV}}`, 'location'));
  }
  // Ids in order, rows included: Grafana keys links, the panel editor and library panels on unique ids.
  let id = 0;
  for (const row of spec.rows) {
    builder = builder.withRow(new RowBuilder(row.title).id(++id));
    for (const panel of row.panels) builder = builder.withPanel(panel.id(++id));
  }
  return builder.build();
}

function labelVariable(name: string, label: string, selector: string, labelName: string): QueryVariableBuilder {
  const query = `label_values(${selector}, ${labelName})`;
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ query, refId: `${name}-variable`, qryType: 1 })
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}
