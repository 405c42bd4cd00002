import { systemClock } from '../core/clock.ts';
import type { CliCommand, CliIo } from '../core/cli/command.ts';
import { formatDuration } from '../core/config/duration.ts';
import { DataDirLockedError, migrate, openDb, type Db } from '../core/db/index.ts';
import { startQueue, type Queue } from '../core/queue/index.ts';
import { createLogger } from '../core/telemetry/logger.ts';
import { createRegistry } from '../core/telemetry/metrics.ts';
import type { ProbesHostConfig } from './config.ts';
import { describeSchedule } from './define.ts';
import { findProbe, runProbeNow } from './run-now.ts';
import { loadProbes } from './loader.ts';
import { probesMigrations } from './migrations.ts';
import { runProbe } from './runner.ts';
import { getProbeStatuses } from './results.ts';
import type { ProbeResult } from './types.ts';

/** The store when this process can open it; an embedded store held by a running Vigil cannot be, which is reported, not fatal. */
async function openStore(config: ProbesHostConfig, io: CliIo<ProbesHostConfig>): Promise<Db | undefined> {
  try {
    const db = await openDb(config.database, 'vigil-probe-cli');
    await migrate(db, probesMigrations);
    return db;
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    io.err(`note: ${error.message.split('\n')[0]}; results are not read or recorded`);
    return undefined;
  }
}

export function formatResult(result: ProbeResult): string[] {
  const lines = [`${result.success ? 'UP  ' : 'DOWN'} ${result.probe} (${result.kind}) at ${result.location}: ${result.success ? 'success' : 'failure'} in ${result.durationMs.toFixed(1)} ms`];
  if (result.reason) lines.push(`  reason:  ${result.reason}`);
  if (result.timings && Object.keys(result.timings).length > 0) {
    lines.push(`  timings: ${Object.entries(result.timings).map(([phase, ms]) => `${phase} ${ms.toFixed(1)} ms`).join(' · ')}`);
  }
  if (result.details && Object.keys(result.details).length > 0) lines.push(`  details: ${JSON.stringify(result.details)}`);
  if (result.traceId) lines.push(`  trace:   ${result.traceId}`);
  return lines;
}

const testCommand: CliCommand<ProbesHostConfig> = {
  name: 'probe test',
  summary: 'Run one probe from the configuration now and print its result, timings and reason (exit 1 on failure)',
  usage: '<probe-name> [--location NAME]',
  positionals: 1,
  options: { location: { type: 'string' } },
  async run(args, io) {
    const name = args.positionals[0];
    if (!name) {
      io.err('vigil probe test: name the probe to run, e.g. `vigil probe test api-ready` (see `vigil probe list`)');
      return 2;
    }
    const config = await io.loadConfig();
    const loaded = findProbe(config.probes, name);
    const logger = createLogger({ level: 'silent' });
    const location = (args.values.location as string | undefined) ?? io.env.VIGIL_LOCATION ?? 'local';
    const publicUrl = config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`;
    // With a public listener of its own, the processing API stays on the internal one.
    const internal = config.server.internal;
    const apiUrl = config.server.public ? `http://${internal?.host ?? config.server.host}:${internal?.port ?? config.server.port}` : undefined;
    const db = await openStore(config, io);
    let queue: Queue | undefined;
    try {
      if (db && loaded.kind.uses?.includes('queue')) queue = await startQueue(db, logger);
      const context = { config, clock: systemClock, logger, registry: createRegistry(), location, publicUrl, ...(apiUrl ? { apiUrl } : {}) };
      const result = db
        ? await runProbeNow({ ...context, db, queue: queue as Queue }, name)
        : (await runProbe(loaded.definition, loaded.kind, { ...context, db: undefined as unknown as Db })).result;
      for (const line of formatResult(result)) io.out(line);
      return result.success ? 0 : 1;
    } finally {
      await queue?.stop({ graceful: false, close: true, timeout: 1000 }).catch(() => {});
      await db?.close();
    }
  },
};

const listCommand: CliCommand<ProbesHostConfig> = {
  name: 'probe list',
  summary: 'List every probe in the configuration with its schedule, labels, state and last result',
  async run(_args, io) {
    const config = await io.loadConfig();
    const { probes, problems, warnings } = loadProbes(config.probes);
    const db = await openStore(config, io);
    const statuses = new Map((db ? await getProbeStatuses(db).finally(() => db.close()) : []).map((status) => [status.probe, status]));
    if (probes.length === 0) io.out('No valid probes in the configuration.');
    for (const { definition } of probes) {
      const status = statuses.get(definition.name);
      const labels = Object.entries(definition.labels).map(([key, value]) => `${key}=${value}`).join(',');
      const last = status?.lastResult;
      io.out(
        [
          definition.name.padEnd(24),
          definition.kind.padEnd(10),
          describeSchedule(definition.schedule).padEnd(16),
          `timeout ${formatDuration(definition.timeout)}`.padEnd(14),
          (status?.state ?? 'unknown').padEnd(8),
          last ? `${last.success ? 'ok' : 'failed'} ${new Date(last.startedAt).toISOString()} at ${last.location}${last.reason ? `: ${last.reason}` : ''}` : 'never run',
          labels ? ` [${labels}]` : '',
        ].join(' '),
      );
    }
    for (const problem of problems) io.out(`INVALID ${problem}`);
    for (const warning of warnings) io.out(`WARNING ${warning}`);
    return 0;
  },
};

export const probeCommands: readonly CliCommand<ProbesHostConfig>[] = [testCommand, listCommand];
