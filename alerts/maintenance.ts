import type { Queryable } from '../core/db/index.ts';
import type { Labels } from './config.ts';
import { matches } from './matchers.ts';

export interface Maintenance {
  id: number;
  title: string;
  matchers: Labels;
  startsAt: number;
  endsAt: number;
  author: string;
  comment: string;
}

interface MaintenanceRow {
  id: number;
  title: string;
  matchers: Labels;
  starts_at: number;
  ends_at: number;
  author: string;
  comment: string;
}

export const toMaintenance = (row: MaintenanceRow): Maintenance => ({
  id: row.id,
  title: row.title,
  matchers: row.matchers,
  startsAt: row.starts_at,
  endsAt: row.ends_at,
  author: row.author,
  comment: row.comment,
});

/** Maintenance windows overlapping [from, to] (the status page shows these). */
export async function listMaintenances(q: Queryable, range: { from: number; to: number }): Promise<Maintenance[]> {
  const rows = await q.query<MaintenanceRow>('select * from alerts_maintenances where starts_at <= $2 and ends_at >= $1 order by starts_at, id', [range.from, range.to]);
  return rows.map(toMaintenance);
}

export async function maintenanceCovering(q: Queryable, labels: Labels, at: number): Promise<Maintenance | undefined> {
  return (await listMaintenances(q, { from: at, to: at })).find((maintenance) => at < maintenance.endsAt && matches(maintenance.matchers, labels));
}
