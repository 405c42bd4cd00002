import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

declare module 'vitest' {
  export interface ProvidedContext {
    /** null when PostgreSQL answers at VIGIL_TEST_DATABASE_URL, else why not (its suites are skipped by name). */
    postgresUnavailable: string | null;
    chromiumPath: string | null;
    /** An embedded data directory with every migration and the queue's schema applied, copied for each PGlite test store. */
    pgliteTemplate: string;
    /** Where `testClips` keeps the clips it made for this run. */
    clipDir: string;
    /** A PostgreSQL database with the same, the template of each PostgreSQL test store; null without PostgreSQL. */
    postgresTemplate: string | null;
  }
}

async function checkPostgres(): Promise<string | null> {
  const url = process.env.VIGIL_TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return `no PostgreSQL at ${url}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The browser tests need Debian's Chromium; install it when we can (root with apt-get), else say how. */
function ensureChromium(): string {
  const path = process.env.VIGIL_CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return path;
  const command = 'apt-get update && apt-get install -y chromium';
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    console.log(`Chromium is missing; running: ${command}`);
    execFileSync('sh', ['-c', `${command} >/dev/null`], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (existsSync(path)) return path;
  }
  throw new Error(`The browser tests need Chromium at ${path}. Install it with: sudo sh -c '${command}' (or set VIGIL_CHROMIUM_PATH).`);
}

/**
 * Creating a store and applying a hundred migrations costs seconds, and the suite makes hundreds of stores: they
 * start from a copy of one made here instead (a data directory copied, or a PostgreSQL database made with it as its
 * template). Only the schema is in it, no process has run on it: a copy is what a first start would have made.
 */
async function makeStoreTemplate(where: string): Promise<void> {
  // In a process of its own: the product's modules load as Node runs them, outside the test runner's module loader.
  await promisify(execFile)(process.execPath, [fileURLToPath(new URL('./store-template.ts', import.meta.url)), where]);
}

async function makePgliteTemplate(): Promise<{ dataDir: string; remove(): void }> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vigil-template-'));
  const dataDir = path.join(root, 'data');
  await makeStoreTemplate(dataDir);
  return { dataDir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

async function makePostgresTemplate(): Promise<{ name: string; remove(): Promise<void> }> {
  const baseUrl = process.env.VIGIL_TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const name = `vigil_template_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  await makeStoreTemplate(url.toString());
  return { name, remove: () => admin(`drop database if exists ${name} with (force)`) };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgresUnavailable = await checkPostgres();
  if (postgresUnavailable) console.warn(`PostgreSQL suites will be skipped: ${postgresUnavailable}`);
  project.provide('postgresUnavailable', postgresUnavailable);
  project.provide('chromiumPath', ensureChromium());
  const [embedded, postgres] = await Promise.all([makePgliteTemplate(), postgresUnavailable ? null : makePostgresTemplate()]);
  project.provide('pgliteTemplate', embedded.dataDir);
  project.provide('postgresTemplate', postgres?.name ?? null);
  const clipDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-clips-'));
  project.provide('clipDir', clipDir);
  return async () => {
    embedded.remove();
    rmSync(clipDir, { recursive: true, force: true });
    await postgres?.remove();
  };
}
