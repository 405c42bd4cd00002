import type { Db, Queryable } from '../core/db/index.ts';
import { acquireLease, currentLeaseHolder, leaseIsHeld, releaseLease } from './store.ts';

export class NotLeaderError extends Error {
  constructor() {
    super('this process no longer holds the alerts lease');
    this.name = 'NotLeaderError';
  }
}

/** Whether a process with this pid runs on this machine now. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A holder name is "<instance>#<pid>". A holder of the same instance (this machine and installation) whose pid no
 * longer runs is this process's own predecessor, dead: its lease is taken at once instead of waiting out the TTL.
 */
export function deadPredecessor(holder: string | undefined, instance: string, isAlive: (pid: number) => boolean = alive): string | undefined {
  if (!holder?.startsWith(`${instance}#`)) return undefined;
  const pid = Number(holder.slice(instance.length + 1));
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid) ? holder : undefined;
}

/**
 * One row in the database names the process that evaluates and delivers. The holder renews it; anyone takes it once
 * it has expired, and each takeover bumps the fencing token, so writes of a holder that lost the lease are refused.
 */
export function createLease(db: Db, identity: { holder: string; instance?: string }, ttl: number, now: () => number) {
  const { holder } = identity;
  let token: number | undefined;
  let expiresAt = 0;
  return {
    get token() {
      return token;
    },
    /** Takes or renews the lease; true while this process holds it. */
    async acquire(): Promise<boolean> {
      const at = now();
      const predecessor = token === undefined && identity.instance ? deadPredecessor(await currentLeaseHolder(db), identity.instance) : undefined;
      token = await acquireLease(db, { holder, sameHolder: predecessor ?? holder, ttl, now: at });
      expiresAt = token === undefined ? 0 : at + ttl;
      return token !== undefined;
    },
    /** True while the lease is ours with a safety margin (a third of the ttl) left. */
    holds(): boolean {
      return token !== undefined && now() < expiresAt - ttl / 3;
    },
    async fence(q: Queryable): Promise<void> {
      if (token === undefined || !(await leaseIsHeld(q, holder, token, now()))) throw new NotLeaderError();
    },
    async release(): Promise<void> {
      if (token === undefined) return;
      await releaseLease(db, holder, token);
      token = undefined;
    },
  };
}

export type Lease = ReturnType<typeof createLease>;
