import path from 'node:path';
import type { CliCommand } from '../core/cli/command.ts';
import type { VigilModule } from '../core/lifecycle/module.ts';

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
    // The Grafana SDK takes most of a second to load, so only this verb loads it, not every CLI start.
    const { exportFiles, writeExport } = await import('./files.ts');
    const files = exportFiles({
      ...(option('prometheus-url') ? { prometheusUrl: option('prometheus-url') } : {}),
      ...(option('target') ? { vigilTarget: option('target') } : {}),
      ...(option('environment') ? { environment: option('environment') } : {}),
    });
    for (const file of await writeExport(dir, files)) io.out(path.join(dir, file));
    return 0;
  },
};

/** Dashboards as code: no settings, no tables, no running parts; one CLI verb. */
export const dashboardsModule: VigilModule = {
  name: 'dashboards',
  migrations: [],
  setup: () => [],
  commands: [exportCommand],
};
