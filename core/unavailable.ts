// A dependency that is down, full or too slow is not a bug in Vigil: callers wait and retry, HTTP answers
// 503 (507 when out of space) with Retry-After, and logs name the cause instead of a stack trace per attempt.

/** Why a dependency could not serve: not reachable, shutting down, too slow, or out of space. */
export type UnavailableReason = 'unreachable' | 'shutdown' | 'timeout' | 'full';

export interface DependencyFailure {
  reason: UnavailableReason;
  /** The cause as the dependency reported it: an errno code (ECONNREFUSED, ENOSPC), a SQLSTATE (57P01) or "timeout". */
  cause: string;
}

const ERRNO_REASONS: Record<string, UnavailableReason> = {
  ECONNREFUSED: 'unreachable',
  ECONNRESET: 'unreachable',
  ECONNABORTED: 'unreachable',
  EPIPE: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETUNREACH: 'unreachable',
  ENETDOWN: 'unreachable',
  EAI_AGAIN: 'unreachable',
  ETIMEDOUT: 'timeout',
  ENOSPC: 'full',
  EDQUOT: 'full',
};

// PostgreSQL error codes (SQLSTATE) that say the server, not the statement, is the problem.
const SQLSTATE_REASONS: Record<string, UnavailableReason> = {
  '08000': 'unreachable', // connection_exception
  '08001': 'unreachable', // sqlclient_unable_to_establish_sqlconnection
  '08003': 'unreachable', // connection_does_not_exist
  '08004': 'unreachable', // sqlserver_rejected_establishment_of_sqlconnection
  '08006': 'unreachable', // connection_failure
  '53300': 'unreachable', // too_many_connections
  '57P01': 'shutdown', // admin_shutdown
  '57P02': 'shutdown', // crash_shutdown
  '57P03': 'shutdown', // cannot_connect_now (starting up or recovering)
  '57014': 'timeout', // query_canceled (statement_timeout)
  '25P03': 'timeout', // idle_in_transaction_session_timeout
  '53100': 'full', // disk_full
};

// Failures that node-postgres, pg-pool and PGlite report by message only.
const MESSAGE_REASONS: Array<[RegExp, DependencyFailure]> = [
  [/timeout exceeded when trying to connect/i, { reason: 'timeout', cause: 'pool timeout' }],
  [/connection terminated due to connection timeout/i, { reason: 'timeout', cause: 'connect timeout' }],
  [/query read timeout/i, { reason: 'timeout', cause: 'query timeout' }],
  [/connection terminated/i, { reason: 'unreachable', cause: 'connection terminated' }],
  [/client has encountered a connection error/i, { reason: 'unreachable', cause: 'connection error' }],
  [/no space left on device/i, { reason: 'full', cause: 'ENOSPC' }],
  [/disk quota exceeded/i, { reason: 'full', cause: 'EDQUOT' }],
];

/** What a raw error says about a dependency's availability, or undefined when it is an ordinary error
 * (a bad statement, a constraint, a bug). Looks through `cause` chains and AggregateError members. */
export function classifyDependencyFailure(error: unknown, depth = 0): DependencyFailure | undefined {
  if (depth > 5 || typeof error !== 'object' || error === null) return undefined;
  if (error instanceof DependencyUnavailableError) return { reason: error.reason, cause: error.failure };
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    const reason = ERRNO_REASONS[code] ?? SQLSTATE_REASONS[code];
    if (reason) return { reason, cause: code };
  }
  if (typeof message === 'string') {
    for (const [pattern, failure] of MESSAGE_REASONS) if (pattern.test(message)) return failure;
  }
  for (const member of error instanceof AggregateError ? error.errors : []) {
    const failure = classifyDependencyFailure(member, depth + 1);
    if (failure) return failure;
  }
  return classifyDependencyFailure((error as { cause?: unknown }).cause, depth + 1);
}

const RETRY_AFTER_SECONDS: Record<UnavailableReason, number> = { unreachable: 10, shutdown: 10, timeout: 10, full: 60 };

export interface DependencyUnavailableInit extends DependencyFailure {
  /** What is unavailable, in words a person reads: "database", "storage directory". */
  dependency: string;
  /** The underlying message, for logs and readiness reasons (never shown to end users). */
  detail?: string;
  retryAfterSeconds?: number;
}

/** The one error every module throws (or lets core derive) when something Vigil depends on is unavailable. */
export class DependencyUnavailableError extends Error {
  readonly dependency: string;
  readonly reason: UnavailableReason;
  /** The dependency's own cause code (ECONNREFUSED, 57P01, ENOSPC, ...). */
  readonly failure: string;
  readonly retryAfterSeconds: number;

  constructor(init: DependencyUnavailableInit, options?: { cause?: unknown }) {
    super(`${init.dependency} unavailable (${init.cause})${init.detail ? `: ${init.detail}` : ''}`, options);
    this.name = 'DependencyUnavailableError';
    this.dependency = init.dependency;
    this.reason = init.reason;
    this.failure = init.cause;
    this.retryAfterSeconds = init.retryAfterSeconds ?? RETRY_AFTER_SECONDS[init.reason];
  }

  /** 507 Insufficient Storage when out of space, else 503 Service Unavailable. */
  get httpStatus(): 503 | 507 {
    return this.reason === 'full' ? 507 : 503;
  }

  /** A sentence for whoever made the request: what happened and what to do, no paths or internals. */
  get publicMessage(): string {
    const wait = `Please try again in ${this.retryAfterSeconds} seconds.`;
    switch (this.reason) {
      case 'full':
        return `The service's ${this.dependency} is out of space, so this request was not carried out; an operator has to free space. ${wait}`;
      case 'timeout':
        return `The service's ${this.dependency} is not answering in time, so this request was not carried out. ${wait}`;
      case 'shutdown':
        return `The service's ${this.dependency} is restarting, so this request was not carried out. ${wait}`;
      default:
        return `The service cannot reach its ${this.dependency} at the moment, so this request was not carried out. ${wait}`;
    }
  }
}

/** `error` as a DependencyUnavailableError naming `dependency` if it is one (or already was), else undefined. */
export function asDependencyUnavailable(error: unknown, dependency?: string): DependencyUnavailableError | undefined {
  if (error instanceof DependencyUnavailableError) return error;
  const failure = classifyDependencyFailure(error);
  if (!failure) return undefined;
  const detail = (error as { message?: unknown }).message;
  return new DependencyUnavailableError(
    { ...failure, dependency: dependency ?? (failure.reason === 'full' ? 'disk' : 'backing services'), ...(typeof detail === 'string' && detail ? { detail } : {}) },
    { cause: error },
  );
}

/** Rethrow helper for a dependency's adapter: unavailability becomes DependencyUnavailableError, anything else passes unchanged. */
export function rethrowAsUnavailable(dependency: string): (error: unknown) => never {
  return (error) => {
    throw asDependencyUnavailable(error, dependency) ?? error;
  };
}

/** A short, stable key for "the same error again": the classified cause, else the error's code, else its message. */
export function failureKey(error: unknown): string {
  const failure = classifyDependencyFailure(error);
  if (failure) return failure.cause;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return code;
  return typeof message === 'string' ? message.slice(0, 200) : String(error).slice(0, 200);
}
