import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { alertsModule } from '../alerts/index.ts';
import { systemClock } from '../core/clock.ts';
import { UsageError, type CliArgs, type CliCommand, type CliIo } from '../core/cli/command.ts';
import { iso, print } from '../core/cli/output.ts';
import type { Banner, BannerOverride } from './banner.ts';
import { migrate, openDb } from '../core/db/index.ts';
import { probesModule } from '../probes/index.ts';
import { statusAssets } from './assets.ts';
import type { StatusPageHostConfig } from './config.ts';
import { writeExport } from './export.ts';
import { statusPageMigrations } from './migrations.ts';
import { gatherModel } from './model.ts';
import { renderSite } from './site.ts';

/** Admin verbs talk to the running Vigil's admin API (--url or VIGIL_URL, VIGIL_ADMIN_TOKEN), like amtool. */
async function adminCall(args: CliArgs, io: CliIo<StatusPageHostConfig>, method: string, route: string, body?: unknown): Promise<Record<string, unknown>> {
  const config = await io.loadConfig();
  const base = (args.values.url as string | undefined) ?? io.env.VIGIL_URL ?? config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`;
  const token = io.env.VIGIL_ADMIN_TOKEN ?? config.server.adminToken?.reveal();
  if (!token) throw new UsageError('no admin token: set VIGIL_ADMIN_TOKEN (or server.adminToken)');
  let response: Response;
  try {
    response = await fetch(`${base.replace(/\/$/, '')}/admin/api/v1/status${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new Error(`cannot reach Vigil at ${base} (${(error as Error).message}); is it running? (--url or VIGIL_URL)`, { cause: error });
  }
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown> & { error?: { message?: string } };
  if (!response.ok) throw new UsageError(answer.error?.message ?? `Vigil answered HTTP ${response.status}`);
  return answer;
}

function componentStatuses(values: unknown): Record<string, string> | undefined {
  const items = (values as string[] | undefined) ?? [];
  if (items.length === 0) return undefined;
  return Object.fromEntries(
    items.map((item) => {
      const [id, status = 'major_outage'] = item.split('=');
      return [id!.trim(), status.trim()];
    }),
  );
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const defined = (object: Record<string, unknown>) => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));

interface IncidentAnswer {
  id: number;
  name: string;
  status: string;
  impact: string;
}

const incidentLine = (incident: IncidentAnswer) => `#${incident.id}  ${incident.status}  ${incident.impact}  ${incident.name}`;

