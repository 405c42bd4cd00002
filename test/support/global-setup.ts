import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

declare module 'vitest' {
  export interface ProvidedContext {
    /** null when PostgreSQL answers at VIGIL_TEST_DATABASE_URL, else why not (its suites are skipped by name). */
    postgresUnavailable: string | null;
    chromiumPath: string | null;
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

export default async function setup(project: TestProject): Promise<void> {
  const postgresUnavailable = await checkPostgres();
  if (postgresUnavailable) console.warn(`PostgreSQL suites will be skipped: ${postgresUnavailable}`);
  project.provide('postgresUnavailable', postgresUnavailable);
  project.provide('chromiumPath', ensureChromium());
}
