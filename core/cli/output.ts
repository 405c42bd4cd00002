import type { CoreConfig } from '../config/schema.ts';
import type { AdminClient } from './client.ts';
import { UsageError, type CliArgs, type CliCommand, type CliIo } from './command.ts';

/** Columns aligned under a header, for people; the last column is never padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Prints `data` as JSON with --json, else the lines for people. */
export function print(io: CliIo, data: unknown, lines: () => readonly string[]): void {
  if (io.json) {
    io.out(JSON.stringify(data, null, 2));
    return;
  }
  for (const line of lines()) io.out(line);
}

export const iso = (ms: number | string | null | undefined): string => (ms === null || ms === undefined ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z'));
export const labelsText = (labels: Record<string, string>): string => Object.entries(labels).map(([name, value]) => `${name}=${value}`).join(',');

/** `--match service=api --match env=/prod|beta/` as { service: 'api', env: '/prod|beta/' }; a malformed pair is a usage error naming it. */
export function parseMatchOptions(items: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`--match "${item}" must look like label=value (or label=/regex/)`);
    result[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return result;
}

/** The command's first positional argument, or a UsageError that says what to give. */
export function firstPositional(args: CliArgs, whatToGive: string): string {
  const value = args.positionals[0];
  if (!value) throw new UsageError(whatToGive);
  return value;
}

/**
 * A verb that asks the admin API one thing and prints the answer: as JSON with --json, else as `lines(answer)` for
 * people. Most verbs are this; a verb with several actions or steps writes its own `run`.
 */
export function apiCommand<Answer, Config extends CoreConfig = CoreConfig>(
  verb: Omit<CliCommand<Config>, 'run'> & {
    call(api: AdminClient, args: CliArgs, io: CliIo<Config>): Promise<Answer>;
    lines(answer: Answer, args: CliArgs): readonly string[];
  },
): CliCommand<Config> {
  const { call, lines, ...command } = verb;
  return {
    ...command,
    async run(args, io) {
      const answer = await call(await io.connect(), args, io);
      print(io, answer, () => lines(answer, args));
      return 0;
    },
  };
}
