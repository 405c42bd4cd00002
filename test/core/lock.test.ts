import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, openEmbeddedDb } from '../../core/db/index.ts';
import { acquireDataDirLock } from '../../core/db/lock.ts';
import { spawnNode, type RunningProcess } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';

const HOLDER = path.join(import.meta.dirname, 'fixtures/embedded-db.ts');
const PGLITE_VERSION = (JSON.parse(readFileSync(path.join(import.meta.dirname, '../../node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }).version;

describe('embedded data directory: lock and first start', () => {
  const dirs: string[] = [];
  const children: RunningProcess[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-lock-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
      await child.exited;
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function holdInChild(dataDir: string): Promise<RunningProcess> {
    const child = spawnNode(HOLDER, [dataDir]);
    children.push(child);
    await waitFor('the child to open the store', () => child.output().includes('open ') || (child.child.exitCode !== null && Promise.reject(new Error(child.output()))), 60_000);
    return child;
  }

  it('takes over a lock file left by a dead holder with our own pid, and one from another hostname', async () => {
    for (const stale of [
      { pid: process.pid, host: os.hostname(), startId: 'an-earlier-start', since: '2026-01-01T00:00:00Z', command: 'vigil start' },
      { pid: 1, host: 'recreated-container-4f2a', startId: 'another-start', since: '2026-01-01T00:00:00Z', command: 'vigil start' },
    ]) {
      const dir = tempDir();
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'vigil.lock'), JSON.stringify(stale));
      const release = await acquireDataDirLock(dir);
      await release();
    }
  });

  it('refuses a directory held by a live process, naming it, and takes it over the moment that process is killed', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const holder = await holdInChild(dataDir);
    const error = await openEmbeddedDb(dataDir).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as Error).message).toContain(`process ${holder.child.pid}`);
    holder.child.kill('SIGKILL');
    await holder.exited;
    // The kernel drops the lock with its holder: no file to delete by hand, no lease to wait out.
    const db = await waitFor('the lock to be released', () => openEmbeddedDb(dataDir).catch((caught: unknown) => (caught instanceof DataDirLockedError ? undefined : Promise.reject(caught))), 10_000);
    expect(await db.query('select 1 as one')).toEqual([{ one: 1 }]);
    await db.close();
  });

  it('a first start killed at any point leaves a directory the next start opens', async () => {
    for (const killAfterMs of [50, 250, 600, 1200]) {
      const dataDir = path.join(tempDir(), 'data');
      const child = spawnNode(HOLDER, [dataDir]);
      children.push(child);
      await waitFor('the child to begin', () => readdirSync(path.dirname(dataDir)).length > 0 || child.output().length > 0, 30_000);
      // The delay only picks the moment of the kill (template unpack, rename, reopen); nothing is asserted on time.
      await new Promise((resolve) => setTimeout(resolve, killAfterMs));
      child.child.kill('SIGKILL');
      await child.exited;
      const db = await openEmbeddedDb(dataDir);
      try {
        expect(await db.query('select 1 as one'), `killed after ${killAfterMs} ms`).toEqual([{ one: 1 }]);
      } finally {
        await db.close();
      }
      expect(readdirSync(dataDir).filter((entry) => entry.startsWith('pg.partial-'))).toEqual([]);
    }
  });

  describe('a new store on a machine without the initdb template', () => {
    const MiB = 1024 * 1024;
    const templateIn = (templates: string) => path.join(templates, readdirSync(templates).find((name) => name.endsWith('-initdb.tar.gz'))!);
    const instancesOf = (holder: RunningProcess) => Number(/webassembly-instances (\d+)/.exec(holder.output())![1]);
    const holdWithTemplatesIn = async (dataDir: string, templates: string) => {
      const child = spawnNode(HOLDER, [dataDir, templates]);
      children.push(child);
      await waitFor('the child to open the store', () => child.output().includes('open ') || (child.child.exitCode !== null && Promise.reject(new Error(child.output()))), 60_000);
      return child;
    };

    // initdb in this process made three more WebAssembly engines, and peaked at 540 MiB against 145 MiB with one
    // (bench/startup.ts).
    it('runs initdb in a child process, leaves the template for the next new store, and holds one engine', async () => {
      const templates = path.join(tempDir(), 'templates');
      const holder = await holdWithTemplatesIn(path.join(tempDir(), 'data'), templates);
      expect(statSync(templateIn(templates)).size).toBeGreaterThan(MiB);
      expect(instancesOf(holder)).toBe(1);
    });

    it('rebuilds a template that cannot be unpacked', async () => {
      const templates = tempDir();
      const broken = path.join(templates, `pglite-${PGLITE_VERSION}-initdb.tar.gz`);
      writeFileSync(broken, 'not a tar file');
      await holdWithTemplatesIn(path.join(tempDir(), 'data'), templates);
      expect(statSync(broken).size).toBeGreaterThan(MiB);
    });

    it('where no template directory can be written, makes the template beside the data directory and removes it', async () => {
      const notADirectory = path.join(tempDir(), 'a-file');
      writeFileSync(notADirectory, '');
      const dataDir = path.join(tempDir(), 'data');
      await holdWithTemplatesIn(dataDir, path.join(notADirectory, 'templates'));
      expect(readdirSync(dataDir).filter((entry) => entry.includes('initdb'))).toEqual([]);
    });
  });

  it('rebuilds a store an older version left half-made (initdb never finished: no PG_VERSION)', async () => {
    const dataDir = path.join(tempDir(), 'data');
    mkdirSync(path.join(dataDir, 'pg', 'base'), { recursive: true });
    writeFileSync(path.join(dataDir, 'pg', 'postgresql.conf'), '');
    const db = await openEmbeddedDb(dataDir);
    try {
      expect(await db.query('select 1 as one')).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });
});
