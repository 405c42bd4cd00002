import { UsageError, type CliIo } from './command.ts';

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
