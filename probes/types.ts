import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { ModuleContext } from '../core/lifecycle/module.ts';
import type { Queue } from '../core/queue/index.ts';
import type { ProbesHostConfig } from './config.ts';

/** degraded: the runs succeed but slower than the probe's `degradedAfter`. */
export type ProbeState = 'up' | 'degraded' | 'down' | 'unknown';

/** One run of one probe at one location, as stored and as `probe test` prints it. */
export interface ProbeResult {
  probe: string;
  kind: string;
  location: string;
  success: boolean;
  /** Succeeded, but slower than `degradedAfter`. */
  degraded?: boolean;
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
  /** `silent`: the location has not reported within its schedule plus grace, so it no longer counts in the quorum. */
  locations: Array<{ location: string; state: ProbeState; silent?: true }>;
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
  /** This attempt's timeout (ms), for a client library's own timeouts, which must not outlast it. */
  timeout: number;
  clock: Clock;
  /** W3C traceparent of the run's span, for targets that should join the trace. */
  traceparent?: string;
  publicUrl: string;
  /** This Vigil's processing API when it has a listener of its own; publicUrl otherwise. */
  apiUrl?: string;
  /** Figures the kind has measured so far (lookup time, address family, ...): kept when the attempt then fails or throws. */
  observed?: KindMetrics;
  config: ProbesHostConfig;
  db: Db;
  queue?: Queue;
}

/** Blackbox-style figures a kind can report, turned into probe_* gauges (names as blackbox_exporter's). */
export interface KindMetrics {
  /** 0 when no response arrived. */
  httpStatusCode?: number;
  /** Seconds per phase: resolve, connect, tls, processing, transfer. */
  httpPhases?: Record<string, number>;
  /** 1.1, 2, ... of the response. */
  httpVersion?: number;
  /** The Content-Length header, -1 when the response had none. */
  httpContentLength?: number;
  /** Bytes of body read (after any decompression). */
  httpUncompressedBodyLength?: number;
  httpRedirects?: number;
  /** Whether the final request went over TLS. */
  httpSsl?: boolean;
  /** Seconds spent resolving the target's host name (0 for an IP address). */
  dnsLookupSeconds?: number;
  /** 4 or 6: the address family the probe connected over. */
  ipProtocol?: 4 | 6;
  /** FNV-1a hash of the address connected to, as blackbox_exporter computes it (a changed address shows as a step). */
  ipAddrHash?: number;
  /** "TLS 1.3", "TLS 1.2", ... of the negotiated connection. */
  tlsVersion?: string;
  /** Unix seconds of the earliest certificate expiry in the chain. */
  sslEarliestCertExpiry?: number;
  /** Unix seconds of the earliest expiry in the verified chain (absent when the chain was not verified). */
  sslLastChainExpiry?: number;
  /** Record counts of a DNS answer's sections. */
  dnsAnswerRrs?: number;
  dnsAuthorityRrs?: number;
  dnsAdditionalRrs?: number;
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
