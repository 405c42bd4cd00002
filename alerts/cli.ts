import os from 'node:os';
import { systemClock } from '../core/clock.ts';
import type { CliArgs, CliCommand, CliIo } from '../core/cli/command.ts';
import { parseDuration } from '../core/config/duration.ts';
import { migrate, openDb, type Db } from '../core/db/index.ts';
import { ackIncident, addMaintenance, addSilence, AdminError, endMaintenance, expireSilence, listIncidents, listMaintenances, listSilences, resetIncident } from './admin.ts';
import { parseMatchers } from './matchers.ts';
import { alertsMigrations } from './migrations.ts';

async function withDb<T>(io: CliIo, fn: (db: Db) => Promise<T>): Promise<T> {
  const config = await io.loadConfig();
  const db = await openDb(config.database, 'vigil-alerts-cli');
  try {
    await migrate(db, alertsMigrations);
    return await fn(db);
  } finally {
    await db.close();
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const labelsText = (labels: Record<string, string>) => Object.entries(labels).map(([name, value]) => `${name}=${value}`).join(',');
const author = (args: CliArgs, io: CliIo) => (args.values.author as string | undefined) ?? io.env.USER ?? os.userInfo().username;

function timeOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Date.parse(String(value));
  if (Number.isNaN(parsed)) throw new AdminError(`--${name} must be an ISO date like 2026-03-01T22:00:00Z, got "${value}"`);
  return parsed;
}

/** --start (default now) and --end or --duration. */
function windowOptions(args: CliArgs, io: CliIo) {
  const now = systemClock.now();
  const startsAt = timeOption(args.values.start, 'start', now);
  const { end, duration } = args.values;
  if ((end === undefined) === (duration === undefined)) throw new AdminError('give exactly one of --end or --duration');
  let endsAt: number;
  try {
    endsAt = end !== undefined ? timeOption(end, 'end', now) : startsAt + parseDuration(String(duration));
  } catch (error) {
    throw new AdminError(`--duration: ${(error as Error).message}`);
  }
  let matchers: Record<string, string>;
  try {
    matchers = parseMatchers((args.values.match as string[] | undefined) ?? []);
  } catch (error) {
    throw new AdminError((error as Error).message);
  }
  return { matchers, startsAt, endsAt, author: author(args, io), comment: (args.values.comment as string | undefined) ?? '', force: Boolean(args.values.force) };
}

function idArg(args: CliArgs, what: string): number {
  const id = Number(args.positionals[0]);
  if (!Number.isInteger(id) || id <= 0) throw new AdminError(`give the ${what} id, e.g. 3 (see the list command)`);
  if (id > 2_147_483_647) throw new AdminError(`no ${what} #${args.positionals[0]}`, 404);
  return id;
}

/** Runs an admin action; its clear errors (bad input, unknown id) exit 2 with the message. */
const action = (fn: (args: CliArgs, io: CliIo) => Promise<void>) => async (args: CliArgs, io: CliIo) => {
  try {
    await fn(args, io);
    return 0;
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    io.err(`vigil: ${error.message}`);
    return 2;
  }
};

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

export const alertCommands: CliCommand[] = [
  {
    name: 'silence add',
    summary: 'Mute notifications whose labels match, for a time',
    usage: '--match label=value... (--duration 2h | --end ISO) [--start ISO] --comment TEXT [--author NAME] [--force]',
    options: windowFlags,
    run: action(async (args, io) => {
      const silence = await withDb(io, (db) => addSilence(db, windowOptions(args, io), systemClock.now()));
      io.out(`silence #${silence.id}: ${labelsText(silence.matchers)} from ${iso(silence.startsAt)} to ${iso(silence.endsAt)}`);
    }),
  },
  {
    name: 'silence list',
    summary: 'List active and future silences (--all: expired too)',
    options: { all: { type: 'boolean' } },
    run: action(async (args, io) => {
      const silences = await withDb(io, (db) => listSilences(db, systemClock.now(), { all: Boolean(args.values.all) }));
      if (silences.length === 0) io.out('no silences');
      for (const s of silences) io.out(`#${s.id}  ${labelsText(s.matchers)}  ${iso(s.startsAt)} → ${iso(s.endsAt)}  by ${s.author}: ${s.comment}`);
    }),
  },
  {
    name: 'silence expire',
    summary: 'End a silence now',
    usage: '<id> [--author NAME]',
    positionals: 1,
    options: { author: { type: 'string' } },
    run: action(async (args, io) => {
      const silence = await withDb(io, (db) => expireSilence(db, idArg(args, 'silence'), author(args, io), systemClock.now()));
      io.out(`silence #${silence.id} expired at ${iso(silence.endsAt)}`);
    }),
  },
  {
    name: 'maintenance add',
    summary: 'Declare a maintenance window: mutes matching alerts and holds restart hooks',
    usage: '--title TEXT --match label=value... (--duration 2h | --end ISO) [--start ISO] [--comment TEXT] [--author NAME]',
    options: { ...windowFlags, title: { type: 'string' } },
    run: action(async (args, io) => {
      const title = (args.values.title as string | undefined) ?? '';
      const maintenance = await withDb(io, (db) => addMaintenance(db, { ...windowOptions(args, io), title }, systemClock.now()));
      io.out(`maintenance #${maintenance.id} "${maintenance.title}": ${labelsText(maintenance.matchers)} from ${iso(maintenance.startsAt)} to ${iso(maintenance.endsAt)}`);
    }),
  },
  {
    name: 'maintenance list',
    summary: 'List maintenance windows from now on (--from/--to ISO for another range)',
    options: { from: { type: 'string' }, to: { type: 'string' } },
    run: action(async (args, io) => {
      const from = timeOption(args.values.from, 'from', systemClock.now());
      const to = timeOption(args.values.to, 'to', from + 365 * 86_400_000);
      const maintenances = await withDb(io, (db) => listMaintenances(db, { from, to }));
      if (maintenances.length === 0) io.out('no maintenance windows');
      for (const m of maintenances) io.out(`#${m.id}  ${m.title}  ${labelsText(m.matchers)}  ${iso(m.startsAt)} → ${iso(m.endsAt)}  by ${m.author}`);
    }),
  },
  {
    name: 'maintenance end',
    summary: 'End a maintenance window now',
    usage: '<id> [--author NAME]',
    positionals: 1,
    options: { author: { type: 'string' } },
    run: action(async (args, io) => {
      const maintenance = await withDb(io, (db) => endMaintenance(db, idArg(args, 'maintenance'), author(args, io), systemClock.now()));
      io.out(`maintenance #${maintenance.id} ended at ${iso(maintenance.endsAt)}`);
    }),
  },
  {
    name: 'incident list',
    summary: 'List open incidents (--all: resolved ones too)',
    options: { all: { type: 'boolean' } },
    run: action(async (args, io) => {
      const incidents = await withDb(io, (db) => listIncidents(db, { all: Boolean(args.values.all) }));
      if (incidents.length === 0) io.out('no incidents');
      for (const i of incidents) io.out(`#${i.id}  ${i.state}${i.flapping ? ' (flapping)' : ''}${i.ackedBy ? ` acked by ${i.ackedBy}` : ''}  ${i.rule}  ${labelsText(i.labels)}  since ${iso(i.startedAt)}: ${i.summary}`);
    }),
  },
  {
    name: 'incident ack',
    summary: 'Acknowledge an incident: no more reminders for it',
    usage: '<id> [--author NAME]',
    positionals: 1,
    options: { author: { type: 'string' } },
    run: action(async (args, io) => {
      const incident = await withDb(io, (db) => ackIncident(db, idArg(args, 'incident'), author(args, io), systemClock.now()));
      io.out(`incident #${incident.id} acknowledged by ${incident.ackedBy}`);
    }),
  },
  {
    name: 'incident reset',
    summary: 'After EMERGENCY: let the service\'s restart hooks try again',
    usage: '<id> [--author NAME]',
    positionals: 1,
    options: { author: { type: 'string' } },
    run: action(async (args, io) => {
      const incident = await withDb(io, (db) => resetIncident(db, idArg(args, 'incident'), author(args, io), systemClock.now()));
      io.out(`incident #${incident.id}: hook budget for ${incident.labels.service} reset; a new attempt is queued`);
    }),
  },
];
