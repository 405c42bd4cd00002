// Which maintenance emails are due: a pure function of the maintenance, what was sent already and the time.
import type { MaintenanceMailKind } from './subscriber-messages.ts';

export interface MaintenanceMailState {
  startsAt: number;
  endsAt: number;
  cancelledAt: number | null;
  /** Reschedules so far. */
  sequence: number;
  /** Events handed to the subscribers already, with when. */
  sent: ReadonlyMap<string, number>;
}

export interface DueMaintenanceMail {
  /** Unique per maintenance: the row that makes it go out once. */
  event: string;
  kind: MaintenanceMailKind;
}

const announcement = (sequence: number) => (sequence === 0 ? 'scheduled' : `rescheduled:${sequence}`);

/**
 * The next email of a maintenance, if one is due. It is announced first (and again after each reschedule); a reminder
 * `before` its start is due from then until it starts, unless its time had passed when the latest announcement went
 * out or a nearer reminder's time has come too (a Vigil that was down sends the nearest one only); then the start, the
 * end, or the cancellation. A maintenance over or cancelled before it was announced (scheduled before subscriptions
 * existed) sends nothing.
 */
export function dueMaintenanceMail(state: MaintenanceMailState, reminders: readonly number[], now: number): DueMaintenanceMail | undefined {
  const { sent } = state;
  const over = now >= state.endsAt;
  if (!sent.has('scheduled')) return state.cancelledAt === null && !over ? { event: 'scheduled', kind: 'scheduled' } : undefined;
  if (state.cancelledAt !== null) return sent.has('cancelled') ? undefined : { event: 'cancelled', kind: 'cancelled' };
  if (over) return sent.has('ended') ? undefined : { event: 'ended', kind: 'ended' };
  const announced = sent.get(announcement(state.sequence));
  if (announced === undefined) return { event: announcement(state.sequence), kind: 'rescheduled' };
  if (now >= state.startsAt) return sent.has('started') ? undefined : { event: 'started', kind: 'started' };
  const nearest = [...reminders].sort((a, b) => a - b).find((before) => state.startsAt - before <= now);
  if (nearest === undefined || state.startsAt - nearest <= announced) return undefined;
  const event = `reminder:${nearest}:${state.sequence}`;
  return sent.has(event) ? undefined : { event, kind: 'reminder' };
}
