// app/bin.js runs the bundle `npm ci` builds (scripts/bundle.ts) only while every file it was built from is unchanged,
// and hands a config's import of the constructors to the bundle. Tried on a copy of bin.js in a tree of stand-ins, so
// that the repository's own bundle is left alone while other tests run it.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, spawnNode } from '../support/cli.ts';

let tree: string;
beforeEach(() => {
  tree = mkdtempSync(path.join(os.tmpdir(), 'vigil-launcher-'));
  mkdirSync(path.join(tree, 'app'));
  mkdirSync(path.join(tree, '.build'));
  cpSync(path.join(REPO_ROOT, 'app/bin.js'), path.join(tree, 'app/bin.js'));
  cpSync(path.join(REPO_ROOT, 'app/strip-types.js'), path.join(tree, 'app/strip-types.js'));
  // Each `vigil` prints which code ran, and which code the config's import of the constructors reached.
  const main = (ran: string) => `export async function vigil() {
  const { from } = await import(new URL('../app/index.ts', import.meta.url).href);
  console.log(${JSON.stringify(ran)} + ' ' + from);
  return 0;
}\n`;
  writeFileSync(path.join(tree, 'app/main.ts'), main('source'));
  writeFileSync(path.join(tree, 'app/index.ts'), `export const from: string = 'source index';\n`);
  writeFileSync(path.join(tree, '.build/main.js'), main('bundle'));
  writeFileSync(path.join(tree, '.build/index.js'), `export const from = 'bundle index';\n`);
  writeFileSync(path.join(tree, 'app/probe.ts'), `export const kind = 'http';\n`);
  recordSources(['app/main.ts', 'app/index.ts', 'app/probe.ts']);
});
afterEach(() => rmSync(tree, { recursive: true, force: true }));

function recordSources(files: string[]): void {
  const sources = files.map((file) => {
    const stat = statSync(path.join(tree, file));
    return { file, size: stat.size, mtimeMs: stat.mtimeMs };
  });
  writeFileSync(path.join(tree, '.build/sources.json'), JSON.stringify(sources));
}

async function launch(env: NodeJS.ProcessEnv = {}): Promise<string> {
  const run = spawnNode(path.join(tree, 'app/bin.js'), ['version'], env);
  const { code } = await run.exited;
  expect(code, run.output()).toBe(0);
  return run.output().trim();
}

describe('the vigil launcher', () => {
  it('runs the bundle while its sources are unchanged, and gives a config the bundle\'s constructors', async () => {
    expect(await launch()).toBe('bundle bundle index');
  });

  it.each([
    ['a source file edited (same size, new time)', () => utimesSync(path.join(tree, 'app/probe.ts'), new Date(), new Date(Date.now() + 5000))],
    ['a source file grown', () => writeFileSync(path.join(tree, 'app/probe.ts'), `export const kind = 'https';\n`)],
    ['a source file removed', () => rmSync(path.join(tree, 'app/probe.ts'))],
    ['no record of the sources', () => rmSync(path.join(tree, '.build/sources.json'))],
    ['a record that does not parse', () => writeFileSync(path.join(tree, '.build/sources.json'), '[{"file":')],
  ])('runs the source files when the bundle may be stale: %s', async (_case, change) => {
    change();
    expect(await launch()).toBe('source source index');
  });

  it("run as an executable, starts Node with its #! line's flags and one malloc arena, as the npm scripts do", () => {
    const shebang = readFileSync(path.join(REPO_ROOT, 'app/bin.js'), 'utf8').split('\n', 1)[0]!;
    const flags = shebang.slice(shebang.indexOf(' node ') + ' node '.length).split(' ');
    writeFileSync(path.join(tree, '.build/main.js'), `export async function vigil() {\n  console.log(JSON.stringify({ flags: process.execArgv, arenas: process.env.MALLOC_ARENA_MAX }));\n  return 0;\n}\n`);
    chmodSync(path.join(tree, 'app/bin.js'), 0o755);
    const { MALLOC_ARENA_MAX: _unset, ...env } = process.env;
    const run = spawnSync(path.join(tree, 'app/bin.js'), ['version'], { env: { ...env, PATH: `${path.dirname(process.execPath)}:${env.PATH}` }, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ flags, arenas: '1' });
    const { scripts } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const name of ['start', 'vigil']) expect(scripts[name]).toContain(`MALLOC_ARENA_MAX=\${MALLOC_ARENA_MAX:-1} exec node ${flags.join(' ')} --external-memory-accounted-in-global-limit app/bin.js`);
  });
});

describe('a TypeScript config under the bundle', () => {
  // Node's own stripper would stay loaded for the life of the process; with a cold compile cache (a new container, an
  // edited config) nothing else keeps it out.
  let env: NodeJS.ProcessEnv;
  let cacheDir: string;
  beforeEach(() => {
    writeFileSync(path.join(tree, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(path.join(tree, 'vigil.config.ts'), `const port: number = 8080;\nexport default { port };\n`);
    writeFileSync(
      path.join(tree, '.build/main.js'),
      `export async function vigil() {
  const { default: config } = await import(new URL('../vigil.config.ts', import.meta.url).href);
  console.log(config.port + ' ' + process.moduleLoadList.some((name) => name.includes('amaro')));
  return 0;
}\n`,
    );
    mkdirSync(path.join(tree, 'tmp'));
    env = { TMPDIR: path.join(tree, 'tmp'), NODE_COMPILE_CACHE: path.join(tree, 'compile-cache') };
    cacheDir = path.join(tree, 'tmp', `vigil-stripped-types-${process.getuid!()}`);
  });

  it('is stripped by a child, so the process never loads Node\'s stripper, and the result is kept for the next start', async () => {
    expect(await launch(env)).toBe('8080 false');
    const [kept] = readdirSync(cacheDir);
    expect(readFileSync(path.join(cacheDir, kept!), 'utf8')).toBe(`const port${' '.repeat(': number'.length)} = 8080;\nexport default { port };\n`);
    // The next start reads the kept copy: one changed by hand shows through.
    writeFileSync(path.join(cacheDir, kept!), `export default { port: 9090 };\n`);
    expect(await launch(env)).toBe('9090 false');
  });

  it('is stripped again once edited', async () => {
    expect(await launch(env)).toBe('8080 false');
    writeFileSync(path.join(tree, 'vigil.config.ts'), `const port: number = 8081;\nexport default { port };\n`);
    expect(await launch(env)).toBe('8081 false');
    expect(readdirSync(cacheDir)).toHaveLength(2);
  });

  it('keeps nothing in a cache directory others could write to', async () => {
    mkdirSync(cacheDir, { mode: 0o777 });
    chmodSync(cacheDir, 0o777);
    expect(await launch(env)).toBe('8080 false');
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('keeps nothing through a link put where its cache directory belongs', async () => {
    const elsewhere = path.join(tree, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, cacheDir);
    expect(await launch(env)).toBe('8080 false');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('reports a syntax error with its line, as Node does', async () => {
    writeFileSync(path.join(tree, 'vigil.config.ts'), `const port: number = ;\nexport default { port };\n`);
    const run = spawnNode(path.join(tree, 'app/bin.js'), ['version'], env);
    await run.exited;
    expect(run.output()).toMatch(/vigil\.config\.ts:1/);
  });

  it('is left to Node when the source files run (the control: Node\'s stripper loads)', async () => {
    rmSync(path.join(tree, '.build/sources.json'));
    writeFileSync(path.join(tree, 'app/main.ts'), readFileSync(path.join(tree, '.build/main.js'), 'utf8'));
    expect(await launch(env)).toBe('8080 true');
  });
});
