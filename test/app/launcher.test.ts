// app/bin.js runs the bundle `npm ci` builds (scripts/bundle.ts) only while every file it was built from is unchanged,
// and hands a config's import of the constructors to the bundle. Tried on a copy of bin.js in a tree of stand-ins, so
// that the repository's own bundle is left alone while other tests run it.
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
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

async function launch(): Promise<string> {
  const run = spawnNode(path.join(tree, 'app/bin.js'), ['version']);
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
});
