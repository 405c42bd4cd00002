import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CliCommand } from '../core/cli/command.ts';
import type { VigilModule } from '../core/lifecycle/module.ts';
import { exportFiles } from './files.ts';

export { DASHBOARDS } from './boards/index.ts';
export { exportFiles, PROBE_TO_INSTANCE, scrapeConfig } from './files.ts';
export { RULE_GROUPS } from './rules.ts';

/** Writes every exported file under `dir`; returns the relative paths written. */
export async function writeExport(dir: string, files = exportFiles()): Promise<string[]> {
  for (const [relative, content] of files) {
    await mkdir(path.dirname(path.join(dir, relative)), { recursive: true });
    await writeFile(path.join(dir, relative), content);
  }
  return [...files.keys()];
}

const exportCommand: CliCommand = {
  name: 'dashboards export',
  summary: 'Write the Grafana dashboards and provisioning, a Prometheus scrape config and the Prometheus rules into a directory',
  usage: '<dir> [--prometheus-url URL] [--target HOST:PORT] [--environment NAME]',
  positionals: 1,
  options: { 'prometheus-url': { type: 'string' }, target: { type: 'string' }, environment: { type: 'string' } },
  async run(args, io) {
    const dir = args.positionals[0];
    if (!dir) {
      io.err('Name the directory to write into: vigil dashboards export <dir>');
      return 2;
    }
    const option = (name: string) => (typeof args.values[name] === 'string' ? (args.values[name] as string) : undefined);
    const files = exportFiles({
      ...(option('prometheus-url') ? { prometheusUrl: option('prometheus-url') } : {}),
      ...(option('target') ? { vigilTarget: option('target') } : {}),
      ...(option('environment') ? { environment: option('environment') } : {}),
    });
    const written = await writeExport(dir, files);
    for (const file of written) io.out(path.join(dir, file));
    return 0;
  },
};

/** Dashboards as code: no tables, no running parts, one CLI verb. */
export const dashboardsModule: VigilModule = {
  name: 'dashboards',
  migrations: [],
  setup: () => [],
  commands: [exportCommand],
};
