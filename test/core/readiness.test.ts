import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkDirectory } from '../../core/disk.ts';
import { startVigil, type Vigil } from '../../core/lifecycle/start.ts';
import { createPostgresDatabase, testConfig } from '../support/backends.ts';
import { waitFor } from '../support/wait.ts';

interface ReadyzBody {
  status: string;
  reason?: string;
  checks: Array<{ name: string; ok: boolean; reason?: string }>;
}

async function readyz(url: string): Promise<{ status: number; body: ReadyzBody }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadyzBody };
}

/** A small tmpfs, so "disk full" is a real ENOSPC; needs root (CI and this machine), else the test says why it skips. */
function mountSmallVolume(dir: string, size: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a small tmpfs';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mount refused: ${(error as Error).message.split('\n')[0]}`;
  }
}

/** Writes zeros until the volume is full (ENOSPC); returns the filler file. */
function fillVolume(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const block = Buffer.alloc(1024 * 1024);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return filler;
}

describe('checkDirectory', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-dircheck-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a writable directory with room, and names the directory, the free space and the setting when below the floor', async () => {
    expect(await checkDirectory({ label: 'storage directory', directory: dir, minFreeBytes: 1024 })).toMatchObject({ ok: true, freeBytes: expect.any(Number) });
    const low = await checkDirectory({ label: 'storage directory', directory: dir, minFreeBytes: 2 ** 60, floorSetting: 'processing.minFreeSpace' });
    expect(low.ok).toBe(false);
    expect(!low.ok && low.reason).toMatch(new RegExp(`^storage directory ${dir} has [\\d.]+ [KMGT]?B free, below the floor of [\\d.]+ TB \\(processing\\.minFreeSpace\\)$`));
    const missing = await checkDirectory({ label: 'storage directory', directory: path.join(dir, 'nope'), minFreeBytes: 0 });
    expect(missing).toEqual({ ok: false, reason: `storage directory ${path.join(dir, 'nope')} is not writable (ENOENT)` });
  });
});

describe('/readyz on a full data volume', () => {
  const volume = mkdtempSync(path.join(os.tmpdir(), 'vigil-volume-'));
  const skipReason = mountSmallVolume(volume, '160m');
  let vigil: Vigil;
  afterAll(async () => {
    await vigil?.stop(2000);
    if (!skipReason) execFileSync('umount', [volume]);
    rmSync(volume, { recursive: true, force: true });
  });

  it.skipIf(Boolean(skipReason))(`turns 503 naming the data directory when its volume fills up, and 200 when space returns${skipReason ? ` (skipped: ${skipReason})` : ''}`, async () => {
    const dataDir = path.join(volume, 'data');
    mkdirSync(dataDir);
    const store = { dataDir, tempDir: volume, cleanup: async () => {} };
    vigil = await startVigil({ config: testConfig(store, { database: { dataDir, minFreeSpace: '16MB' } }), modules: [] });
    expect((await readyz(vigil.url)).status).toBe(200);

    const filler = fillVolume(volume);
    const full = await readyz(vigil.url);
    expect(full.status).toBe(503);
    const check = full.body.checks.find((candidate) => candidate.name === 'data directory');
    expect(check?.ok).toBe(false);
    expect(check?.reason).toMatch(/^data directory .+ is not writable \(ENOSPC\)$|has .* free, below the floor of 16\.0 MB \(database\.minFreeSpace\)$/);
    expect((await fetch(`${vigil.url}/healthz`)).status).toBe(200);
    console.log(`full data volume: /readyz ${full.status}: ${JSON.stringify(full.body.checks)}`);

    rmSync(filler);
    await waitFor('readyz to recover', async () => (await readyz(vigil.url)).status === 200);
  });
});

const postgresUnavailable = inject('postgresUnavailable');

describe.skipIf(Boolean(postgresUnavailable))(`/readyz on a store that answers reads but refuses writes${postgresUnavailable ? ` [skipped: ${postgresUnavailable}]` : ''}`, () => {
  let vigil: Vigil;
  let database: { url: string; drop(): Promise<void> };
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-readonly-'));

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const store = { databaseUrl: database.url, dataDir: path.join(tempDir, 'data'), tempDir, cleanup: async () => {} };
    vigil = await startVigil({ config: testConfig(store), modules: [] });
  });

  afterAll(async () => {
    await vigil?.stop(2000);
    await database?.drop();
    rmSync(tempDir, { recursive: true, force: true });
  });

  it('turns 503 when the database becomes read-only (select 1 still works), and 200 when it takes writes again', async () => {
    expect((await readyz(vigil.url)).status).toBe(200);
    const name = new URL(database.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      // As after a failover onto a standby: new sessions are read-only, and the old ones are cut (57P01).
      await admin.query(`alter database ${name} set default_transaction_read_only = on`);
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [name]);
      await vigil.db.query('select 1').catch(() => {});
      await vigil.db.query('select 1');
      const readOnly = await waitFor('readyz 503', async () => {
        const answer = await readyz(vigil.url);
        return answer.status === 503 ? answer : undefined;
      });
      expect(readOnly.body.reason).toMatch(/^database: .*read-only transaction/);
      await admin.query(`alter database ${name} set default_transaction_read_only = off`);
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [name]);
      await waitFor('readyz to recover', async () => (await readyz(vigil.url)).status === 200);
    } finally {
      await admin.end();
    }
  });
});
