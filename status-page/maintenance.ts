// Scheduled maintenance is one object: the alerts maintenance window (mutes matching alerts, holds restart hooks),
// created and ended through the alerts module's functions, with its public side (text, components, time zone) here.
import { addMaintenance, AdminError, endMaintenance, rescheduleMaintenance } from '../alerts/index.ts';
import type { Db } from '../core/db/index.ts';
import type { ComponentDefinition } from './define.ts';
import { StatusPageError } from './incidents.ts';
import { bumpMaintenanceSequence, getMaintenanceDetails, insertMaintenanceDetails, markMaintenanceCancelled } from './store.ts';

export interface MaintenanceInput {
  title: string;
  body: string;
  components: string[];
  startsAt: number;
  endsAt: number;
  timeZone: string;
  author: string;
  /** Which alerts it mutes; default: the probes of its components (`probe=/a|b/`). */
  matchers?: Record<string, string>;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export async function scheduleMaintenance(db: Db, components: readonly ComponentDefinition[], input: MaintenanceInput, now: number): Promise<{ id: number }> {
  const chosen = input.components.map((id) => {
    const found = components.find((component) => component.id === id);
    if (!found) throw new StatusPageError(`no component with id "${id}" (known: ${components.map((component) => component.id).join(', ') || 'none'})`);
    return found;
  });
  if (chosen.length === 0) throw new StatusPageError('a maintenance needs at least one component it affects');
  if (!validTimeZone(input.timeZone)) throw new StatusPageError(`"${input.timeZone}" is not a time zone; use an IANA name like Europe/Paris`);
  const probes = [...new Set(chosen.flatMap((component) => component.from.probes))];
  const matchers = input.matchers ?? (probes.length > 0 ? { probe: `/${probes.map(escapeRegex).join('|')}/` } : undefined);
  if (!matchers) throw new StatusPageError('these components are made of rules only: give the matchers of the alerts the maintenance mutes');
  return db.transaction(async (q) => {
    const window = await addMaintenance(q, { title: input.title, matchers, startsAt: input.startsAt, endsAt: input.endsAt, author: input.author, comment: input.body }, now).catch((error: unknown) => {
      throw error instanceof AdminError ? new StatusPageError(error.message, error.statusCode) : error;
    });
    await insertMaintenanceDetails(q, { maintenanceId: window.id, body: input.body, components: chosen.map((component) => component.id), timeZone: input.timeZone, createdAt: now });
    return { id: window.id };
  });
}

/** Before it starts: cancelled (and mutes nothing). While it runs: ends now, then verifies and completes as usual. */
export async function endOrCancelMaintenance(db: Db, id: number, author: string, now: number): Promise<'cancelled' | 'ended'> {
  const details = (await getMaintenanceDetails(db, [id])).get(id);
  if (!details) throw new StatusPageError(`no public maintenance #${id}`, 404);
  return db.transaction(async (q) => {
    const window = await endMaintenance(q, id, author, now);
    if (now < window.startsAt) {
      await markMaintenanceCancelled(q, id, now);
      return 'cancelled';
    }
    return 'ended';
  });
}

/** Moves a maintenance that has not ended: its alerts window moves too, and subscribers hear of the new time. */
export async function moveMaintenance(db: Db, id: number, window: { startsAt: number; endsAt: number }, author: string, now: number): Promise<{ id: number }> {
  const details = (await getMaintenanceDetails(db, [id])).get(id);
  if (!details) throw new StatusPageError(`no public maintenance #${id}`, 404);
  if (details.cancelledAt !== null) throw new StatusPageError(`maintenance #${id} was cancelled; schedule a new one`, 409);
  return db.transaction(async (q) => {
    await rescheduleMaintenance(q, id, window, author, now).catch((error: unknown) => {
      throw error instanceof AdminError ? new StatusPageError(error.message, error.statusCode) : error;
    });
    await bumpMaintenanceSequence(q, id);
    return { id };
  });
}
