// npm pack / publish: `prepare` builds the JavaScript the package ships and points package.json at it;
// `restore` puts the repository back. Node runs TypeScript here, but refuses to strip types under node_modules.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { INSTALLED_TEMPLATE } from '../core/db/pglite.ts';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const manifest = path.join(root, 'package.json');
const saved = path.join(root, '.package.json.repository');
const build = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
const folders = build.include.map((pattern) => pattern.split('/')[0]!);

/** Files a module reads at run time besides its code: templates, styles, browser scripts, and the bin. */
function copyRuntimeFiles(dir: string): void {
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) copyRuntimeFiles(relative);
    else if (!entry.name.endsWith('.ts')) cpSync(path.join(root, relative), path.join(dist, relative));
  }
}

function prepare(): void {
  if (existsSync(saved)) restore();
  rmSync(dist, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (compiled.status !== 0) throw new Error('tsc failed: the package was not built');
  for (const folder of folders) copyRuntimeFiles(folder);
  // The bundle the installed `vigil` runs (scripts/bundle.ts says why); the compiled files stay for the templates and
  // assets it reads, and for a program that imports the package's modules itself.
  if (spawnSync(process.execPath, [path.join(root, 'scripts/bundle.ts'), '--package'], { stdio: 'inherit' }).status !== 0) throw new Error('the bundle was not built: the package was not built');
  // The package ships the embedded store's initdb template, so that an installed Vigil never runs initdb.
  const template = path.join(dist, '.pglite', path.basename(INSTALLED_TEMPLATE));
  if (existsSync(INSTALLED_TEMPLATE)) cpSync(INSTALLED_TEMPLATE, template);
  else if (spawnSync(process.execPath, ['--liftoff-only', path.join(root, 'scripts/initdb-template.ts'), template], { stdio: 'inherit' }).status !== 0) {
    throw new Error('the initdb template was not made: the package was not built');
  }
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
  renameSync(manifest, saved);
  const published = {
    ...pkg,
    bin: { vigil: './dist/app/bin.js' },
    exports: { '.': { types: './dist/app/index.d.ts', default: './dist/app/index.js' } },
    files: ['dist', '!dist/**/*.test.*'],
  };
  writeFileSync(manifest, `${JSON.stringify(published, null, 2)}\n`);
}

function restore(): void {
  if (existsSync(saved)) renameSync(saved, manifest);
  rmSync(dist, { recursive: true, force: true });
}

const step = process.argv[2];
if (step === 'prepare') prepare();
else if (step === 'restore') restore();
else throw new Error('usage: node scripts/package.ts prepare|restore');
