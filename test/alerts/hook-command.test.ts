// A restart hook's command never outlives its timeout, even when the process that started it dies: the next leader
// waits only that long before starting another action for the service.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runAction } from '../../alerts/hooks.ts';
import { isAlive } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures/hook-action.ts');

describe('a restart hook command', () => {
  const dirs: string[] = [];
  const commands: number[] = [];
  afterEach(() => {
    for (const pid of commands.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('ends at its timeout even when the process that started it was killed with SIGKILL', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-hook-'));
    dirs.push(dir);
    const pidFile = path.join(dir, 'pid');
    const runner = spawn(process.execPath, [FIXTURE, '2000', '/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 60`], { stdio: 'ignore' });
    const pid = await waitFor('the command to start', () => Number(readFileSync(pidFile, 'utf8').trim()) || undefined, 20_000);
    commands.push(pid);
    runner.kill('SIGKILL');
    await waitFor('the runner to die', () => runner.exitCode !== null || runner.signalCode !== null, 10_000);
    expect(isAlive(pid)).toBe(true);
    // Killed at its 2 s timeout, not left running for the rest of its minute.
    await waitFor('the orphaned command to be killed at its timeout', () => !isAlive(pid), 15_000, 100);
  });

  it('reports a command that outlived its timeout as timed out, and a failing one by its exit status and stderr', async () => {
    expect(await runAction({ command: ['sleep', '10'] }, 300)).toEqual({ ok: false, detail: 'timed out after 300 ms' });
    expect(await runAction({ command: ['/bin/sh', '-c', 'echo broken >&2; exit 3'] }, 5000)).toEqual({ ok: false, detail: 'exit 3: broken' });
    expect(await runAction({ command: ['true'] }, 5000)).toEqual({ ok: true, detail: 'exit 0' });
  });
});
