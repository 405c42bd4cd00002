import type { Queryable } from '../core/db/index.ts';
import { windowMatcherProblems } from './matchers.ts';
import {
  acknowledgeIncident,
  countReset,
  endMaintenanceWindow,
  endSilence,
  incidentById,
  insertAudit,
  insertMaintenance,
  insertSilence,
  moveMaintenanceWindow,
  resetHookBudget,
  type Maintenance,
  type Silence,
  type WindowInput,
} from './store.ts';
import type { Incident } from './types.ts';

// The operations behind `vigil silence|maintenance|incident ...` and /admin/api/v1/; every change is audited.

export class AdminError extends Error {
  readonly statusCode: number;
  /** The API's error code: NOT_FOUND, CONFLICT or BAD_REQUEST. */
  readonly code: string;

  constructor(message: string, statusCode = 400) {
    super(message);
    this.name = 'AdminError';
    this.statusCode = statusCode;
    this.code = statusCode === 404 ? 'NOT_FOUND' : statusCode === 409 ? 'CONFLICT' : 'BAD_REQUEST';
  }
}

export type { Silence, WindowInput };

function checkWindow(input: WindowInput & { force?: boolean }, what: string): void {
  const problems = windowMatcherProblems(input.matchers, { force: input.force ?? false });
  if (problems.length > 0) throw new AdminError(`the ${what}'s matchers: ${problems.join('; ')}`);
  if (!input.author.trim()) throw new AdminError(`a ${what} needs an author`);
  if (!Number.isFinite(input.startsAt) || !Number.isFinite(input.endsAt)) throw new AdminError(`the ${what}'s start and end must be valid times`);
  if (input.endsAt <= input.startsAt) throw new AdminError(`the ${what} must end after it starts`);
}

/** `force`: accept matchers that match alerts without their labels (mute nearly everything on purpose). */
export async function addSilence(q: Queryable, input: WindowInput & { force?: boolean }, now: number): Promise<Silence> {
  checkWindow(input, 'silence');
  if (!input.comment.trim()) throw new AdminError('a silence needs a comment saying why');
  const silence = await insertSilence(q, input, now);
  await insertAudit(q, { at: now, actor: input.author, action: 'silence.add', detail: { id: silence.id, matchers: input.matchers, startsAt: input.startsAt, endsAt: input.endsAt } });
  return silence;
}

export async function expireSilence(q: Queryable, id: number, actor: string, now: number): Promise<Silence> {
  const silence = await endSilence(q, id, now);
  if (!silence) throw new AdminError(`no silence #${id}`, 404);
  await insertAudit(q, { at: now, actor, action: 'silence.expire', detail: { id } });
  return silence;
}

export async function addMaintenance(q: Queryable, input: WindowInput & { title: string; force?: boolean }, now: number): Promise<Maintenance> {
  checkWindow(input, 'maintenance window');
  if (!input.title.trim()) throw new AdminError('a maintenance window needs a title (the status page shows it)');
  const maintenance = await insertMaintenance(q, input, now);
  await insertAudit(q, { at: now, actor: input.author, action: 'maintenance.add', detail: { id: maintenance.id, title: input.title, matchers: input.matchers, startsAt: input.startsAt, endsAt: input.endsAt } });
  return maintenance;
}

export async function endMaintenance(q: Queryable, id: number, actor: string, now: number): Promise<Maintenance> {
  const maintenance = await endMaintenanceWindow(q, id, now);
  if (!maintenance) throw new AdminError(`no maintenance window #${id}`, 404);
  await insertAudit(q, { at: now, actor, action: 'maintenance.end', detail: { id } });
  return maintenance;
}

export async function rescheduleMaintenance(q: Queryable, id: number, window: { startsAt: number; endsAt: number }, actor: string, now: number): Promise<Maintenance> {
  if (!Number.isFinite(window.startsAt) || !Number.isFinite(window.endsAt) || window.endsAt <= window.startsAt) throw new AdminError('the maintenance window must end after it starts');
  if (window.endsAt <= now) throw new AdminError('the maintenance window would be over already');
  const maintenance = await moveMaintenanceWindow(q, id, window, now);
  if (!maintenance) throw new AdminError(`no maintenance window #${id} that has not ended`, 404);
  await insertAudit(q, { at: now, actor, action: 'maintenance.reschedule', detail: { id, startsAt: window.startsAt, endsAt: window.endsAt } });
  return maintenance;
}

async function existingIncident(q: Queryable, id: number): Promise<Incident> {
  const incident = await incidentById(q, id);
  if (!incident) throw new AdminError(`no incident #${id}`, 404);
  return incident;
}

/** Acknowledged incidents stop sending reminders; everything else goes on. */
export async function ackIncident(q: Queryable, id: number, actor: string, now: number): Promise<Incident> {
  const incident = await existingIncident(q, id);
  if (incident.state === 'resolved') throw new AdminError(`incident #${id} is already resolved`, 409);
  const acked = await acknowledgeIncident(q, id, actor, now);
  await insertAudit(q, { at: now, actor, action: 'incident.ack', detail: { incident: id } });
  return acked;
}

/** After a spent restart budget: lets the service's hooks act again (the router queues a fresh attempt). */
export async function resetIncident(q: Queryable, id: number, actor: string, now: number): Promise<Incident> {
  const incident = await existingIncident(q, id);
  const service = incident.labels.service;
  if (!service) throw new AdminError(`incident #${id} has no service label, so there is no hook budget to reset`, 409);
  await resetHookBudget(q, service, now);
  const reset = await countReset(q, id);
  await insertAudit(q, { at: now, actor, action: 'incident.reset', detail: { incident: id, service } });
  return reset;
}

export { auditLog, listIncidents, listSilences, maintenancesOverlapping as listMaintenances } from './store.ts';
