// Administration of subscribers: the admin API under /admin/api/v1/status/subscribers and `vigil status subscribers`,
// which goes through it. Addresses are shown to admins; tokens and webhook secrets never are.
import { z } from 'zod';
import type { CliCommand } from '../core/cli/command.ts';
import { UsageError } from '../core/cli/command.ts';
import { iso, print, table } from '../core/cli/output.ts';
import type { Db } from '../core/db/index.ts';
import type { HttpServer } from '../core/http/server.ts';
import type { StatusPageHostConfig } from './config.ts';
import { StatusPageError } from './incidents.ts';
import { deleteSubscriber, listSubscribers, type Subscriber, type SubscriberState } from './store.ts';

const STATES = ['pending', 'confirmed', 'ended'] as const satisfies readonly SubscriberState[];

export interface SubscriberAnswer {
  id: number;
  channel: Subscriber['channel'];
  address: string;
  contact: string | null;
  components: string[] | null;
  incidentId: number | null;
  state: SubscriberState;
  createdAt: string;
  confirmedAt: string | null;
  endedAt: string | null;
  endedReason: string | null;
}

const stateOf = (subscriber: Subscriber): SubscriberState => (subscriber.endedAt ? 'ended' : subscriber.confirmedAt ? 'confirmed' : 'pending');

const answerOf = (subscriber: Subscriber): SubscriberAnswer => ({
  ...subscriber,
  state: stateOf(subscriber),
  createdAt: subscriber.createdAt.toISOString(),
  confirmedAt: subscriber.confirmedAt?.toISOString() ?? null,
  endedAt: subscriber.endedAt?.toISOString() ?? null,
});

const listQuery = z.strictObject({ state: z.enum([...STATES, 'active', 'all']).default('active'), address: z.string().trim().toLowerCase().min(1).optional() });

export function registerSubscriberAdminRoutes(http: HttpServer, options: { db: Db }): void {
  const { db } = options;
  http.register(
    async (admin) => {
      /** `state`: active (pending and confirmed, the default), pending, confirmed, ended or all. */
      admin.get('/subscribers', async (request) => {
        const parsed = listQuery.safeParse(request.query ?? {});
        if (!parsed.success) throw new StatusPageError(`Invalid request: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
        const { state, address } = parsed.data;
        const states = state === 'all' ? STATES : state === 'active' ? (['pending', 'confirmed'] as const) : [state];
        return { subscribers: (await listSubscribers(db, { states, ...(address ? { address } : {}) })).map(answerOf) };
      });
      admin.post('/subscribers/:id/remove', async (request) => {
        const raw = (request.params as { id: string }).id;
        const id = Number(raw);
        if (!Number.isInteger(id) || id <= 0 || id > 2 ** 31 - 1) throw new StatusPageError(`"${raw}" is not a subscriber id`);
        if (!(await deleteSubscriber(db, id))) throw new StatusPageError(`no subscriber #${id}`, 404);
        return { removed: id };
      });
    },
    { prefix: '/admin/api/v1/status' },
  );
}

const csvField = (value: string) => (/[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
const scopeOf = (subscriber: SubscriberAnswer) => (subscriber.incidentId !== null ? `incident #${subscriber.incidentId}` : (subscriber.components?.join(' ') ?? 'all'));

export const subscriberCommands: CliCommand<StatusPageHostConfig>[] = [
  {
    name: 'status subscribers',
    summary: 'Status page subscribers: list, export (CSV of the confirmed ones), remove (through the running Vigil)',
    usage: 'list [--state active|pending|confirmed|ended|all] [--address EMAIL] | export | remove <id|address>',
    positionals: 2,
    options: { state: { type: 'string' }, address: { type: 'string' } },
    async run(args, io) {
      const [action, target] = args.positionals;
      const api = await io.connect();
      const list = (query: { state?: string; address?: string }) => api.get<{ subscribers: SubscriberAnswer[] }>('/status/subscribers', query);
      if (action === 'list') {
        const { subscribers } = await list({ state: args.values.state as string | undefined, address: args.values.address as string | undefined });
        print(io, subscribers, () =>
          subscribers.length === 0
            ? ['no subscribers']
            : table(['ID', 'CHANNEL', 'ADDRESS', 'SUBSCRIBED TO', 'STATE', 'SINCE'], subscribers.map((s) => [`#${s.id}`, s.channel, s.channel === 'webhook' ? `${s.address} (${s.contact})` : s.address, scopeOf(s), s.state, iso(s.confirmedAt ?? s.createdAt)])),
        );
        return 0;
      }
      if (action === 'export') {
        const { subscribers } = await list({ state: 'confirmed' });
        print(io, subscribers, () => [
          'id,channel,address,contact,components,incident,confirmed_at',
          ...subscribers.map((s) => [String(s.id), s.channel, s.address, s.contact ?? '', s.components?.join(' ') ?? 'all', s.incidentId === null ? '' : String(s.incidentId), s.confirmedAt ?? ''].map(csvField).join(',')),
        ]);
        return 0;
      }
      if (action === 'remove') {
        if (!target) throw new UsageError('give the subscriber id or address, e.g. "vigil status subscribers remove 3"');
        const ids = /^\d+$/.test(target) ? [Number(target)] : (await list({ state: 'all', address: target })).subscribers.map((s) => s.id);
        if (ids.length === 0) throw new UsageError(`no subscriber with the address ${target}`);
        for (const id of ids) await api.post(`/status/subscribers/${id}/remove`);
        print(io, { removed: ids }, () => ids.map((id) => `subscriber #${id} removed`));
        return 0;
      }
      throw new UsageError('give an action: list, export or remove');
    },
  },
];
