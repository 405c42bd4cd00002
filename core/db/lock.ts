import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

export interface LockHolder {
  pid: number;
  host: string;
  /** Unique per process start: pids and hostnames repeat across container restarts, this does not. */
  startId: string;
  since: string;
  command: string;
}

export class DataDirLockedError extends Error {
  readonly holder: LockHolder | undefined;

  constructor(dataDir: string, holder: LockHolder | undefined) {
    const who = holder ? `process ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.since})` : 'another process';
    super(
      `The data directory ${dataDir} is in use by ${who}. Commands that read or change its data go through that ` +
        `running Vigil's API; to run several processes on one store, use PostgreSQL (DATABASE_URL).`,
    );
    this.name = 'DataDirLockedError';
    this.holder = holder;
  }
}

export const PROCESS_START_ID = randomUUID();
const HELD_EXIT_CODE = 75;

/**
 * PGlite does not stop two processes from opening one directory, which corrupts it; this lock does. It is an advisory
 * flock(2) on `vigil.lock`, held by a small `flock` helper process for as long as its stdin (a pipe from this process)
 * stays open. The kernel ends it when this process dies however it dies, so a lock is never left behind by a crash,
 * whatever the pid namespace or hostname of the next start. A helper process rather than an fd of our own: an fd would
 * be inherited by ffmpeg and other children, which could then keep the lock alive after this process is gone.
 * The file's content only names the holder for the error message; it decides nothing.
 */
export async function acquireDataDirLock(dataDir: string): Promise<() => Promise<void>> {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'vigil.lock');
  const helper: ChildProcessByStdio<Writable, Readable, Readable> = spawn(
    'flock',
    ['--exclusive', '--nonblock', '--close', '--conflict-exit-code', String(HELD_EXIT_CODE), file, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const outcome = await new Promise<'locked' | { exitCode: number | null; stderr: string } | Error>((resolve) => {
    let stderr = '';
    helper.stdout.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('locked') && resolve('locked'));
    helper.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    helper.once('error', resolve);
    helper.once('exit', (exitCode) => resolve({ exitCode, stderr }));
  });
  if (outcome instanceof Error) {
    throw new Error(`Could not run flock(1) to lock ${file} (${outcome.message}); install util-linux or use PostgreSQL (DATABASE_URL)`, { cause: outcome });
  }
  if (outcome !== 'locked') {
    if (outcome.exitCode === HELD_EXIT_CODE) throw new DataDirLockedError(dataDir, readHolder(file));
    throw new Error(`Could not lock ${file}: ${outcome.stderr.trim() || `flock exited with ${outcome.exitCode}`}`);
  }
  const me: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    startId: PROCESS_START_ID,
    since: new Date().toISOString(),
    command: process.argv.slice(1).map((arg) => path.basename(arg)).join(' ') || 'node',
  };
  writeFileSync(file, JSON.stringify(me));
  // The helper must neither keep this process alive nor outlive it.
  helper.stdout.destroy();
  helper.stderr.destroy();
  helper.unref();
  (helper.stdin as Writable & { unref?(): void }).unref?.();
  const exited = new Promise<void>((resolve) => (helper.exitCode !== null ? resolve() : helper.once('exit', () => resolve())));
  let released: Promise<void> | undefined;
  return () => {
    released ??= (async () => {
      // Unnamed before letting go (never after: the next holder may have written itself by then), so that a process
      // that stopped its Vigil and lives on is not taken for a holder.
      writeFileSync(file, '');
      // Referenced again so that waiting for the helper's exit keeps this process alive until it has let go.
      helper.ref();
      helper.stdin.end();
      await exited;
    })();
    return released;
  };
}

/** The live process on this host holding `dataDir`, if one does. */
export function lockHolder(dataDir: string): LockHolder | undefined {
  const holder = readHolder(path.join(dataDir, 'vigil.lock'));
  return holder && holder.host === os.hostname() && isAlive(holder.pid) ? holder : undefined;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Whether a process with this id runs on this host. */
export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
