import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, defaultConfigPath } from '../config/index.ts';
import { DataDirLockedError } from '../db/index.ts';
import { ApiError, connect, type AdminClient } from './client.ts';
import { UsageError, type CliCommand, type CliIo } from './command.ts';
import { coreCommands, type Product } from './core-commands.ts';

function help(COMMANDS: readonly CliCommand[], group?: string): string {
  const shown = group ? COMMANDS.filter((command) => command.name.split(' ')[0] === group) : COMMANDS;
  const width = Math.max(...shown.map((command) => command.name.length));
  return [
    `Usage: vigil ${group ?? '<command>'}${group ? ' <verb>' : ''} [options]`,
    '',
    'Commands:',
    ...shown.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Options for every command:',
    '  --config FILE  configuration file (default: $VIGIL_CONFIG or ./vigil.config.ts)',
    '  --url URL      the Vigil to talk to (default: $VIGIL_URL, else the one running from the data directory;',
    '                 its token comes from $VIGIL_ADMIN_TOKEN)',
    '  --json         print results as JSON',
    '  --help         show help for the command',
    '',
    'Run `vigil <command> --help` for a command\'s own options, `vigil --version` for the version.',
  ].join('\n');
}

function commandHelp(command: CliCommand): string {
  const lines = [`Usage: vigil ${command.name}${command.usage ? ` ${command.usage}` : ''} [--config FILE] [--url URL] [--json]`, '', command.summary];
  const options = Object.entries(command.options ?? {});
  if (options.length) {
    lines.push('', 'Options:');
    for (const [name, option] of options) lines.push(`  --${name}${option.type === 'string' ? ' VALUE' : ''}${option.multiple ? ' (repeatable)' : ''}`);
  }
  return lines.join('\n');
}

/** Runs one `vigil` command line against the product the composition root assembled; resolves with the exit code. */
export async function runCli(product: Product, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const COMMANDS: CliCommand[] = [...coreCommands(product), ...(product.commands ?? []), ...product.modules.flatMap((module) => module.commands ?? [])];
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    out(help(COMMANDS));
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    out(`vigil ${product.version ?? 'unknown version'}`);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === argv.slice(0, 2).join(' ')) ?? COMMANDS.find((candidate) => candidate.name === argv[0]);
  const group = COMMANDS.some((candidate) => candidate.name.startsWith(`${argv[0]} `)) ? argv[0] : undefined;
  if (!command && group) {
    // "vigil silence" or "vigil silence --help": the group's verbs.
    const asked = argv.length === 1 || argv[1] === '--help' || argv[1] === '-h';
    if (!asked) err(`vigil: unknown command "${argv.slice(0, 2).join(' ')}".`);
    (asked ? out : err)(help(COMMANDS, group));
    return asked && argv.length > 1 ? 0 : 2;
  }
  if (!command) {
    err(`vigil: unknown command "${argv.slice(0, 2).join(' ')}". Run \`vigil --help\` for the list.`);
    return 2;
  }
  const rest = argv.slice(command.name.split(' ').length);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, config: { type: 'string' }, url: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (!parsed.values.help && parsed.positionals.length > (command.positionals ?? 0)) {
      throw new UsageError(`unexpected argument "${parsed.positionals[command.positionals ?? 0]}"`);
    }
  } catch (error) {
    err(`vigil ${command.name}: ${(error as Error).message.replace(/\. To specify a positional.*$/s, '')}`);
    err(`Run \`vigil ${command.name} --help\` for usage.`);
    return 2;
  }
  if (parsed.values.help) {
    out(commandHelp(command));
    return 0;
  }
  const configValue = parsed.values.config;
  const configPath = typeof configValue === 'string' ? path.resolve(configValue) : defaultConfigPath(env);
  const loadConfig = () => product.config.load(configPath, env);
  let client: Promise<AdminClient> | undefined;
  const io: CliIo = {
    out,
    err,
    env,
    configPath,
    loadConfig,
    json: parsed.values.json === true,
    connect: () =>
      (client ??= connect({ env, loadConfig, modules: product.modules, ...(typeof parsed.values.url === 'string' ? { url: parsed.values.url } : {}), ...(product.version ? { version: product.version } : {}) })),
  };
  try {
    return await command.run({ values: parsed.values, positionals: parsed.positionals }, io);
  } catch (error) {
    if (error instanceof UsageError) {
      err(`vigil ${command.name}: ${error.message}`);
      return 2;
    }
    if (error instanceof ApiError) {
      err(`vigil ${command.name}: ${error.message}`);
      return error.status < 500 ? 2 : 1;
    }
    if (error instanceof ConfigError || error instanceof DataDirLockedError) {
      err(`vigil ${command.name}: ${error.message}`);
      return 1;
    }
    err(`vigil ${command.name} failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await client?.then((opened) => opened.close(), () => {});
  }
}

