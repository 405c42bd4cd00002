import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CLI, runVigil, spawnNode, type RunningProcess } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';

export const FIXTURE_CONFIG = path.join(import.meta.dirname, 'fixtures/vigil.config.ts');

/** An HTTP double for the webhook receiver: records every notification body. */
export async function startReceiver(): Promise<{ url: string; bodies: Array<Record<string, unknown>>; close(): Promise<void> }> {
  const bodies: Array<Record<string, unknown>> = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(body || '{}') as Record<string, unknown>);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/hook`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface RunningVigil {
  process: RunningProcess;
  url: string;
  dataDir: string;
  /** The directory holding the data and storage directories; pass it as `home` to start another Vigil on them. */
  home: string;
  env: NodeJS.ProcessEnv;
  /** The local admin token the running process wrote next to its lock. */
  token(): string;
  /** Runs the CLI in another process against this Vigil's configuration, as a second terminal would. */
  cli(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }>;
  api<T>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/**
 * `vigil start` in its own process on a fresh embedded store (or on `home`'s, left by an earlier one), found by the CLI
 * from its data directory. `stop()` removes the directories.
 */
export async function startVigilProcess(options: { config?: string; env?: NodeJS.ProcessEnv; home?: string } = {}): Promise<RunningVigil> {
  const tempDir = options.home ?? mkdtempSync(path.join(os.tmpdir(), 'vigil-operator-'));
  const dataDir = path.join(tempDir, 'data');
  const config = options.config ?? FIXTURE_CONFIG;
  const env = { VIGIL_DATA_DIR: dataDir, VIGIL_STORAGE_DIR: path.join(tempDir, 'storage'), VIGIL_PORT: '0', DATABASE_URL: '', VIGIL_URL: '', VIGIL_ADMIN_TOKEN: '', ...options.env };
  const child = spawnNode(CLI, ['start', '--config', config], env);
  const instance = await waitFor(
    'the Vigil process to advertise itself',
    () => {
      if (child.child.exitCode !== null) throw new Error(`vigil start exited: ${child.output()}`);
      try {
        // This process's advertisement, not one a killed predecessor left behind.
        const record = JSON.parse(readFileSync(path.join(dataDir, 'vigil.instance.json'), 'utf8')) as { url: string; pid: number };
        return record.pid === child.child.pid ? record : undefined;
      } catch {
        return undefined;
      }
    },
    120_000,
    200,
  );
  const token = () => readFileSync(path.join(dataDir, 'vigil.admin-token'), 'utf8');
  return {
    process: child,
    url: instance.url,
    dataDir,
    home: tempDir,
    env,
    token,
    cli: (args, extraEnv = {}) => runVigil([...args, '--config', config], { ...env, ...extraEnv }),
    async api<T>(method: string, url: string, body?: unknown) {
      const response = await fetch(`${instance.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${token()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: response.status, body: (await response.json()) as T };
    },
    async stop() {
      if (child.child.exitCode === null) {
        child.child.kill('SIGTERM');
        await child.exited;
      }
      rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
