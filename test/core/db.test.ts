import { afterEach, beforeEach, expect, it } from 'vitest';
import { DataDirLockedError, migrate, openDb, openEmbeddedDb, type Db } from '../../core/db/index.ts';
import { describeEachBackend, testConfig, type TestStore } from '../support/backends.ts';

const MIGRATIONS = [
  { id: 'test/001_things', sql: 'create table things (id serial primary key, name text not null)' },
  { id: 'test/002_things_seed', sql: "insert into things (name) values ('first')" },
];

describeEachBackend('database and migrations', (backend) => {
  let store: TestStore;
  let db: Db;

  beforeEach(async () => {
    store = await backend.createStore({ empty: true });
    db = await openDb(testConfig(store).database);
  });

  afterEach(async () => {
    await db.close();
    await store.cleanup();
  });

  it('applies migrations once; a second run changes nothing', async () => {
    const first = await migrate(db, MIGRATIONS);
    expect(first.applied).toEqual(['test/001_things', 'test/002_things_seed']);
    const second = await migrate(db, MIGRATIONS);
    expect(second).toEqual({ applied: [], alreadyApplied: 2 });
    expect(await db.query('select name from things')).toEqual([{ name: 'first' }]);
  });

  it.runIf(backend.name === 'PostgreSQL')('applies each migration once when two processes start together', async () => {
    const other = await openDb(testConfig(store).database);
    try {
      const reports = await Promise.all([migrate(db, MIGRATIONS), migrate(other, MIGRATIONS)]);
      expect(reports.map((report) => report.applied.length).sort()).toEqual([0, 2]);
      expect(await db.query('select count(*)::int as n from things')).toEqual([{ n: 1 }]);
    } finally {
      await other.close();
    }
  });

  it('rolls back a failing migration whole and names it', async () => {
    await expect(migrate(db, [...MIGRATIONS, { id: 'test/003_broken', sql: 'alter table nothing add column x int' }])).rejects.toThrow(
      /Migration test\/003_broken failed/,
    );
    expect(await db.query("select to_regclass('things') as t")).toEqual([{ t: null }]);
  });

  it('commits a transaction and rolls back a failed one', async () => {
    await migrate(db, MIGRATIONS);
    await db.transaction(async (tx) => tx.query("insert into things (name) values ('kept')"));
    await expect(
      db.transaction(async (tx) => {
        await tx.query("insert into things (name) values ('lost')");
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await db.query<{ name: string }>('select name from things order by id')).map((row) => row.name)).toEqual(['first', 'kept']);
  });

  // The embedded engine's lock table is sized for 4 connections (core/db/pglite.ts): a migration making 600 tables with
  // their indexes (1,200 locks held to the end of its transaction) must still fit.
  it('holds the locks of a migration making 600 tables', async () => {
    const sql = "do $$ begin for i in 1..600 loop execute format('create table many_%s (id int primary key)', i); end loop; end $$";
    await migrate(db, [{ id: 'test/many_tables', sql }]);
    expect(await db.query("select count(*)::int as n from pg_class where relname like 'many\\_%' and relkind = 'r'")).toEqual([{ n: 600 }]);
  });
});

describeEachBackend('embedded data directory lock', (backend) => {
  it.runIf(backend.name === 'PGlite')('refuses a second opener of the same directory, naming the holder', async () => {
    const store = await backend.createStore();
    const first = await openEmbeddedDb(store.dataDir);
    try {
      const error = await openEmbeddedDb(store.dataDir).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(DataDirLockedError);
      expect((error as Error).message).toContain(`process ${process.pid}`);
      expect((error as Error).message).toContain('in use');
    } finally {
      await first.close();
    }
    const again = await openEmbeddedDb(store.dataDir);
    await again.close();
    await store.cleanup();
  });
});

describeEachBackend("embedded engine's package files", (backend) => {
  it.runIf(backend.name === 'PGlite')('lets go of the files a running engine never reads, and keeps what the store uses working', async () => {
    const store = await backend.createStore();
    const db = await openEmbeddedDb(store.dataDir);
    try {
      type Node = { contents: Uint8Array };
      const fs = (db.engine as unknown as { mod: { FS: { analyzePath(path: string): { exists: boolean }; lookupPath(path: string): { node: Node } } } }).mod.FS;
      for (const gone of ['/pglite/share/postgresql/postgres.bki', '/pglite/lib/postgresql/dict_snowball.so', '/pglite/icu/icudt76l/coll/ucadata.icu']) expect(fs.analyzePath(gone).exists, gone).toBe(false);
      // What is left holds its own bytes, not a view on the whole package (which is then freed).
      for (const kept of ['/pglite/lib/postgresql/plpgsql.so', '/pglite/share/postgresql/timezone/Europe/Paris', '/pglite/share/postgresql/timezonesets/Default']) {
        const { contents } = fs.lookupPath(kept).node;
        expect(contents.byteLength, kept).toBeGreaterThan(0);
        expect(contents.buffer.byteLength, kept).toBe(contents.byteLength);
      }
      await db.query('create function plus_one(x int) returns int language plpgsql as $$ begin return x + 1; end $$');
      expect(await db.query('select plus_one(41) as n')).toEqual([{ n: 42 }]);
      expect(await db.query("select to_char(timestamptz '2026-07-01 12:00:00+00' at time zone 'Europe/Paris', 'HH24:MI') as paris")).toEqual([{ paris: '14:00' }]);
      expect(await db.query("select 'b' > 'a' as ordered, upper('é') as upper")).toEqual([{ ordered: true, upper: 'É' }]);
    } finally {
      await db.close();
      await store.cleanup();
    }
  });
});
