import { loadConfig } from '../config/index.ts';
import { migrate, openDb } from '../db/index.ts';
import { ROLES, type Role } from '../lifecycle/module.ts';
import { stopOnSignals } from '../lifecycle/signals.ts';
import { startVigil } from '../lifecycle/start.ts';
import { ALL_MIGRATIONS, MODULES } from '../modules.ts';
import { startTracing } from '../telemetry/tracing.ts';
import type { CliArgs, CliCommand, CliIo } from './command.ts';

function parseRoles(values: CliArgs['values']): Role[] {
  const raw = (values.role as string[] | undefined) ?? [];
  const roles = raw.flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
  for (const role of roles) {
    if (!ROLES.includes(role as Role)) throw new UsageError(`unknown role "${role}": choose from ${ROLES.join(', ')}`);
  }
  return roles as Role[];
}

export class UsageError extends Error {}

async function runUntilSignalled(roles: Role[], args: CliArgs, io: CliIo): Promise<number> {
  const config = await loadConfig(io.configPath, io.env);
  if (typeof args.values.port === 'string') {
    const port = Number(args.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got "${args.values.port}"`);
    config.server.port = port;
  }
  const tracing = startTracing({ env: io.env });
  const vigil = await startVigil({ config, roles, location: (args.values.location as string | undefined) ?? io.env.VIGIL_LOCATION ?? 'local' });
  return stopOnSignals(vigil, () => tracing.shutdown());
}

const serveOptions = {
  role: { type: 'string', multiple: true },
  location: { type: 'string' },
  port: { type: 'string' },
} as const;

export const coreCommands: CliCommand[] = [
  {
    name: 'start',
    summary: 'Run Vigil: every role in one process, or the roles named with --role',
    usage: `[--role ${ROLES.join('|')}]... [--location NAME] [--port N]`,
    options: serveOptions,
    run: (args, io) => runUntilSignalled(parseRoles(args.values), args, io),
  },
  {
    name: 'worker',
    summary: 'Run only the processing worker role (same as start --role worker)',
    usage: '[--port N]',
    options: { port: serveOptions.port },
    run: (args, io) => runUntilSignalled(['worker'], args, io),
  },
  {
    name: 'migrate',
    summary: 'Apply database migrations (start does this too) and exit',
    async run(_args, io) {
      const config = await loadConfig(io.configPath, io.env);
      const db = await openDb(config.database, 'vigil-migrate');
      try {
        const report = await migrate(db, ALL_MIGRATIONS);
        io.out(`${db.description}: ${report.applied.length} migration(s) applied${report.applied.length ? `: ${report.applied.join(', ')}` : ''}; ${report.alreadyApplied} already applied.`);
        return 0;
      } finally {
        await db.close();
      }
    },
  },
  {
    name: 'validate',
    summary: 'Check the configuration file and exit non-zero if it is invalid',
    async run(_args, io) {
      const config = await loadConfig(io.configPath, io.env);
      const problems = MODULES.flatMap((module) => module.validate?.(config) ?? []);
      if (problems.length > 0) {
        io.err(`${io.configPath} has ${problems.length} problem(s):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
        return 1;
      }
      io.out(`${io.configPath} is valid: ${config.probes.length} probe definition(s), database ${config.database.url ? 'PostgreSQL' : `embedded in ${config.database.dataDir}`}.`);
      return 0;
    },
  },
];
