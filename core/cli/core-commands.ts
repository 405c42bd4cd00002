import type { ConfigLoader, CoreConfig } from '../config/index.ts';
import { migrate, openDb } from '../db/index.ts';
import { lockHolder } from '../db/lock.ts';
import { migrationsOf, rolesOf, type Role, type VigilModule } from '../lifecycle/module.ts';
import { stopOnSignals } from '../lifecycle/signals.ts';
import { startVigil } from '../lifecycle/start.ts';
import { startTracing } from '../telemetry/tracing.ts';
import { UsageError, type CliArgs, type CliCommand, type CliIo } from './command.ts';

/** What the composition root hands the CLI: the product's modules and the loader of its whole configuration. */
export interface Product {
  modules: readonly VigilModule[];
  config: ConfigLoader<CoreConfig>;
  /** The package's version, for --version and the OpenAPI document. */
  version?: string;
  /** Verbs of the product itself rather than of one module (e.g. "init"). */
  commands?: readonly CliCommand[];
}

function parseRoles(values: CliArgs['values'], known: readonly Role[]): Role[] {
  const raw = (values.role as string[] | undefined) ?? [];
  const roles = raw.flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
  for (const role of roles) {
    if (!known.includes(role)) throw new UsageError(`unknown role "${role}": choose from ${known.join(', ')}`);
  }
  return roles;
}

async function runUntilSignalled(product: Product, roles: Role[], args: CliArgs, io: CliIo): Promise<number> {
  const config = await io.loadConfig();
  if (typeof args.values.port === 'string') {
    const port = Number(args.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got "${args.values.port}"`);
    config.server.port = port;
  }
  const tracing = await startTracing({ env: io.env });
  const vigil = await startVigil({
    config,
    roles,
    modules: product.modules,
    ...(product.version ? { version: product.version } : {}),
    location: (args.values.location as string | undefined) ?? io.env.VIGIL_LOCATION ?? 'local',
  });
  return stopOnSignals(vigil, () => tracing.shutdown());
}

const serveOptions = {
  role: { type: 'string', multiple: true },
  location: { type: 'string' },
  port: { type: 'string' },
} as const;

/** The verbs core itself offers: start, worker, migrate, validate. */
export function coreCommands(product: Product): CliCommand[] {
  const roles = rolesOf(product.modules);
  const migrations = migrationsOf(product.modules);
  const commands: CliCommand[] = [
    {
      name: 'start',
      summary: 'Run Vigil: every role in one process, or the roles named with --role',
      usage: `[--role ${roles.join('|')}]... [--location NAME] [--port N]`,
      options: serveOptions,
      run: (args, io) => runUntilSignalled(product, parseRoles(args.values, roles), args, io),
    },
    {
      name: 'migrate',
      summary: 'Apply database migrations (start does this too) and exit',
      async run(_args, io) {
        const config = await io.loadConfig();
        const running = config.database.url ? undefined : lockHolder(config.database.dataDir);
        if (running) {
          io.out(`Vigil (process ${running.pid}) is running on ${config.database.dataDir} and applied its migrations when it started; stop it to apply another version's.`);
          return 0;
        }
        const db = await openDb(config.database, 'vigil-migrate');
        try {
          const report = await migrate(db, migrations);
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
        const config = await io.loadConfig();
        const problems = product.modules.flatMap((module) => module.validate?.(config) ?? []);
        if (problems.length > 0) {
          io.err(`${io.configPath} has ${problems.length} problem(s):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
          return 1;
        }
        const summaries = product.modules.flatMap((module) => module.describe?.(config) ?? []);
        io.out(`${io.configPath} is valid: ${[...summaries, `database ${config.database.url ? 'PostgreSQL' : `embedded in ${config.database.dataDir}`}`].join(', ')}.`);
        return 0;
      },
    },
  ];
  if (roles.includes('worker')) {
    commands.push({
      name: 'worker',
      summary: 'Run only the processing worker role (same as start --role worker)',
      usage: '[--port N]',
      options: { port: serveOptions.port },
      run: (args, io) => runUntilSignalled(product, ['worker'], args, io),
    });
  }
  return commands;
}
