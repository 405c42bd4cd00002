import type { Db, Queryable } from '../core/db/index.ts';

export class NotLeaderError extends Error {
  constructor() {
    super('this process no longer holds the alerts lease');
    this.name = 'NotLeaderError';
  }
}

/**
 * One row in the database names the process that evaluates and delivers. The holder renews it; anyone takes it once
 * it has expired, and each takeover bumps the fencing token, so writes of a holder that lost the lease are refused.
 */
export function createLease(db: Db, holder: string, ttl: number, now: () => number) {
  let token: number | undefined;
  let expiresAt = 0;
  return {
    get token() {
      return token;
    },
    /** Takes or renews the lease; true while this process holds it. */
    async acquire(): Promise<boolean> {
      const at = now();
      const rows = await db.query<{ token: number; holder: string }>(
        `insert into alerts_leader (name, holder, token, expires_at) values ('alerts', $1, 1, $2)
         on conflict (name) do update set
           token = case when alerts_leader.holder = $1 then alerts_leader.token else alerts_leader.token + 1 end,
           holder = $1, expires_at = $2
         where alerts_leader.holder = $1 or alerts_leader.expires_at <= $3
         returning token, holder`,
        [holder, at + ttl, at],
      );
      token = rows[0]?.token;
      expiresAt = token === undefined ? 0 : at + ttl;
      return token !== undefined;
    },
    /** True while the lease is ours with a safety margin (a third of the ttl) left. */
    holds(): boolean {
      return token !== undefined && now() < expiresAt - ttl / 3;
    },
    async fence(q: Queryable): Promise<void> {
      const rows = await q.query(`select 1 from alerts_leader where name = 'alerts' and holder = $1 and token = $2 and expires_at > $3`, [holder, token ?? -1, now()]);
      if (rows.length === 0) throw new NotLeaderError();
    },
    async release(): Promise<void> {
      if (token === undefined) return;
      await db.query(`update alerts_leader set expires_at = 0 where name = 'alerts' and holder = $1 and token = $2`, [holder, token]);
      token = undefined;
    },
  };
}

export type Lease = ReturnType<typeof createLease>;
