import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runVigil } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';
import { spawn } from 'node:child_process';
import { startReceiver, startVigilProcess, type RunningVigil } from './support.ts';

interface ProbeRow {
  name: string;
  state: string;
  lastResult: { success: boolean } | null;
}

describe('the CLI against a running embedded Vigil in another process', { timeout: 480_000 }, () => {
  let vigil: RunningVigil;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    vigil = await startVigilProcess({ env: { RECEIVER_URL: receiver.url } });
  }, 180_000);

  afterAll(async () => {
    await vigil?.stop();
    await receiver?.close();
  });

  it('finds the instance from its data directory through a token file only its user can read', () => {
    expect(statSync(path.join(vigil.dataDir, 'vigil.admin-token')).mode & 0o777).toBe(0o600);
    expect(vigil.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('probe list shows live states; probe test runs queueLoad and heartbeat probes in the running Vigil without recording them', async () => {
    const rows = await waitFor('live probe states', async () => {
      const { code, output } = await vigil.cli(['probe', 'list', '--json']);
      expect(code).toBe(0);
      const { probes } = JSON.parse(output) as { probes: ProbeRow[] };
      const state = Object.fromEntries(probes.map((probe) => [probe.name, probe.state]));
      return state.queues === 'up' && state['job-heartbeat'] === 'up' && state['dead-port'] === 'down' ? probes : undefined;
    }, 120_000, 500);
    expect(rows.find((probe) => probe.name === 'manual-only')).toMatchObject({ state: 'unknown', lastResult: null });

    const table = await vigil.cli(['probe', 'list']);
    expect(table.output).toMatch(/^queues +queueLoad +every 2s +up +ok \S+ at local +group=batch$/m);
    expect(table.output).toMatch(/^dead-port +http +every 2s +down +failed \S+ at local: .*ECONNREFUSED/m);

    const queues = await vigil.cli(['probe', 'test', 'queues']);
    expect(queues.output).toMatch(/^UP {3}queues \(queueLoad\) at local: success/m);
    expect(queues.code).toBe(0);
    const beat = await vigil.cli(['probe', 'test', 'job-heartbeat']);
    expect(beat.output).toMatch(/^UP {3}job-heartbeat \(heartbeat\) at local: success/m);
    expect(beat.code).toBe(0);

    const batch = await vigil.cli(['probe', 'test', '--match', 'group=batch', '--json']);
    expect((JSON.parse(batch.output) as Array<{ probe: string }>).map((result) => result.probe).sort()).toEqual(['job-heartbeat', 'queues']);
    const all = await vigil.cli(['probe', 'test', '--all', '--json']);
    expect(all.code).toBe(1); // dead-port fails
    expect((JSON.parse(all.output) as unknown[]).length).toBe(4);

    const manual = await vigil.cli(['probe', 'test', 'manual-only']);
    expect(manual.code).toBe(0);
    const results = await vigil.cli(['probe', 'results', 'manual-only', '--json']);
    expect(JSON.parse(results.output)).toEqual({ results: [], nextCursor: null });
  });

  it('silence add, list and expire change the running instance', async () => {
    const added = await vigil.cli(['silence', 'add', '--match', 'service=api', '--duration', '1h', '--comment', 'deploy', '--author', 'ana']);
    expect(added.code).toBe(0);
    const id = /silence #(\d+)/.exec(added.output)![1];
    const list = await vigil.cli(['silence', 'list']);
    expect(list.output).toMatch(new RegExp(`^#${id} +service=api +\\S+ +\\S+ +ana +deploy$`, 'm'));
    const { body } = await vigil.api<{ silences: Array<{ id: number }> }>('GET', '/admin/api/v1/silences');
    expect(body.silences.map((silence) => String(silence.id))).toContain(id);
    const expired = await vigil.cli(['silence', 'expire', id!, '--author', 'ana']);
    expect(expired.output).toContain(`silence #${id} expired`);
    expect((await vigil.cli(['silence', 'list'])).output).toContain('no silences');
    const bad = await vigil.cli(['silence', 'add', '--match', 'service=api', '--duration', 'soon', '--comment', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.output).toMatch(/duration/);
  });

  it('incident list shows the firing incident and incident ack acknowledges it', async () => {
    const incident = await waitFor('the api-down incident', async () => {
      const { output } = await vigil.cli(['incident', 'list', '--json']);
      return (JSON.parse(output) as Array<{ id: number; rule: string; state: string }>).find((candidate) => candidate.rule === 'api-down' && candidate.state === 'firing');
    }, 120_000, 500);
    expect((await vigil.cli(['incident', 'list'])).output).toMatch(new RegExp(`^#${incident.id} +firing +api-down +probe=dead-port,service=api,severity=critical`, 'm'));
    const acked = await vigil.cli(['incident', 'ack', String(incident.id), '--author', 'ana']);
    expect(acked.output).toContain(`incident #${incident.id} acknowledged by ana`);
    const missing = await vigil.cli(['incident', 'ack', '999']);
    expect(missing.code).toBe(2);
    expect(missing.output).toContain('no incident #999');
  });

  it('maintenance add, list and end; processing gc; migrate leaves the running instance alone', async () => {
    const added = await vigil.cli(['maintenance', 'add', '--title', 'Database upgrade', '--match', 'service=db', '--duration', '30m']);
    expect(added.code).toBe(0);
    const id = /maintenance #(\d+)/.exec(added.output)![1];
    expect((await vigil.cli(['maintenance', 'list'])).output).toMatch(new RegExp(`^#${id} +Database upgrade +service=db`, 'm'));
    expect((await vigil.cli(['maintenance', 'end', id!])).output).toContain(`maintenance #${id} ended`);

    const gc = await vigil.cli(['processing', 'gc']);
    expect(gc.code).toBe(0);
    expect(gc.output).toMatch(/^freed \d+ bytes/m);

    const migrate = await vigil.cli(['migrate']);
    expect(migrate.code).toBe(0);
    expect(migrate.output).toContain(`Vigil (process ${vigil.process.child.pid}) is running`);
    expect(migrate.output).not.toContain('VIGIL_DATA_DIR');
  });

  it('status incident and export, and keys, go through the running instance too (its data directory is locked)', async () => {
    const opened = await vigil.cli(['status', 'incident', 'open', '--title', 'Uploads slow', '--body', 'We are looking into it.', '--component', 'video-api=degraded_performance']);
    expect(opened).toMatchObject({ code: 0, output: expect.stringMatching(/^#(\d+) +investigating +\w+ +Uploads slow$/m) });
    const id = /^#(\d+)/m.exec(opened.output)![1]!;
    expect((await vigil.cli(['status', 'incident', 'list'])).output).toContain('Uploads slow');
    expect(await fetch(`${vigil.url}/`).then((r) => r.text())).toContain('Uploads slow');
    expect((await vigil.cli(['status', 'incident', 'resolve', id, '--body', 'Fixed.'])).output).toMatch(new RegExp(`^#${id} +resolved`, 'm'));

    const copy = mkdtempSync(path.join(os.tmpdir(), 'vigil-status-copy-'));
    try {
      const exported = await vigil.cli(['status', 'export', copy]);
      expect(exported).toMatchObject({ code: 0, output: expect.stringMatching(/^wrote \d+ files to /) });
      expect(readFileSync(path.join(copy, 'index.html'), 'utf8')).toContain('Video API');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }

    const created = await vigil.cli(['keys', 'create', 'backend', '--scope', 'upload']);
    expect(created.code).toBe(0);
    const keyId = /^(vk_[0-9a-f]{16})_/m.exec(created.output)![1]!.slice(3);
    expect((await vigil.cli(['keys', 'list'])).output).toMatch(new RegExp(`^${keyId} +backend +upload +active`, 'm'));
  });

  it('--url with VIGIL_ADMIN_TOKEN reaches it from anywhere; a wrong token is refused', async () => {
    const right = await runVigil(['silence', 'list', '--url', vigil.url], { VIGIL_ADMIN_TOKEN: vigil.token(), VIGIL_CONFIG: '/nonexistent.ts' });
    expect(right.code).toBe(0);
    const wrong = await runVigil(['silence', 'list'], { VIGIL_URL: vigil.url, VIGIL_ADMIN_TOKEN: 'not-the-token' });
    expect(wrong.code).toBe(2);
    expect(wrong.output).toContain('Missing or wrong bearer token');
    const none = await runVigil(['silence', 'list'], { VIGIL_URL: vigil.url, VIGIL_ADMIN_TOKEN: '' });
    expect(none.output).toContain('needs the admin token: set VIGIL_ADMIN_TOKEN');
  });
});

describe('the CLI with no Vigil running', { timeout: 180_000 }, () => {
  let tempDir: string;
  beforeAll(() => {
    tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-offline-'));
  });
  afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

  it('serves the same verbs from the store itself', async () => {
    const env = { VIGIL_DATA_DIR: path.join(tempDir, 'data'), VIGIL_STORAGE_DIR: path.join(tempDir, 'storage'), DATABASE_URL: '', VIGIL_URL: '' };
    const config = path.join(REPO_ROOT, 'test/operator/fixtures/vigil.config.ts');
    const added = await runVigil(['silence', 'add', '--match', 'service=api', '--duration', '1h', '--comment', 'offline', '--config', config], env);
    expect(added.output).toContain('silence #1');
    const list = await runVigil(['silence', 'list', '--json', '--config', config], env);
    expect(JSON.parse(list.output)).toMatchObject([{ id: 1, comment: 'offline' }]);
  });

  it('npx vigil: --version, group help, and a broken config exits 1 naming the field', async () => {
    const npx = (args: string[]) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn('npx', ['--no-install', 'vigil', ...args], { cwd: REPO_ROOT, env: { ...process.env, npm_config_loglevel: 'error' } });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.on('exit', (code) => resolve({ code, output }));
      });
    const broken = path.join(tempDir, 'broken.config.ts');
    writeFileSync(broken, "export default { server: { port: 'eighty' } };\n");
    const validate = await npx(['validate', '--config', broken]);
    expect(validate.code).toBe(1);
    expect(validate.output).toContain('server.port');
    const version = await npx(['--version']);
    expect(version.output).toMatch(/^vigil \d+\.\d+\.\d+$/m);
    expect(version.code).toBe(0);
    const group = await npx(['silence', '--help']);
    expect(group.code).toBe(0);
    expect(group.output).toContain('silence expire');
    expect(group.output).not.toContain('probe test');
  });
});