export const statusCommands: CliCommand<StatusPageHostConfig>[] = [
  {
    name: 'status incident',
    summary: 'Public incidents: open, update, resolve, list (through the running Vigil)',
    usage: 'open --title TEXT --body TEXT [--component ID=STATUS]... [--status S] [--impact I] | update <id> --body TEXT [--status S] [--component ID=STATUS]... | resolve <id> [--body TEXT] | list',
    positionals: 2,
    options: {
      title: { type: 'string' },
      body: { type: 'string' },
      status: { type: 'string' },
      impact: { type: 'string' },
      postmortem: { type: 'string' },
      component: { type: 'string', multiple: true },
      url: { type: 'string' },
    },
    async run(args, io) {
      const [action, rawId] = args.positionals;
      const id = Number(rawId);
      const needId = () => {
        if (!Number.isInteger(id) || id <= 0) throw new UsageError(`give the incident id, e.g. "vigil status incident ${action} 3"`);
        return id;
      };
      const components = componentStatuses(args.values.component);
      let answer: Record<string, unknown>;
      switch (action) {
        case 'open':
          answer = await adminCall(args, io, 'POST', '/incidents', defined({ name: text(args.values.title), body: text(args.values.body), status: text(args.values.status), impact: text(args.values.impact), components }));
          break;
        case 'update':
          answer = await adminCall(args, io, 'POST', `/incidents/${needId()}/updates`, defined({ body: text(args.values.body), status: text(args.values.status), impact: text(args.values.impact), postmortem: text(args.values.postmortem), components }));
          break;
        case 'resolve':
          answer = await adminCall(args, io, 'POST', `/incidents/${needId()}/resolve`, defined({ body: text(args.values.body) }));
          break;
        case 'list': {
          const { incidents } = (await adminCall(args, io, 'GET', '/incidents')) as { incidents: IncidentAnswer[] };
          if (incidents.length === 0) io.out('no public incidents in the last 90 days');
          for (const incident of incidents) io.out(incidentLine(incident));
          return 0;
        }
        default:
          throw new UsageError('give an action: open, update, resolve or list');
      }
      io.out(incidentLine(answer.incident as IncidentAnswer));
      return 0;
    },
  },
  {
    name: 'status maintenance',
    summary: 'Scheduled maintenance on the status page (also mutes its alerts): add, end (through the running Vigil)',
    usage: 'add --title TEXT --component ID... --start ISO (--end ISO | --duration 2h) [--body TEXT] [--timezone Europe/Paris] [--author NAME] | end <id> [--author NAME]',
    positionals: 2,
    options: {
      title: { type: 'string' },
      body: { type: 'string' },
      component: { type: 'string', multiple: true },
      start: { type: 'string' },
      end: { type: 'string' },
      duration: { type: 'string' },
      timezone: { type: 'string' },
      author: { type: 'string' },
      url: { type: 'string' },
    },
    async run(args, io) {
      const [action, rawId] = args.positionals;
      const author = text(args.values.author) ?? io.env.USER ?? os.userInfo().username;
      if (action === 'add') {
        const answer = await adminCall(args, io, 'POST', '/maintenances', defined({
          title: text(args.values.title),
          body: text(args.values.body),
          components: args.values.component ?? [],
          startsAt: text(args.values.start) ?? new Date(systemClock.now()).toISOString(),
          endsAt: text(args.values.end),
          duration: text(args.values.duration),
          timeZone: text(args.values.timezone),
          author,
        }));
        io.out(`maintenance #${(answer.maintenance as { id: number }).id} scheduled`);
        return 0;
      }
      if (action === 'end') {
        const id = Number(rawId);
        if (!Number.isInteger(id) || id <= 0) throw new UsageError('give the maintenance id, e.g. "vigil status maintenance end 3"');
        const answer = await adminCall(args, io, 'POST', `/maintenances/${id}/end`, { author });
        io.out(`maintenance #${id} ${String(answer.outcome)}`);
        return 0;
      }
      throw new UsageError('give an action: add or end');
    },
  },
  {
    name: 'status banner',
    summary: "The site banner: set an admin's override of what it says, clear it, or show it (through the running Vigil)",
    usage: 'set --message TEXT [--level info|warning|maintenance|outage] [--duration 2h] | clear | show',
    positionals: 1,
    options: { message: { type: 'string' }, level: { type: 'string' }, duration: { type: 'string' }, url: { type: 'string' } },
    async run(args, io) {
      const [action] = args.positionals;
      const api = await io.connect();
      let answer: { override: BannerOverride | null; banner: Banner | null };
      if (action === 'set') answer = await api.post('/status/banner', defined({ message: text(args.values.message), level: text(args.values.level), duration: text(args.values.duration) }));
      else if (action === 'clear') answer = await api.post('/status/banner/clear');
      else if (action === 'show') answer = await api.get('/status/banner');
      else throw new UsageError('give an action: set, clear or show');
      print(io, answer, () => [
        answer.override ? `override: ${answer.override.level} "${answer.override.message}" until ${answer.override.until === undefined ? 'cleared' : iso(answer.override.until)}` : 'no override',
        answer.banner ? `the banner says: ${answer.banner.message}` : 'the banner shows nothing',
      ]);
      return 0;
    },
  },
  {
    name: 'status export',
    summary: 'Write the status page, its JSON, feeds and badges as static files into a directory (reads the database)',
    usage: '<dir>',
    positionals: 1,
    async run(args, io) {
      const dir = args.positionals[0];
      if (!dir) throw new UsageError('give the directory to write into, e.g. "vigil status export ./status-copy"');
      const config = await io.loadConfig();
      const db = await openDb(config.database, 'vigil-status-export');
      try {
        await migrate(db, [...probesModule.migrations, ...alertsModule.migrations, ...statusPageMigrations]);
        const now = systemClock.now();
        const model = await gatherModel(db, config, { now, publicUrl: config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}` });
        const { cssUrl, cssBody } = statusAssets(Fastify());
        const files = await writeExport(path.resolve(dir), renderSite(model, now, cssUrl), { [cssUrl]: cssBody });
        io.out(`wrote ${files} files to ${path.resolve(dir)}`);
      } finally {
        await db.close();
      }
      return 0;
    },
  },
];
