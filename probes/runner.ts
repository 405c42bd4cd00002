import { performance } from 'node:perf_hooks';
import { isSpanContextValid, SpanStatusCode } from '@opentelemetry/api';
import { formatDuration } from '../core/config/duration.ts';
import { Secret } from '../core/config/secret.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import { tracer } from '../core/telemetry/tracing.ts';
import type { ProbeDefinition, ProbeKind } from './define.ts';
import type { KindContext, KindMetrics, KindOutcome, ProbeResult } from './types.ts';

/** How long an aborted attempt gets to release its sockets and processes before the run moves on without it. */
const ABORT_GRACE_MS = 2000;

export type RunEnvironment = Omit<KindContext, 'probe' | 'signal' | 'traceparent' | 'timeout'> & {
  logger: Logger;
  /** Stops the run (the scheduler is stopping); the current attempt is aborted. */
  signal?: AbortSignal;
};

export interface Run {
  result: ProbeResult;
  outcome: KindOutcome;
}

class AttemptTimeout extends Error {}

/** One run: attempts up to 1 + retries, each aborted at the probe's timeout, inside a span that is ERROR when the run fails. */
export async function runProbe(definition: ProbeDefinition, kind: ProbeKind, environment: RunEnvironment): Promise<Run> {
  const { clock, location } = environment;
  return tracer.startActiveSpan('probe.run', { attributes: { 'probe.name': definition.name, 'probe.kind': kind.kind, 'probe.location': location } }, async (span) => {
    const startedAt = clock.now();
    const began = performance.now();
    const spanContext = span.spanContext();
    const traceparent = isSpanContextValid(spanContext) ? `00-${spanContext.traceId}-${spanContext.spanId}-01` : undefined;
    let outcome: KindOutcome = { success: false, reason: 'not run', failure: 'error' };
    let attempts = 0;
    try {
      for (; attempts <= definition.retries; attempts++) {
        if (attempts > 0) {
          span.addEvent('retry', { attempt: attempts + 1, reason: outcome.reason ?? '' });
          await clock.sleep(definition.retryDelay, environment.signal);
        }
        outcome = await attempt(definition, kind, { ...environment, probe: definition.name, timeout: definition.timeout, signal: environment.signal ?? new AbortController().signal, ...(traceparent ? { traceparent } : {}) });
        if (outcome.success || environment.signal?.aborted) break;
      }
    } catch (error) {
      outcome = { success: false, reason: `stopped: ${describeError(error)}`, failure: 'aborted' };
    }
    outcome = redact(outcome, secretsOfDefinition(definition));
    const durationMs = Math.round((performance.now() - began) * 1000) / 1000;
    const result: ProbeResult = {
      probe: definition.name,
      kind: kind.kind,
      location,
      success: outcome.success,
      ...(outcome.success && definition.degradedAfter !== undefined && durationMs > definition.degradedAfter ? { degraded: true } : {}),
      startedAt,
      durationMs,
      ...(outcome.reason && !outcome.success ? { reason: outcome.reason } : {}),
      ...(outcome.timings ? { timings: outcome.timings } : {}),
      details: { ...outcome.details, attempts: Math.min(attempts + 1, definition.retries + 1) },
      ...(traceparent ? { traceId: spanContext.traceId } : {}),
    };
    span.setAttribute('probe.success', result.success);
    if (!result.success) span.setStatus({ code: SpanStatusCode.ERROR, message: result.reason ?? 'failed' });
    span.end();
    return { result, outcome };
  });
}

async function attempt(definition: ProbeDefinition, kind: ProbeKind, context: KindContext & { logger: Logger }): Promise<KindOutcome> {
  const controller = new AbortController();
  const stop = () => controller.abort(context.signal.reason);
  context.signal.addEventListener('abort', stop, { once: true });
  // Made only when the timer fires: an error captures a stack, which most runs never need.
  let timeout: AttemptTimeout | undefined;
  const timer = context.clock.setTimeout(() => controller.abort((timeout = new AttemptTimeout(`timed out after ${formatDuration(definition.timeout)}`))), definition.timeout);
  const observed: KindMetrics = {};
  const running = kind.run(definition.options, { ...context, signal: controller.signal, observed });
  try {
    const outcome = await Promise.race([running, abandonAfterGrace(controller.signal, context, running)]);
    return { ...outcome, metrics: { ...observed, ...outcome.metrics } };
  } catch (error) {
    if (timeout && controller.signal.reason === timeout) return { success: false, reason: timeout.message, failure: 'timeout', metrics: observed };
    return { success: false, reason: describeError(error), failure: failureCategory(error), metrics: observed };
  } finally {
    timer.cancel();
    context.signal.removeEventListener('abort', stop);
  }
}

