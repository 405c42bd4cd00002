import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
}

/** A fresh token accepted by the admin API of this process only. */
export function createLocalToken(): Secret {
  return new Secret(randomBytes(32).toString('base64url'));
}

/** Writes the instance's address and local token (mode 0600); the returned function removes them if they are still this process's. */
export function advertiseInstance(dataDir: string, url: string, token: Secret): () => void {
  const record: InstanceRecord = { url, pid: process.pid, host: os.hostname() };
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

/** The Vigil running on this host from `dataDir`, if one does. */
export function findLocalInstance(dataDir: string): LocalInstance | undefined {
  const record = readRecord(dataDir);
  if (!record || record.host !== os.hostname() || !isAlive(record.pid)) return undefined;
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
