import type { Queryable } from '../core/db/index.ts';
import { incidentById, incidentsByIds, type HookAttempt } from './store.ts';
import type { Incident, IncidentState } from './types.ts';

// The read side of the admin API and the console: incidents paged by id, one incident's deliveries, the audit log.

/** "open": every state but resolved. */
export type IncidentFilter = IncidentState | 'open';

export async function selectIncidentsPage(q: Queryable, filter: { state?: IncidentFilter; beforeId?: number; limit: number }): Promise<Incident[]> {
  const rows = await q.query<{ id: number }>(
    `select id from alerts_incidents
      where ($1::text is null or ($1 = 'open' and state <> 'resolved') or state = $1) and ($2::int is null or id < $2)
      order by id desc limit $3`,
    [filter.state ?? null, filter.beforeId ?? null, filter.limit],
  );
  return incidentsByIds(q, rows.map((row) => row.id));
}

export const selectIncident = incidentById;

/** A timestamptz column read as epoch milliseconds. */
const ms = (column: string, alias: string) => `(extract(epoch from ${column}) * 1000)::float8 as "${alias}"`;

export interface Delivery {
  id: number;
  receiver: string;
  event: string;
  status: 'pending' | 'delivered' | 'muted' | 'failed' | 'skipped';
  /** The receiver this one stands in for, when it is a fallback. */
  fallback: string | null;
  mutedBy: string | null;
  attempts: number;
  createdAt: number;
  deliveredAt: number | null;
  lastError: string | null;
}

/** Every notification queued for an incident, in the order they were queued. */
export async function selectDeliveries(q: Queryable, incidentId: number): Promise<Delivery[]> {
  return q.query<Delivery>(
    `select id, receiver, event, status, on_behalf_of as "fallback", muted_by as "mutedBy", attempts, ${ms('created_at', 'createdAt')}, ${ms('delivered_at', 'deliveredAt')}, last_error as "lastError"
       from alerts_notifications where incident_id = $1 order by id`,
    [incidentId],
  );
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

export async function selectAuditPage(q: Queryable, filter: { incidentId?: number; beforeId?: number; limit: number }): Promise<AuditEntry[]> {
  return q.query<AuditEntry>(
    `select id, ${ms('at', 'at')}, actor, action, detail from alerts_audit
      where ($1::int is null or (detail->>'incident')::int = $1) and ($2::int is null or id < $2)
      order by id desc limit $3`,
    [filter.incidentId ?? null, filter.beforeId ?? null, filter.limit],
  );
}

export interface TimelineEntry {
  at: number;
  /** What happened: "pending", "firing", "notification warning to ops: delivered", "restart hook: ok", "acknowledged", ... */
  event: string;
  detail: string;
}

/** An incident's history in time order, from its own timestamps, its deliveries, hook attempts and audited actions. */
export function incidentTimeline(incident: Incident, deliveries: readonly Delivery[], attempts: readonly HookAttempt[], audit: readonly AuditEntry[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [{ at: incident.startedAt, event: 'opened', detail: incident.summary }];
  if (incident.firedAt !== null) entries.push({ at: incident.firedAt, event: 'firing', detail: '' });
  if (incident.escalatedAt !== null) entries.push({ at: incident.escalatedAt, event: 'escalated', detail: 'EMERGENCY' });
  for (const delivery of deliveries) {
    const state = delivery.status === 'muted' ? `muted${delivery.mutedBy ? ` by ${delivery.mutedBy}` : ''}` : delivery.status;
    entries.push({
      at: delivery.deliveredAt ?? delivery.createdAt,
      event: `${delivery.event} to ${delivery.receiver}${delivery.fallback ? ` (fallback for ${delivery.fallback})` : ''}: ${state}`,
      detail: [delivery.attempts > 1 ? `${delivery.attempts} attempts` : '', delivery.lastError ?? ''].filter(Boolean).join('; '),
    });
  }
  for (const attempt of attempts) entries.push({ at: attempt.startedAt, event: `${attempt.receiver} ${attempt.action}: ${attempt.outcome}`, detail: attempt.detail });
  for (const entry of audit) entries.push({ at: entry.at, event: entry.action === 'incident.ack' ? 'acknowledged' : entry.action.replace('incident.', ''), detail: `by ${entry.actor}` });
  if (incident.resolvedAt !== null) entries.push({ at: incident.resolvedAt, event: 'resolved', detail: '' });
  return entries.sort((a, b) => a.at - b.at);
}
