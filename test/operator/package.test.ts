import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';

/** Runs a command to completion with the pinned Node first on PATH (as a user with Node 24 has it). */
function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`, npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false' };
    for (const name of Object.keys(env)) if (name.startsWith('VIGIL_') || name === 'DATABASE_URL') delete env[name];
    const child = spawn(command, args, { cwd, env });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('vigil as a package in a monitoring repository of its own', { timeout: 900_000 }, () => {
  let tempDir: string;
  let server: net.Server;

  beforeAll(async () => {
    tempDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-package-'));
    server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(tempDir, { recursive: true, force: true });
  });

  it('npm pack → npm install → npx vigil init → validate → probe test', async () => {
    // Packed from a copy of the tracked files, so the build never touches the checkout other tests run from.
    const source = path.join(tempDir, 'source');
    for (const file of execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter(Boolean)) {
      mkdirSync(path.dirname(path.join(source, file)), { recursive: true });
      cpSync(path.join(REPO_ROOT, file), path.join(source, file));
    }
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(source, 'node_modules'));
    const packed = await run('npm', ['pack', '--pack-destination', tempDir], source);
    expect(packed.code, packed.output).toBe(0);
    const tarball = path.join(tempDir, readdirSync(tempDir).find((name) => name.endsWith('.tgz'))!);
    const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('package/dist/app/index.js');
    expect(listing).toContain('package/dist/console/views/layout.eta');
    // The bundle the installed `vigil` runs, with nothing to compare: an installed package does not change.
    expect(listing).toContain('package/dist/.build/main.js');
    expect(listing).toContain('package/dist/.build/sources.json');
    expect(listing.filter((name) => /^package\/dist\/\.pglite\/pglite-[\d.]+-initdb\.tar\.gz$/.test(name))).toHaveLength(1);
    expect(listing.filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))).toEqual([]);
    expect(listing.some((name) => name.startsWith('package/test/') || name.startsWith('package/bench/'))).toBe(false);

    const project = path.join(tempDir, 'my-monitoring');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'my-monitoring', private: true }));
    const installed = await run('npm', ['install', '--prefer-offline', tarball], project);
    expect(installed.code, installed.output).toBe(0);

    const init = await run('npx', ['vigil', 'init'], project);
    expect(init.code, init.output).toBe(0);
    expect(init.output).toContain('created  vigil.config.ts');
    expect(readdirSync(path.join(project, 'probes')).sort()).toEqual(['homepage.probe.ts', 'vigil.probe.ts']);
    const port = (server.address() as net.AddressInfo).port;
    writeFileSync(path.join(project, 'probes/local.probe.ts'), `import { tcp } from 'vigil';\n\nexport const local = tcp({ name: 'local-service', host: '127.0.0.1', port: ${port} });\n`);

    const valid = await run('npx', ['vigil', 'validate'], project);
    expect(valid.code, valid.output).toBe(0);
    expect(valid.output).toContain('is valid: 3 probe definition(s)');

    const tested = await run('npx', ['vigil', 'probe', 'test', 'local-service'], project);
    expect(tested.output).toMatch(/^UP {3}local-service \(tcp\) at local: success/m);
    expect(tested.code).toBe(0);

    writeFileSync(path.join(project, 'probes/broken.probe.ts'), `import { tcp } from 'vigil';\n\nexport const broken = tcp({ name: 'broken', host: '127.0.0.1', port: 70000 });\n`);
    const invalid = await run('npx', ['vigil', 'validate'], project);
    expect(invalid.code).toBe(1);
    expect(invalid.output).toContain(`${path.join(project, 'probes/broken.probe.ts')}:3: tcp probe "broken": port:`);
  });
});
