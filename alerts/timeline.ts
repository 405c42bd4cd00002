import type { AuditEntry, Delivery, HookAttempt } from './store.ts';
import type { Incident } from './types.ts';

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
