import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { ModuleContext } from '../core/lifecycle/module.ts';
import type { Queue } from '../core/queue/index.ts';
import type { ProbesHostConfig } from './config.ts';

export type ProbeState = 'up' | 'down' | 'unknown';

/** One run of one probe at one location, as stored and as `probe test` prints it. */
export interface ProbeResult {
  probe: string;
  kind: string;
  location: string;
  success: boolean;
  startedAt: number;
  durationMs: number;
  reason?: string;
  timings?: Record<string, number>;
  details?: Record<string, unknown>;
  traceId?: string;
}

/** A probe's state after its failure/success thresholds and the location quorum. */
export interface ProbeStatus {
  probe: string;
  kind: string;
  labels: Record<string, string>;
  state: ProbeState;
  since: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastResult?: ProbeResult;
  locations: Array<{ location: string; state: ProbeState }>;
}

export interface UptimeDay {
  day: string;
  uptimeRatio: number | null;
  checks: number;
}

/** What `runProbeNow` needs from the running Vigil (or from the CLI). */
export type ProbeRunContext = Pick<ModuleContext<ProbesHostConfig>, 'config' | 'db' | 'clock' | 'logger' | 'registry' | 'location' | 'publicUrl' | 'queue'> &
  Partial<Pick<ModuleContext<ProbesHostConfig>, 'apiUrl'>>;

/** What a kind's `run` receives besides its own options. */
export interface KindContext {
  probe: string;
  location: string;
  /** Aborted when the run's timeout passes or the scheduler stops; a kind stops its I/O on it. */
  signal: AbortSignal;
  clock: Clock;
  /** W3C traceparent of the run's span, for targets that should join the trace. */
  traceparent?: string;
  publicUrl: string;
  /** This Vigil's processing API when it has a listener of its own; publicUrl otherwise. */
  apiUrl?: string;
  config: ProbesHostConfig;
  db: Db;
  queue?: Queue;
}

/** Blackbox-style figures a kind can report, turned into probe_* gauges. */
export interface KindMetrics {
  httpStatusCode?: number;
  /** Seconds per phase: resolve, connect, tls, processing, transfer. */
  httpPhases?: Record<string, number>;
  /** Unix seconds of the earliest certificate expiry in the chain. */
  sslEarliestCertExpiry?: number;
  /** Seconds per video stage: upload, queued, processing, published, verify, email, delete. */
  videoStages?: Record<string, number>;
}

export interface KindOutcome {
  success: boolean;
  /** A sentence saying what failed, present when success is false. */
  reason?: string;
  /** A short, bounded category for probe_failure_info{reason}: "status", "timeout", "assertion", ... */
  failure?: string;
  timings?: Record<string, number>;
  details?: Record<string, unknown>;
  metrics?: KindMetrics;
}
