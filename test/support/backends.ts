import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, inject, it } from 'vitest';
import { migrate, openDb, type Db } from '../../core/db/index.ts';
import type { Migration } from '../../core/db/types.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { parseConfig, type VigilConfig, type VigilConfigInput } from '../../app/config.ts';
import { fixture, fixtureView, type FixtureScope } from './fixtures.ts';
import { DEFAULT_TEST_DATABASE_URL } from './global-setup.ts';

/** Where a test's data lives: a fresh temp directory, and on PostgreSQL a fresh database. Both removed by `cleanup`. */
export interface TestStore {
  /** Config fields pointing at this store (database.url or dataDir, processing.storageDir). */
  databaseUrl?: string;
  dataDir: string;
  tempDir: string;
  cleanup(): Promise<void>;
}

export interface Backend {
  name: 'PGlite' | 'PostgreSQL';
  /**
   * A new store. The embedded one comes with Vigil's current schema already applied (a copy of one migrated in the
   * global setup, which is what a first start makes); `{ empty: true }` for a test of migrations or of a first start.
   */
  createStore(options?: { empty?: boolean }): Promise<TestStore>;
}

export const pgliteBackend: Backend = {
  name: 'PGlite',
  async createStore({ empty = false } = {}) {
    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-test-'));
    const dataDir = path.join(tempDir, 'data');
    if (!empty) cpSync(inject('pgliteTemplate'), dataDir, { recursive: true });
    return { dataDir, tempDir, cleanup: async () => rmSync(tempDir, { recursive: true, force: true }) };
  },
};

export const postgresBackend: Backend = {
  name: 'PostgreSQL',
  async createStore({ empty = false } = {}) {
    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-test-'));
    const { url, drop } = await createPostgresDatabase({ fromTemplate: !empty });
    return {
      databaseUrl: url,
      dataDir: path.join(tempDir, 'data'),
      tempDir,
      async cleanup() {
        await drop();
        rmSync(tempDir, { recursive: true, force: true });
      },
    };
  },
};

/**
 * Creates a uniquely named database on the test server, empty or (`fromTemplate`) with Vigil's schema from the
 * global setup's template; `drop` removes it (even with open connections).
 */
export async function createPostgresDatabase({ fromTemplate = false } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const baseUrl = process.env.VIGIL_TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const name = `vigil_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    const template = fromTemplate ? inject('postgresTemplate') : null;
    await admin.query(template ? `create database ${name} template ${template}` : `create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Runs the same suite on PGlite and on PostgreSQL; PostgreSQL is reported as skipped, by name, when no server answers.
 * `sideBySide`: the two backends' suites run at the same time (each still one case after another), for a suite that
 * mostly waits on real time (polls, intervals) and keeps all its state inside `suite`.
 */
export function describeEachBackend(title: string, suite: (backend: Backend) => void, { sideBySide = false } = {}): void {
  const postgresUnavailable = inject('postgresUnavailable');
  const each = (name: string, backend: Backend, skip = false) =>
    describe(name, { concurrent: sideBySide, skip }, () => {
      // Cases inherit their suite's `concurrent`: the inner suite takes it back, so only the two backends overlap.
      if (sideBySide) describe('one case after another', { concurrent: false }, () => suite(backend));
      else suite(backend);
    });
  each(`${title} [PGlite]`, pgliteBackend);
  if (postgresUnavailable) each(`${title} [PostgreSQL: skipped, ${postgresUnavailable}]`, postgresBackend, true);
  else each(`${title} [PostgreSQL]`, postgresBackend);
}

/** A valid config for tests: ephemeral port, the store's database, quiet logs; `overrides` merged per section. */
export function testConfig(store: TestStore, overrides: Partial<Record<keyof VigilConfigInput, unknown>> = {}): VigilConfig {
  const base: Record<string, unknown> = {
    server: { host: '127.0.0.1', port: 0, shutdownTimeout: '5s' },
    database: store.databaseUrl ? { url: store.databaseUrl, dataDir: store.dataDir } : { dataDir: store.dataDir },
    logging: { level: process.env.VIGIL_TEST_LOG_LEVEL ?? 'silent' },
    processing: { storageDir: path.join(store.tempDir, 'storage') },
  };
  for (const [section, value] of Object.entries(overrides)) {
    const current = base[section];
    base[section] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? { ...(current as object), ...(value as object) }
        : value;
  }
  return parseConfig(base, 'test config');
}

/**
 * A store of its own for each test (`perTest.store`), or one the suite's tests share (`suite.store`), removed after;
 * called before the hooks that stop what runs on it, it goes last.
 */
export function storePer(scope: FixtureScope, backend: Backend): { readonly store: TestStore } {
  return fixtureView({ store: storeFixture(scope, backend) });
}

/** Vigil, as `start` starts it on a store of its own, for each test or for the suite (`perTest.vigil`, `perTest.store`); stopped, then removed, after. */
export function vigilPer(scope: FixtureScope, backend: Backend, start: (store: TestStore) => Promise<Vigil>): { readonly store: TestStore; readonly vigil: Vigil } {
  const store = storeFixture(scope, backend);
  return fixtureView({ store, vigil: fixture(scope, () => start(store()), (vigil) => vigil.stop()) });
}

/**
 * Each test gets a store of its own and a connection to it (`scratch.db`), removed after it: with Vigil's schema, or
 * `{ empty: true }` for migration and upgrade tests.
 */
export function databasePerTest(backend: Backend, { empty = false } = {}): { readonly db: Db } {
  const store = storeFixture('test', backend, { empty });
  return fixtureView({ db: fixture('test', () => openDb(testConfig(store()).database), (db) => db.close()) });
}

/** Reads the store `fixture` makes for each test or for the suite. */
export function storeFixture(scope: FixtureScope, backend: Backend, options: { empty?: boolean } = {}): () => TestStore {
  return fixture(scope, () => backend.createStore(options), (store) => store.cleanup());
}

/** A module's migrations up to and including `lastId`: the schema an older version left behind. */
function migrationsThrough(migrations: readonly Migration[], lastId: string): Migration[] {
  const last = migrations.findIndex((migration) => migration.id === lastId);
  if (last < 0) throw new Error(`no migration ${lastId}`);
  return migrations.slice(0, last + 1);
}

export interface StoreUpgrade {
  /** The module's migrations, as this version runs them. */
  migrations: readonly Migration[];
  /** The last migration the older version ran: the store starts with the schema it left behind. */
  from: string;
  /** Writes rows the way the older version did. */
  seed(db: Db): Promise<void>;
  /** Reads them back through this version's code once every migration ran. */
  check(db: Db): Promise<void>;
}

/** On each backend, the case `should`: an empty store migrated as far as `from`, seeded, migrated to this version's schema, then checked. */
export function describeStoreUpgrade(title: string, should: string, upgrade: StoreUpgrade): void {
  describeEachBackend(title, (backend) => {
    const scratch = databasePerTest(backend, { empty: true });
    it(should, async () => {
      const { db } = scratch;
      await migrate(db, migrationsThrough(upgrade.migrations, upgrade.from));
      await upgrade.seed(db);
      await migrate(db, upgrade.migrations);
      await upgrade.check(db);
    });
  });
}
