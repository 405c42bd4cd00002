import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { isAlive, REPO_ROOT } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';
import { FIXTURE_CONFIG } from './support.ts';

const tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-npm-start-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));


it('npm start exits with Vigil when its own pid gets SIGTERM, leaving no Vigil process behind', { timeout: 240_000 }, async () => {
  const dataDir = path.join(tempDir, 'data');
  const npm = spawn('npm', ['start', '--', '--config', FIXTURE_CONFIG], {
    cwd: REPO_ROOT,
    env: { ...process.env, VIGIL_DATA_DIR: dataDir, VIGIL_STORAGE_DIR: path.join(tempDir, 'storage'), VIGIL_PORT: '0', DATABASE_URL: '', npm_config_loglevel: 'error' },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
  const { pid } = await waitFor('Vigil to advertise itself', () => {
    try {
      return JSON.parse(readFileSync(path.join(dataDir, 'vigil.instance.json'), 'utf8')) as { pid: number };
    } catch {
      return undefined;
    }
  }, 180_000, 200);
  expect(pid).not.toBe(npm.pid);
  npm.kill('SIGTERM');
  await exited;
  await waitFor('the Vigil process to exit', () => !isAlive(pid), 30_000, 100);
  expect(isAlive(pid)).toBe(false);
});
