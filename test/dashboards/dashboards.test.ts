import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DASHBOARDS, exportFiles } from '../../dashboards/files.ts';
import { buildDashboard } from '../../dashboards/panels.ts';
import { REPO_ROOT, runVigil } from '../support/cli.ts';
import { analyse, panelQueries, ruleQueries } from './promql.ts';

const GENERATED = path.join(REPO_ROOT, 'dashboards/generated');
const temp = mkdtempSync(path.join(os.tmpdir(), 'vigil-dashboards-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

describe('dashboards as code', () => {
  it('has the committed dashboards/generated/ up to date (regenerate: npm run vigil -- dashboards export dashboards/generated)', () => {
    const files = exportFiles();
    expect(listFiles(GENERATED).sort()).toEqual([...files.keys()].sort());
    for (const [relative, content] of files) expect(readFileSync(path.join(GENERATED, relative), 'utf8'), relative).toBe(content);
  });

  it('parses every panel and rule query as PromQL, with $__rate_interval in every rate', () => {
    const queries = [...panelQueries(), ...ruleQueries()];
    expect(queries.length).toBeGreaterThan(50);
    const problems = queries.flatMap(({ where, expr }) => {
      const { errors, metrics } = analyse(expr);
      return [...errors.map((error) => `${where}: ${error}`), ...(metrics.length === 0 ? [`${where}: names no metric`] : [])];
    });
    expect(problems).toEqual([]);
    const fixed = panelQueries().flatMap(({ where, expr }) => analyse(expr).fixedRanges.map((range) => `${where}: ${range}`));
    expect(fixed).toEqual([]);
  });

  it('finds a syntax error and a fixed rate range when there is one', () => {
    expect(analyse('sum(rate(x[5m])').errors).not.toEqual([]);
    expect(analyse('rate(x[5m])').fixedRanges).toEqual(['rate(x[5m]']);
    expect(analyse('sum by (le) (rate(x_bucket{a="$probe"}[$__rate_interval]))')).toMatchObject({ errors: [], metrics: ['x_bucket'], labels: ['le', 'a'], fixedRanges: [] });
  });

  it('gives every panel a unit and the variable datasource, and every dashboard its variables', () => {
    for (const query of panelQueries()) expect(query.unit, query.where).toBeTruthy();
    for (const spec of DASHBOARDS) {
      const dashboard = buildDashboard(spec);
      const variables = (dashboard.templating?.list ?? []).map((variable) => variable.name);
      expect(variables, spec.title).toEqual(spec.probeVariables ? ['datasource', 'environment', 'probe', 'location'] : ['datasource', 'environment']);
      const ids = (dashboard.panels ?? []).map((panel) => panel.id);
      expect(new Set(ids).size, `${spec.title}: panel ids`).toBe(ids.length);
      for (const panel of dashboard.panels ?? []) {
        if (panel.type !== 'row') expect((panel as { datasource?: { uid?: string } }).datasource?.uid, `${spec.title} / ${panel.title}`).toBe('${datasource}');
      }
    }
    expect(new Set(DASHBOARDS.map((spec) => spec.uid)).size).toBe(DASHBOARDS.length);
  });

  it('exports through the CLI files promtool accepts: rules and the scrape config', async () => {
    const { code, output } = await runVigil(['dashboards', 'export', temp]);
    expect(code, output).toBe(0);
    expect(listFiles(temp).sort()).toEqual([...exportFiles().keys()].sort());
    const rules = spawnSync('promtool', ['check', 'rules', path.join(temp, 'prometheus/rules/vigil.rules.yml')], { encoding: 'utf8' });
    expect(rules.status, rules.stdout + rules.stderr).toBe(0);
    expect(rules.stdout).toMatch(/SUCCESS: 13 rules found/);
    execFileSync('promtool', ['check', 'config', path.join(temp, 'prometheus/prometheus.yml')], { stdio: 'pipe' });
  });

  it('refuses an export without a directory, saying what to type', async () => {
    const { code, output } = await runVigil(['dashboards', 'export']);
    expect(code).toBe(2);
    expect(output).toContain('vigil dashboards export <dir>');
  });
});
