import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, defaultConfigPath } from '../config/index.ts';
import { DataDirLockedError } from '../db/index.ts';
import { UsageError, type CliCommand, type CliIo } from './command.ts';
import { coreCommands, type Product } from './core-commands.ts';

function help(COMMANDS: readonly CliCommand[]): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    'Usage: vigil <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Options for every command:',
    '  --config FILE  configuration file (default: $VIGIL_CONFIG or ./vigil.config.ts)',
    '  --help         show help for the command',
    '',
    'Run `vigil <command> --help` for a command\'s own options.',
  ].join('\n');
}

function commandHelp(command: CliCommand): string {
  const lines = [`Usage: vigil ${command.name}${command.usage ? ` ${command.usage}` : ''} [--config FILE]`, '', command.summary];
  const options = Object.entries(command.options ?? {});
  if (options.length) {
    lines.push('', 'Options:');
    for (const [name, option] of options) lines.push(`  --${name}${option.type === 'string' ? ' VALUE' : ''}${option.multiple ? ' (repeatable)' : ''}`);
  }
  return lines.join('\n');
}

/** Runs one `vigil` command line against the product the composition root assembled; resolves with the exit code. */
export async function runCli(product: Product, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const COMMANDS: CliCommand[] = [...coreCommands(product), ...product.modules.flatMap((module) => module.commands ?? [])];
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    out(help(COMMANDS));
    return argv.length === 0 ? 2 : 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === argv.slice(0, 2).join(' ')) ?? COMMANDS.find((candidate) => candidate.name === argv[0]);
  if (!command) {
    err(`vigil: unknown command "${argv.slice(0, 2).join(' ')}". Run \`vigil --help\` for the list.`);
    return 2;
  }
  const rest = argv.slice(command.name.split(' ').length);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
  const io: CliIo = { out, err, env, configPath, loadConfig: () => product.config.load(configPath, env) };
  try {
    return await command.run({ values: parsed.values, positionals: parsed.positionals }, io);
  } catch (error) {
    if (error instanceof UsageError) {
      err(`vigil ${command.name}: ${error.message}`);
      return 2;
    }
    if (error instanceof ConfigError || error instanceof DataDirLockedError) {
      err(`vigil ${command.name}: ${error.message}`);
      return 1;
    }
    err(`vigil ${command.name} failed: ${(error as Error).message}`);
    return 1;
  }
}

