import type { Labels } from './config.ts';

export type IncidentState = 'pending' | 'firing' | 'escalated' | 'resolved';

/** What a notification says: the opening WARNING, EMERGENCY, UP, a flapping notice, or a reminder while firing. */
export type NotificationEvent = 'warning' | 'emergency' | 'up' | 'flapping' | 'repeat' | 'retry';

export interface Incident {
  id: number;
  fingerprint: string;
  rule: string;
  labels: Labels;
  /** What was wrong when it started (the first failure reason). */
  summary: string;
  /** What the latest observation said, when it differs (the last failure reason). */
  lastSummary: string | null;
  state: IncidentState;
  flapping: boolean;
  startedAt: number;
  firedAt: number | null;
  escalatedAt: number | null;
  resolvedAt: number | null;
  ackedBy: string | null;
  ackedAt: number | null;
  /** Times an admin reset it (`vigil incident reset`): each lets the hooks try again. */
  resets: number;
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

/**
 * The seam between the signals (probes, processing, metrics) and the router: the current observations for the rules.
 * `forget` drops what a source remembers between evaluations, when this process takes the lease.
 */
export type SignalSource = ((now: number) => Promise<Observation[]>) & { forget?(): void };
