import type { Db, Migration } from './types.ts';

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

/** Applies the migrations not applied yet, in order, in one transaction under an advisory lock,
 * so concurrent starts on one PostgreSQL apply each exactly once and a second run changes nothing. */
export async function migrate(db: Db, migrations: readonly Migration[]): Promise<MigrationReport> {
  const ids = new Set<string>();
  for (const migration of migrations) {
    if (ids.has(migration.id)) throw new Error(`Migration id ${migration.id} is declared twice`);
    ids.add(migration.id);
  }
  return db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext('vigil.migrations'))`);
    await tx.query(`create table if not exists vigil_migrations (
      id text primary key,
      applied_at timestamptz not null default now()
    )`);
    const done = new Set((await tx.query<{ id: string }>('select id from vigil_migrations')).map((row) => row.id));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      try {
        await tx.query(migration.sql);
      } catch (error) {
        throw new Error(`Migration ${migration.id} failed: ${(error as Error).message}`, { cause: error });
      }
      await tx.query('insert into vigil_migrations (id) values ($1)', [migration.id]);
      applied.push(migration.id);
    }
    return { applied, alreadyApplied: done.size };
  });
}
