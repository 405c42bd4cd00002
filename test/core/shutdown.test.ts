import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { CLI, REPO_ROOT, spawnNode, type RunningProcess } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures/slow-vigil.ts');

function logEntries(process: RunningProcess): Array<Record<string, unknown>> {
  return process
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function startedUrl(process: RunningProcess): Promise<string> {
  return waitFor('the process to listen', () => logEntries(process).find((entry) => entry.msg === 'vigil started')?.url as string | undefined, 90_000);
}

describeEachBackend('graceful shutdown', (backend) => {
  let store: TestStore;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    store = await backend.createStore();
    env = store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : { VIGIL_DATA_DIR: store.dataDir };
  });

  afterEach(async () => store.cleanup());

  it('SIGTERM during a slow request lets it finish, then exits 0', async () => {
    const vigil = spawnNode(FIXTURE, [], env);
    const url = await startedUrl(vigil);
    const response = fetch(`${url}/test/slow`);
    await waitFor('the slow request to start', () => logEntries(vigil).some((entry) => entry.msg === 'slow request started'));
    vigil.child.kill('SIGTERM');
    const answered = await response;
    expect(answered.status).toBe(200);
    expect(await answered.json()).toEqual({ finished: true });
    expect(await vigil.exited).toEqual({ code: 0, signal: null });
    const messages = logEntries(vigil).map((entry) => entry.msg);
    expect(messages.indexOf('signal received')).toBeGreaterThan(messages.indexOf('slow request started'));
    expect(messages).toContain('stopped');
  });

  it.runIf(backend.name === 'PGlite')('a second `vigil start` on the same data directory refuses, naming the holder', async () => {
    const configDir = path.join(REPO_ROOT, '.vigil', `lock-test-${process.pid}`);
    mkdirSync(configDir, { recursive: true });
    const configFile = path.join(configDir, 'vigil.config.ts');
    writeFileSync(configFile, `import { defineConfig } from 'vigil';\nexport default defineConfig({ server: { port: 0 }, database: { dataDir: ${JSON.stringify(store.dataDir)} } });\n`);
    const first = spawnNode(CLI, ['start', '--role', 'api', '--config', configFile]);
    await startedUrl(first);
    const second = spawnNode(CLI, ['start', '--role', 'api', '--config', configFile]);
    const { code } = await second.exited;
    expect(code).toBe(1);
    expect(second.output()).toContain(`in use by process ${first.child.pid}`);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
  });
});
