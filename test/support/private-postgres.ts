import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './http-target.ts';

const run = promisify(execFile);

/** A PostgreSQL server of the test's own (initdb + pg_ctl on a temp directory and port), which the test stops and starts. */
export interface PrivatePostgres {
  readonly url: string;
  /** Stops the server (fast shutdown: sessions get 57P01, new connections are refused). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

const BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin', '/usr/local/bin', '/usr/bin'].find((dir) => existsSync(path.join(dir, 'initdb')));

/** Why a private server cannot be started here (no initdb), or undefined. */
export const privatePostgresUnavailable = BIN ? undefined : 'initdb not found (apt-get install postgresql)';

/** PostgreSQL refuses to run as root: as root the server runs as the `postgres` user. */
async function asServerUser(command: string, args: string[], dir: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    await run(path.join(BIN!, command), args, { timeout: 60_000 });
    return;
  }
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  await run('runuser', ['-u', 'postgres', '--', path.join(BIN!, command), ...args], { timeout: 60_000 });
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-pg-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  await asServerUser('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], dir);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`;
  const start = () => asServerUser('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start'], dir);
  const stop = () => asServerUser('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'], dir);
  await start();
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await stop();
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async close() {
      if (running) await stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
