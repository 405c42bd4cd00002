import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../core/clock.ts';
import { UsageError, type CliCommand, type CliIo } from '../core/cli/command.ts';
import type { ExportedResource } from './admin.ts';
import { iso, print } from '../core/cli/output.ts';
import type { Banner, BannerOverride } from './banner.ts';
import type { StatusPageHostConfig } from './config.ts';
import { writeExport } from './export.ts';

/** Admin verbs go through the admin API of the running Vigil (--url, VIGIL_URL, or the local instance), like amtool. */
async function adminCall(io: CliIo<StatusPageHostConfig>, method: 'GET' | 'POST', route: string, body?: unknown): Promise<Record<string, unknown>> {
  const client = await io.connect();
  return method === 'GET' ? client.get(`/status${route}`) : client.post(`/status${route}`, body);
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
    options: { title: { type: 'string' }, body: { type: 'string' }, status: { type: 'string' }, impact: { type: 'string' }, postmortem: { type: 'string' }, component: { type: 'string', multiple: true } },
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
          answer = await adminCall(io, 'POST', '/incidents', defined({ name: text(args.values.title), body: text(args.values.body), status: text(args.values.status), impact: text(args.values.impact), components }));
          break;
        case 'update':
          answer = await adminCall(io, 'POST', `/incidents/${needId()}/updates`, defined({ body: text(args.values.body), status: text(args.values.status), impact: text(args.values.impact), postmortem: text(args.values.postmortem), components }));
          break;
        case 'resolve':
          answer = await adminCall(io, 'POST', `/incidents/${needId()}/resolve`, defined({ body: text(args.values.body) }));
          break;
        case 'list': {
          const { incidents } = (await adminCall(io, 'GET', '/incidents')) as { incidents: IncidentAnswer[] };
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
    usage: 'add --title TEXT --component ID... --start ISO (--end ISO | --duration 2h) [--body TEXT] [--timezone Europe/Paris] [--author NAME] | reschedule <id> --start ISO (--end ISO | --duration 2h) | end <id> [--author NAME]',
    positionals: 2,
    options: { title: { type: 'string' }, body: { type: 'string' }, component: { type: 'string', multiple: true }, start: { type: 'string' }, end: { type: 'string' }, duration: { type: 'string' }, timezone: { type: 'string' }, author: { type: 'string' } },
    async run(args, io) {
      const [action, rawId] = args.positionals;
      const author = text(args.values.author) ?? io.env.USER ?? os.userInfo().username;
      if (action === 'add') {
        const answer = await adminCall(io, 'POST', '/maintenances', defined({
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
      if (action === 'reschedule') {
        const id = Number(rawId);
        if (!Number.isInteger(id) || id <= 0) throw new UsageError('give the maintenance id, e.g. "vigil status maintenance reschedule 3 --start ISO --duration 1h"');
        await adminCall(io, 'POST', `/maintenances/${id}/reschedule`, defined({ startsAt: text(args.values.start), endsAt: text(args.values.end), duration: text(args.values.duration), author }));
        io.out(`maintenance #${id} rescheduled`);
        return 0;
      }
      if (action === 'end') {
        const id = Number(rawId);
        if (!Number.isInteger(id) || id <= 0) throw new UsageError('give the maintenance id, e.g. "vigil status maintenance end 3"');
        const answer = await adminCall(io, 'POST', `/maintenances/${id}/end`, { author });
        io.out(`maintenance #${id} ${String(answer.outcome)}`);
        return 0;
      }
      throw new UsageError('give an action: add, reschedule or end');
    },
  },
  {
    name: 'status banner',
    summary: "The site banner: set an admin's override of what it says, clear it, or show it (through the running Vigil)",
    usage: 'set --message TEXT [--level info|warning|maintenance|outage] [--duration 2h] | clear | show',
    positionals: 1,
    options: { message: { type: 'string' }, level: { type: 'string' }, duration: { type: 'string' } },
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
    summary: 'Write the status page, its JSON, feeds and badges as static files into a directory (as the running Vigil, or the store, renders them)',
    usage: '<dir>',
    positionals: 1,
    async run(args, io) {
      const dir = args.positionals[0];
      if (!dir) throw new UsageError('give the directory to write into, e.g. "vigil status export ./status-copy"');
      const { resources } = (await adminCall(io, 'GET', '/site')) as { resources: ExportedResource[] };
      const target = path.resolve(dir);
      const files = resources.map(({ url, body, gzip }) => ({ url, body: Buffer.from(body, 'base64'), ...(gzip ? { gzip: Buffer.from(gzip, 'base64') } : {}) }));
      io.out(`wrote ${await writeExport(target, files)} files to ${target}`);
      return 0;
    },
  },
];