/** Rejects ABORT_GRACE_MS after an abort if the kind has not settled yet, so a kind that ignores its signal cannot hold the run. */
function abandonAfterGrace(signal: AbortSignal, context: KindContext & { logger: Logger }, running: Promise<unknown>): Promise<never> {
  return new Promise((_resolve, reject) => {
    let settled = false;
    running.then(() => (settled = true), () => (settled = true));
    signal.addEventListener('abort', () => {
      context.clock.setTimeout(() => {
        if (settled) return;
        context.logger.warn({ probe: context.probe }, 'probe kind did not stop within the grace period after its abort');
        reject(signal.reason);
      }, ABORT_GRACE_MS);
    }, { once: true });
  });
}

export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) {
    const plain = plainNetworkError(error) ?? (error.cause instanceof Error ? plainNetworkError(error.cause) : undefined);
    if (plain) return plain;
    const code = (error as { code?: unknown }).code;
    const message = error.message || (typeof code === 'string' ? code : error.name);
    const cause = error.cause instanceof Error && error.cause.message && !message.includes(error.cause.message) ? `: ${describeError(error.cause)}` : '';
    return `${message}${cause}`;
  }
  return String(error);
}

/** Node's socket and resolver errors in words, with the code kept for searching: "connection refused at 127.0.0.1:5432 (ECONNREFUSED)". */
function plainNetworkError(error: Error): string | undefined {
  const fields = error as { code?: unknown; address?: unknown; port?: unknown; hostname?: unknown };
  // Some clients (nodemailer) wrap the socket error in their own code and keep only Node's message, "connect ECONNREFUSED host:port".
  const quoted = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\s+(\S+:\d+)/.exec(error.message);
  const code = quoted?.[1] ?? fields.code;
  const { address, port, hostname } = fields;
  const where = typeof address === 'string' ? `${address}${port !== undefined ? `:${port}` : ''}` : quoted?.[2];
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused at ${where ?? 'the target'} (ECONNREFUSED)`;
    case 'ECONNRESET':
      return `connection reset by ${where ?? 'the target'} (ECONNRESET)`;
    case 'ETIMEDOUT':
      return `connecting to ${where ?? 'the target'} timed out (ETIMEDOUT)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${where ?? 'the target'} (${code})`;
    case 'ENOTFOUND':
      return `DNS name not found: ${typeof hostname === 'string' ? hostname : 'the host'} (ENOTFOUND)`;
    case 'EAI_AGAIN':
      return `DNS lookup failed for ${typeof hostname === 'string' ? hostname : 'the host'}, try again later (EAI_AGAIN)`;
    default:
      return undefined;
  }
}

const CATEGORIES: Record<string, string> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  CERT_HAS_EXPIRED: 'tls',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls',
};

function failureCategory(error: unknown): string {
  const inner = error instanceof AggregateError && error.errors.length > 0 ? error.errors[0] : error;
  const code = (inner as { code?: unknown } | undefined)?.code;
  const causeCode = ((inner as { cause?: { code?: unknown } } | undefined)?.cause)?.code;
  const quoted = inner instanceof Error ? /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT)\b/.exec(inner.message)?.[1] : undefined;
  return CATEGORIES[String(code)] ?? CATEGORIES[String(causeCode)] ?? CATEGORIES[String(quoted)] ?? 'error';
}

/** A definition's options do not change once loaded: their secrets are found once, not walked again at every run. */
const secretsByDefinition = new WeakMap<ProbeDefinition, string[]>();

function secretsOfDefinition(definition: ProbeDefinition): string[] {
  let secrets = secretsByDefinition.get(definition);
  if (!secrets) secretsByDefinition.set(definition, (secrets = secretsOf(definition.options)));
  return secrets;
}

/** Every secret value in the options, with a URL's password also on its own. */
function secretsOf(value: unknown, found: string[] = []): string[] {
  if (value instanceof Secret) {
    const revealed = value.reveal();
    found.push(revealed);
    try {
      const password = decodeURIComponent(new URL(revealed).password);
      if (password.length >= 3) found.push(password);
    } catch {
      // Not a URL: the whole value is the secret.
    }
  } else if (Array.isArray(value)) {
    for (const item of value) secretsOf(item, found);
  } else if (value && typeof value === 'object') {
    for (const item of Object.values(value)) secretsOf(item, found);
  }
  return found;
}

function redact(outcome: KindOutcome, secrets: string[]): KindOutcome {
  if (secrets.length === 0) return outcome;
  // The outcome is scrubbed as JSON, where a secret appears in its escaped form.
  const escaped = secrets.map((secret) => JSON.stringify(secret).slice(1, -1));
  const scrub = (text: string) => escaped.reduce((current, secret) => current.split(secret).join('[redacted]'), text);
  return JSON.parse(scrub(JSON.stringify(outcome))) as KindOutcome;
}

