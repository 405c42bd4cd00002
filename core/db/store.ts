import type { Migration, Queryable } from './types.ts';

/** Core's own tables, applied before every module's. */
export const coreMigrations: readonly Migration[] = [
  {
    id: 'core/001_readiness',
    sql: `create table vigil_readiness (
      writer text primary key,
      written_at timestamptz not null
    )`,
  },
];

/** The write /readyz makes: one row per process kind, so a store that answers `select 1` but refuses writes is seen. */
export async function recordReadinessWrite(db: Queryable, writer: string): Promise<void> {
  await db.query(
    `insert into vigil_readiness (writer, written_at) values ($1, now())
     on conflict (writer) do update set written_at = excluded.written_at`,
    [writer],
  );
}
