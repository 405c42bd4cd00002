import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CoreConfig } from '../config/schema.ts';
import { Secret } from '../config/secret.ts';
import { isAlive } from '../db/lock.ts';

// A running Vigil leaves its address and a token only its user can read next to the data directory's lock, so
// the CLI in a second terminal reaches it without any setting.
const INSTANCE_FILE = 'vigil.instance.json';
const TOKEN_FILE = 'vigil.admin-token';

export interface LocalInstance {
  url: string;
  token: Secret;
  pid: number;
}

interface InstanceRecord {
  url: string;
  pid: number;
  host: string;
  /** Which store it serves, so a CLI configured for another database never takes it for its own. */
  store: string;
}

/** The embedded store's directory, or a digest of the PostgreSQL URL (never the URL itself: it may hold a password). */
export function storeIdentity(database: CoreConfig['database']): string {
  return database.url ? `postgres:${createHash('sha256').update(database.url.reveal()).digest('hex').slice(0, 16)}` : `pglite:${path.resolve(database.dataDir)}`;
}

/** A fresh token accepted by the admin API of this process only. */
export function createLocalToken(): Secret {
  return new Secret(randomBytes(32).toString('base64url'));
}

/** Writes the instance's address and local token (mode 0600); the returned function removes them if they are still this process's. */
export function advertiseInstance(database: CoreConfig['database'], url: string, token: Secret): () => void {
  const { dataDir } = database;
  const record: InstanceRecord = { url, pid: process.pid, host: os.hostname(), store: storeIdentity(database) };
  const tokenFile = path.join(dataDir, TOKEN_FILE);
  mkdirSync(dataDir, { recursive: true });
  rmSync(tokenFile, { force: true });
  writeFileSync(tokenFile, token.reveal(), { mode: 0o600, flag: 'wx' });
  writeFileSync(path.join(dataDir, INSTANCE_FILE), JSON.stringify(record), { mode: 0o600 });
  return () => {
    if (readRecord(dataDir)?.pid !== process.pid) return;
    rmSync(path.join(dataDir, INSTANCE_FILE), { force: true });
    rmSync(tokenFile, { force: true });
  };
}

/** The Vigil running on this host on this store, advertised in its data directory, if one does. */
export function findLocalInstance(database: CoreConfig['database']): LocalInstance | undefined {
  const { dataDir } = database;
  const record = readRecord(dataDir);
  if (!record || record.host !== os.hostname() || record.store !== storeIdentity(database) || !isAlive(record.pid)) return undefined;
  try {
    return { url: record.url, pid: record.pid, token: new Secret(readFileSync(path.join(dataDir, TOKEN_FILE), 'utf8').trim()) };
  } catch {
    return undefined;
  }
}

function readRecord(dataDir: string): InstanceRecord | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dataDir, INSTANCE_FILE), 'utf8')) as InstanceRecord;
  } catch {
    return undefined;
  }
}
