import type { Labels } from './config.ts';

export type IncidentState = 'pending' | 'firing' | 'escalated' | 'resolved';

/** What a notification says: the opening WARNING, EMERGENCY, UP, a flapping notice, or a reminder while firing. */
export type NotificationEvent = 'warning' | 'emergency' | 'up' | 'flapping' | 'repeat' | 'retry';

export interface Incident {
  id: number;
  fingerprint: string;
  rule: string;
  labels: Labels;
  summary: string;
  state: IncidentState;
  flapping: boolean;
  startedAt: number;
  firedAt: number | null;
  escalatedAt: number | null;
  resolvedAt: number | null;
  ackedBy: string | null;
  ackedAt: number | null;
}

/** One row of the incidents table as the database returns it. */
export interface IncidentRow {
  id: number;
  fingerprint: string;
  rule: string;
  labels: Labels;
  summary: string;
  state: IncidentState;
  flapping: boolean;
  started_at: number;
  fired_at: number | null;
  escalated_at: number | null;
  resolved_at: number | null;
  acked_by: string | null;
  acked_at: number | null;
}

export function toIncident(row: IncidentRow): Incident {
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    rule: row.rule,
    labels: row.labels,
    summary: row.summary,
    state: row.state,
    flapping: row.flapping,
    startedAt: row.started_at,
    firedAt: row.fired_at,
    escalatedAt: row.escalated_at,
    resolvedAt: row.resolved_at,
    ackedBy: row.acked_by,
    ackedAt: row.acked_at,
  };
}

/** The evaluator's input: whether a rule's condition holds now for one series (undefined: unknown, keep the state). */
export interface Observation {
  rule: string;
  labels: Labels;
  active: boolean | undefined;
  summary: string;
  /** Why the rule could not be evaluated (the incident keeps its state; the failure is counted and alerted on). */
  error?: string;
}

/** The seam between the signals (probes, processing, metrics) and the router: the current observations for the rules. */
export type SignalSource = (now: number) => Promise<Observation[]>;
