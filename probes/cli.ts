import type { CliArgs, CliCommand } from '../core/cli/command.ts';
import { UsageError } from '../core/cli/command.ts';
import { apiCommand, firstPositional, iso, labelsText, parseMatchOptions, print, table } from '../core/cli/output.ts';
import type { ProbeSummary } from './api.ts';
import type { ProbeResult } from './types.ts';

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

const lastText = (last: ProbeResult | null) => (last ? `${last.success ? 'ok' : 'failed'} ${iso(last.startedAt)} at ${last.location}${last.reason ? `: ${last.reason}` : ''}` : 'never run');

const probeName = (args: CliArgs) => firstPositional(args, 'name the probe, e.g. `vigil probe results api-ready` (see `vigil probe list`)');

const testCommand: CliCommand = {
  name: 'probe test',
  summary: 'Run probes now (in the running Vigil when one runs) and print results, timings and reasons; exit 1 if one fails. Not recorded',
  usage: '(<probe-name> | --all | --match label=value...) [--location NAME]',
  positionals: 1,
  options: { location: { type: 'string' }, all: { type: 'boolean' }, match: { type: 'string', multiple: true } },
  async run(args, io) {
    const name = args.positionals[0];
    const match = args.values.match ? parseMatchOptions(args.values.match as string[]) : undefined;
    if (!name && !args.values.all && !match) throw new UsageError('name the probe to run, or give --all or --match label=value (see `vigil probe list`)');
    const location = (args.values.location as string | undefined) ?? io.env.VIGIL_LOCATION;
    const { results } = await (await io.connect()).post<{ results: ProbeResult[] }>('/probes/test', {
      ...(name ? { probes: [name] } : {}),
      ...(args.values.all ? { all: true } : {}),
      ...(match ? { match } : {}),
      ...(location ? { location } : {}),
    });
    print(io, results, () => results.flatMap(formatResult));
    return results.every((result) => result.success) ? 0 : 1;
  },
};

const listCommand: CliCommand = {
  name: 'probe list',
  summary: 'List every configured probe with its schedule, state and last result',
  async run(_args, io) {
    const listing = await (await io.connect()).get<{ probes: ProbeSummary[]; problems: string[]; warnings: string[] }>('/probes');
    print(io, listing, () => [
      ...(listing.probes.length
        ? table(
            ['NAME', 'KIND', 'SCHEDULE', 'STATE', 'LAST RESULT', 'LABELS'],
            listing.probes.map((probe) => [probe.name, probe.kind, probe.schedule, probe.state, lastText(probe.lastResult), labelsText(probe.labels)]),
          )
        : ['No valid probes in the configuration.']),
      ...listing.problems.map((problem) => `INVALID ${problem}`),
      ...listing.warnings.map((warning) => `WARNING ${warning}`),
    ]);
    return 0;
  },
};

const resultsCommand = apiCommand({
  name: 'probe results',
  summary: 'Stored results of a probe, newest first (--failures, --since/--until ISO, --limit N, --cursor for the next page)',
  usage: '<probe-name> [--failures | --successes] [--since ISO] [--until ISO] [--limit N] [--cursor C]',
  positionals: 1,
  options: { failures: { type: 'boolean' }, successes: { type: 'boolean' }, since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
  call: (api, args) =>
    api.get<{ results: ProbeResult[]; nextCursor: string | null }>(`/probes/${encodeURIComponent(probeName(args))}/results`, {
      outcome: args.values.failures ? 'failure' : args.values.successes ? 'success' : undefined,
      from: args.values.since as string | undefined,
      to: args.values.until as string | undefined,
      limit: args.values.limit as string | undefined,
      cursor: args.values.cursor as string | undefined,
    }),
  lines: (page) => [
    ...(page.results.length
      ? table(
          ['STARTED', 'LOCATION', 'OUTCOME', 'MS', 'REASON'],
          page.results.map((result) => [iso(result.startedAt), result.location, result.success ? 'ok' : 'failed', result.durationMs.toFixed(0), result.reason ?? '']),
        )
      : ['no results']),
    ...(page.nextCursor ? [`more: --cursor ${page.nextCursor}`] : []),
  ],
});

const percent = (ratio: number | null) => (ratio === null ? '-' : `${(ratio * 100).toFixed(2)}%`);

const uptimeCommand = apiCommand({
  name: 'probe uptime',
  summary: 'Uptime of a probe per day (or --hourly) over the last --days N (default 30, at most 90)',
  usage: '<probe-name> [--days N] [--hourly]',
  positionals: 1,
  options: { days: { type: 'string' }, hourly: { type: 'boolean' } },
  call: (api, args) =>
    api.get<{ uptimeRatio: number | null; buckets: Array<{ start: string; checks: number; uptimeRatio: number | null }> }>(`/probes/${encodeURIComponent(probeName(args))}/uptime`, {
      resolution: args.values.hourly ? 'hourly' : 'daily',
      days: (args.values.days as string | undefined) ?? '30',
    }),
  lines: (uptime, args) => [
    ...table([args.values.hourly ? 'HOUR' : 'DAY', 'CHECKS', 'UPTIME'], uptime.buckets.map((bucket) => [args.values.hourly ? bucket.start : bucket.start.slice(0, 10), String(bucket.checks), percent(bucket.uptimeRatio)])),
    `overall: ${percent(uptime.uptimeRatio)}`,
  ],
});

export const probeCommands: readonly CliCommand[] = [testCommand, listCommand, resultsCommand, uptimeCommand];
