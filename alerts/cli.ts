import os from 'node:os';
import type { CliArgs, CliCommand, CliIo } from '../core/cli/command.ts';
import { apiCommand, iso, labelsText, parseMatchOptions, table } from '../core/cli/output.ts';
import { UsageError } from '../core/cli/command.ts';
import type { Silence } from './admin.ts';
import type { Maintenance } from './store.ts';
import type { Incident } from './types.ts';

// Every verb goes through the admin API of the running Vigil (or, when none runs, the same API served from the store).

const author = (args: CliArgs, io: CliIo) => (args.values.author as string | undefined) ?? io.env.USER ?? os.userInfo().username;

/** --match, --start, --end or --duration, --comment, --author as the API's window body; the API checks the values. */
function windowBody(args: CliArgs, io: CliIo) {
  const { start, end, duration } = args.values;
  if ((end === undefined) === (duration === undefined)) throw new UsageError('give exactly one of --end or --duration');
  const matchers = parseMatchOptions((args.values.match as string[] | undefined) ?? []);
  if (Object.keys(matchers).length === 0) throw new UsageError('give at least one --match, like --match service=api');
  return {
    matchers,
    ...(start !== undefined ? { startsAt: String(start) } : {}),
    ...(end !== undefined ? { endsAt: String(end) } : { duration: String(duration) }),
    author: author(args, io),
    comment: (args.values.comment as string | undefined) ?? '',
    ...(args.values.force ? { force: true } : {}),
  };
}

function idArg(args: CliArgs, what: string): number {
  const id = Number(args.positionals[0]);
  if (!Number.isInteger(id) || id <= 0) throw new UsageError(`give the ${what} id, e.g. 3 (see the list command)`);
  return id;
}

/** A verb on one object, by someone: `silence expire 3`, `incident ack 7`. The answer's object is printed as one line. */
function authoredAction<T>(verb: { name: string; summary: string; noun: 'silence' | 'maintenance' | 'incident'; path: (id: number) => string; line: (object: T) => string }): CliCommand {
  return apiCommand({
    name: verb.name,
    summary: verb.summary,
    usage: '<id> [--author NAME]',
    positionals: 1,
    options: { author: { type: 'string' } },
    call: async (api, args, io) => (await api.post<Record<string, T>>(verb.path(idArg(args, verb.noun)), { author: author(args, io) }))[verb.noun] as T,
    lines: (object) => [verb.line(object)],
  });
}

const windowFlags = {
  match: { type: 'string', multiple: true },
  start: { type: 'string' },
  end: { type: 'string' },
  duration: { type: 'string' },
  author: { type: 'string' },
  comment: { type: 'string' },
  /** Accept matchers that also match alerts without their labels (mute nearly everything on purpose). */
  force: { type: 'boolean' },
} as const;

const silenceRows = (silences: readonly Silence[]) =>
  table(['ID', 'MATCHERS', 'STARTS', 'ENDS', 'AUTHOR', 'COMMENT'], silences.map((s) => [`#${s.id}`, labelsText(s.matchers), iso(s.startsAt), iso(s.endsAt), s.author, s.comment]));
const maintenanceRows = (maintenances: readonly Maintenance[]) =>
  table(['ID', 'TITLE', 'MATCHERS', 'STARTS', 'ENDS', 'AUTHOR'], maintenances.map((m) => [`#${m.id}`, m.title, labelsText(m.matchers), iso(m.startsAt), iso(m.endsAt), m.author]));

