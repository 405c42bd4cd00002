import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVigil } from '../support/cli.ts';

const CONFIG = path.join(import.meta.dirname, 'fixtures/cli.config.ts');
const BROKEN_LINE = readFileSync(CONFIG, 'utf8').split('\n').findIndex((line) => line.includes("name: 'broken-port'")) + 1;
let server: Server;
let env: NodeJS.ProcessEnv;
let dataDir: string;

beforeAll(async () => {
  server = createServer((request, response) => (request.url === '/ok' ? response.end('all ok') : response.writeHead(500).end('boom')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-'));
  env = { PROBE_TARGET: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, VIGIL_DATA_DIR: path.join(dataDir, 'data'), DATABASE_URL: '' };
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('vigil probe CLI', { timeout: 360_000 }, () => {
  it('validate reports the bad definition with its file, line and field, and exits non-zero', async () => {
    const { code, output } = await runVigil(['validate', '--config', CONFIG], env);
    expect(code).toBe(1);
    expect(output).toContain(`${CONFIG}:${BROKEN_LINE}: tcp probe "broken-port": port: `);
  });

  it('probe test prints result and timings, exiting 0 on success and 1 on failure', async () => {
    const ok = await runVigil(['probe', 'test', 'target-ok', '--config', CONFIG], env);
    expect(ok.code).toBe(0);
    expect(ok.output).toMatch(/^UP {3}target-ok \(http\) at local: success in [0-9.]+ ms$/m);
    expect(ok.output).toMatch(/^ {2}timings: dns [0-9.]+ ms · connect [0-9.]+ ms · tls [0-9.]+ ms · firstByte [0-9.]+ ms · transfer [0-9.]+ ms · total [0-9.]+ ms$/m);
    const down = await runVigil(['probe', 'test', 'target-down', '--config', CONFIG, '--location', 'eu-west'], env);
    expect(down.code).toBe(1);
    expect(down.output).toMatch(/^DOWN target-down \(http\) at eu-west: failure/m);
    expect(down.output).toContain('  reason:  expected status 2xx or 3xx, got 500');
    const missing = await runVigil(['probe', 'test', 'nope', '--config', CONFIG], env);
    expect(missing.code).toBe(2);
    expect(missing.output).toContain('no probe named "nope" in the configuration (probes: target-ok, target-down, database)');
  });

  it('probe list shows every probe with its schedule and state, manual runs are not recorded, and never a secret', async () => {
    await runVigil(['probe', 'test', 'database', '--config', CONFIG], env);
    const { code, output } = await runVigil(['probe', 'list', '--config', CONFIG], env);
    expect(code).toBe(0);
    const lines = output.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME +KIND +SCHEDULE +STATE +LAST RESULT +LABELS$/);
    expect(lines.find((line) => line.startsWith('target-ok'))).toMatch(/http +every 1m +unknown +never run +component=web,severity=critical$/);
    expect(lines.find((line) => line.startsWith('database'))).toMatch(/postgres +cron \*\/5 \* \* \* \* +unknown +never run/);
    expect(lines.find((line) => line.startsWith('INVALID'))).toContain('tcp probe "broken-port"');
    expect(output).not.toContain('cli-secret-password');
  });
});
