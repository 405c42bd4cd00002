import type { Queryable } from '../core/db/index.ts';
import type { Labels } from './config.ts';
import { resetHookBudget } from './hooks.ts';
import { toMaintenance, type Maintenance } from './maintenance.ts';
import { toIncident, type Incident, type IncidentRow } from './types.ts';

// The operations behind `vigil silence|maintenance|incident ...` and /admin/api/v1/; every change is audited.

export class AdminError extends Error {
  readonly statusCode: number;

  constructor(message: string, statusCode = 400) {
    super(message);
    this.name = 'AdminError';
    this.statusCode = statusCode;
  }
}

export interface Silence {
  id: number;
  matchers: Labels;
  startsAt: number;
  endsAt: number;
  author: string;
  comment: string;
  createdAt: number;
}

interface SilenceRow {
  id: number;
  matchers: Labels;
  starts_at: number;
  ends_at: number;
  author: string;
  comment: string;
  created_at: number;
}

const toSilence = (row: SilenceRow): Silence => ({ id: row.id, matchers: row.matchers, startsAt: row.starts_at, endsAt: row.ends_at, author: row.author, comment: row.comment, createdAt: row.created_at });

export interface WindowInput {
  matchers: Labels;
  startsAt: number;
  endsAt: number;
  author: string;
  comment: string;
}

function checkWindow(input: WindowInput, what: string): void {
  if (Object.keys(input.matchers).length === 0) throw new AdminError(`a ${what} needs at least one matcher, like service=api`);
  if (!input.author.trim()) throw new AdminError(`a ${what} needs an author`);
  if (!Number.isFinite(input.startsAt) || !Number.isFinite(input.endsAt)) throw new AdminError(`the ${what}'s start and end must be valid times`);
  if (input.endsAt <= input.startsAt) throw new AdminError(`the ${what} must end after it starts`);
}

async function audit(q: Queryable, at: number, actor: string, action: string, detail: Record<string, unknown>): Promise<void> {
  await q.query('insert into alerts_audit (at, actor, action, detail) values ($1, $2, $3, $4)', [at, actor, action, JSON.stringify(detail)]);
}

export async function addSilence(q: Queryable, input: WindowInput, now: number): Promise<Silence> {
  checkWindow(input, 'silence');
  if (!input.comment.trim()) throw new AdminError('a silence needs a comment saying why');
  const [row] = await q.query<SilenceRow>(
    'insert into alerts_silences (matchers, starts_at, ends_at, author, comment, created_at) values ($1, $2, $3, $4, $5, $6) returning *',
    [JSON.stringify(input.matchers), input.startsAt, input.endsAt, input.author, input.comment, now],
  );
  await audit(q, now, input.author, 'silence.add', { id: row!.id, matchers: input.matchers, startsAt: input.startsAt, endsAt: input.endsAt });
  return toSilence(row!);
}

export async function listSilences(q: Queryable, now: number, options: { all?: boolean } = {}): Promise<Silence[]> {
  const rows = await q.query<SilenceRow>(`select * from alerts_silences where $1 or ends_at > $2 order by starts_at, id`, [options.all ?? false, now]);
  return rows.map(toSilence);
}

export async function expireSilence(q: Queryable, id: number, actor: string, now: number): Promise<Silence> {
  const [row] = await q.query<SilenceRow>('update alerts_silences set ends_at = least(ends_at, $2) where id = $1 returning *', [id, now]);
  if (!row) throw new AdminError(`no silence #${id}`, 404);
  await audit(q, now, actor, 'silence.expire', { id });
  return toSilence(row);
}

export async function addMaintenance(q: Queryable, input: WindowInput & { title: string }, now: number): Promise<Maintenance> {
  checkWindow(input, 'maintenance window');
  if (!input.title.trim()) throw new AdminError('a maintenance window needs a title (the status page shows it)');
  const [row] = await q.query<Parameters<typeof toMaintenance>[0]>(
    'insert into alerts_maintenances (title, matchers, starts_at, ends_at, author, comment, created_at) values ($1, $2, $3, $4, $5, $6, $7) returning *',
    [input.title, JSON.stringify(input.matchers), input.startsAt, input.endsAt, input.author, input.comment, now],
  );
  await audit(q, now, input.author, 'maintenance.add', { id: row!.id, title: input.title, matchers: input.matchers, startsAt: input.startsAt, endsAt: input.endsAt });
  return toMaintenance(row!);
}

export async function endMaintenance(q: Queryable, id: number, actor: string, now: number): Promise<Maintenance> {
  const [row] = await q.query<Parameters<typeof toMaintenance>[0]>('update alerts_maintenances set ends_at = least(ends_at, $2) where id = $1 returning *', [id, now]);
  if (!row) throw new AdminError(`no maintenance window #${id}`, 404);
  await audit(q, now, actor, 'maintenance.end', { id });
  return toMaintenance(row);
}

export async function listIncidents(q: Queryable, options: { all?: boolean; limit?: number } = {}): Promise<Incident[]> {
  const rows = await q.query<IncidentRow>(`select * from alerts_incidents where $1 or state <> 'resolved' order by id desc limit $2`, [options.all ?? false, options.limit ?? 100]);
  return rows.map(toIncident);
}

async function openIncidentById(q: Queryable, id: number): Promise<Incident> {
  const [row] = await q.query<IncidentRow>('select * from alerts_incidents where id = $1', [id]);
  if (!row) throw new AdminError(`no incident #${id}`, 404);
  return toIncident(row);
}

/** Acknowledged incidents stop sending reminders; everything else goes on. */
export async function ackIncident(q: Queryable, id: number, actor: string, now: number): Promise<Incident> {
  const incident = await openIncidentById(q, id);
  if (incident.state === 'resolved') throw new AdminError(`incident #${id} is already resolved`, 409);
  const [row] = await q.query<IncidentRow>('update alerts_incidents set acked_by = $2, acked_at = $3 where id = $1 returning *', [id, actor, now]);
  await audit(q, now, actor, 'incident.ack', { incident: id });
  return toIncident(row!);
}

/** After a spent restart budget: lets the service's hooks act again (the router queues a fresh attempt). */
export async function resetIncident(q: Queryable, id: number, actor: string, now: number): Promise<Incident> {
  const incident = await openIncidentById(q, id);
  const service = incident.labels.service;
  if (!service) throw new AdminError(`incident #${id} has no service label, so there is no hook budget to reset`, 409);
  await resetHookBudget(q, service, now);
  await audit(q, now, actor, 'incident.reset', { incident: id, service });
  return incident;
}

/** How many times an incident was reset (each reset queues one more hook attempt). */
export async function resetsOf(q: Queryable, incidentId: number): Promise<number> {
  const [row] = await q.query<{ n: number }>(`select count(*)::int as n from alerts_audit where action = 'incident.reset' and (detail->>'incident')::int = $1`, [incidentId]);
  return row?.n ?? 0;
}

export async function auditLog(q: Queryable, limit = 100): Promise<Array<{ at: number; actor: string; action: string; detail: Record<string, unknown> }>> {
  return q.query('select at, actor, action, detail from alerts_audit order by id desc limit $1', [limit]);
}