export const alertCommands: CliCommand[] = [
  apiCommand({
    name: 'silence add',
    summary: 'Mute notifications whose labels match, for a time',
    usage: '--match label=value... (--duration 2h | --end ISO) [--start ISO] --comment TEXT [--author NAME] [--force]',
    options: windowFlags,
    call: async (api, args, io) => (await api.post<{ silence: Silence }>('/silences', windowBody(args, io))).silence,
    lines: (silence) => [`silence #${silence.id}: ${labelsText(silence.matchers)} from ${iso(silence.startsAt)} to ${iso(silence.endsAt)}`],
  }),

  apiCommand({
    name: 'silence list',
    summary: 'List active and future silences (--all: expired too)',
    options: { all: { type: 'boolean' } },
    call: async (api, args) => (await api.get<{ silences: Silence[] }>('/silences', { all: args.values.all === true || undefined })).silences,
    lines: (silences) => (silences.length ? silenceRows(silences) : ['no silences']),
  }),

  authoredAction<Silence>({ name: 'silence expire', summary: 'End a silence now', noun: 'silence', path: (id) => `/silences/${id}/expire`, line: (silence) => `silence #${silence.id} expired at ${iso(silence.endsAt)}` }),

  apiCommand({
    name: 'maintenance add',
    summary: 'Declare a maintenance window: mutes matching alerts and holds restart hooks',
    usage: '--title TEXT --match label=value... (--duration 2h | --end ISO) [--start ISO] [--comment TEXT] [--author NAME]',
    options: { ...windowFlags, title: { type: 'string' } },
    call: async (api, args, io) => (await api.post<{ maintenance: Maintenance }>('/maintenances', { ...windowBody(args, io), title: (args.values.title as string | undefined) ?? '' })).maintenance,
    lines: (maintenance) => [`maintenance #${maintenance.id} "${maintenance.title}": ${labelsText(maintenance.matchers)} from ${iso(maintenance.startsAt)} to ${iso(maintenance.endsAt)}`],
  }),

  apiCommand({
    name: 'maintenance list',
    summary: 'List maintenance windows from now on (--from/--to ISO for another range)',
    options: { from: { type: 'string' }, to: { type: 'string' } },
    async call(api, args) {
      const from = (args.values.from as string | undefined) ?? new Date().toISOString();
      const to = (args.values.to as string | undefined) ?? new Date(Date.parse(from) + 365 * 86_400_000).toISOString();
      return (await api.get<{ maintenances: Maintenance[] }>('/maintenances', { from, to })).maintenances;
    },
    lines: (maintenances) => (maintenances.length ? maintenanceRows(maintenances) : ['no maintenance windows']),
  }),

  authoredAction<Maintenance>({ name: 'maintenance end', summary: 'End a maintenance window now', noun: 'maintenance', path: (id) => `/maintenances/${id}/end`, line: (maintenance) => `maintenance #${maintenance.id} ended at ${iso(maintenance.endsAt)}` }),

  apiCommand({
    name: 'incident list',
    summary: 'List open incidents (--state STATE for one state, --all: resolved ones too)',
    options: { all: { type: 'boolean' }, state: { type: 'string' }, limit: { type: 'string' } },
    call: async (api, args) =>
      (await api.get<{ incidents: Incident[] }>('/incidents', { state: (args.values.state as string | undefined) ?? (args.values.all ? undefined : 'open'), limit: args.values.limit as string | undefined })).incidents,
    lines: (incidents) =>
      incidents.length
        ? table(
            ['ID', 'STATE', 'RULE', 'LABELS', 'SINCE', 'SUMMARY'],
            incidents.map((i) => [`#${i.id}`, `${i.state}${i.flapping ? ' (flapping)' : ''}${i.ackedBy ? ` acked by ${i.ackedBy}` : ''}`, i.rule, labelsText(i.labels), iso(i.startedAt), i.summary]),
          )
        : ['no incidents'],
  }),

  authoredAction<Incident>({ name: 'incident ack', summary: 'Acknowledge an incident: no more reminders for it', noun: 'incident', path: (id) => `/incidents/${id}/ack`, line: (incident) => `incident #${incident.id} acknowledged by ${incident.ackedBy}` }),

  authoredAction<Incident>({
    name: 'incident reset',
    summary: "After EMERGENCY: let the service's restart hooks try again",
    noun: 'incident',
    path: (id) => `/incidents/${id}/reset`,
    line: (incident) => `incident #${incident.id}: hook budget for ${incident.labels.service} reset; a new attempt is queued`,
  }),

];
