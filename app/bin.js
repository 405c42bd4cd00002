#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --liftoff-only --max-semi-space-size=4 --heap-growing-percent=100 --bytecode-old-age=2
// The `vigil` executable. Vigil runs on the Node version the project pins (the `node` devDependency);
// when started by an older Node, this re-runs the CLI on the pinned one.
// --liftoff-only: V8 compiles the embedded PostgreSQL (PGlite's WebAssembly) with its baseline compiler only. The
// optimising compiler needed about 550 MB for a few seconds on its largest functions, more than doubling the start's
// peak memory, for about 10% faster queries afterwards (bench/startup.ts). --max-semi-space-size=4 (MB): a young
// generation of 4 MB instead of 16 keeps idle RSS about 50 MB lower; 2 MB saved 20 MB more but cost 20% more CPU per
// uploaded GiB in garbage collection. --heap-growing-percent=100: after each full collection the old generation may grow
// to twice its live size before the next, instead of V8's default of up to four times (and a first limit of about 256 MB):
// 20,000 probes at 60 s peaked at about 380 MB with the default and 255 MB with it over the same 30 s, for about 2% more
// CPU (growing by half: 224 MB, 9% more CPU). --bytecode-old-age=2: V8 drops the bytecode of a function not run for two
// full collections instead of six (it is compiled again if called); most of what a start runs (module bodies, config
// parsing, migrations, route setup) never runs again, and its bytecode stayed in an idle process: idle RSS about 7 MB
// lower on either store (bench/startup.ts). MALLOC_ARENA_MAX=1: glibc's malloc gives each thread that allocates (V8's
// compiler and GC workers, libuv's pool) an arena of its own, and what a start's compilations freed stayed held in them:
// an idle process held about 14 MB free in four thread arenas; with one arena for all, idle RSS is about 8 MB lower on
// the embedded store and 3 MB on PostgreSQL. The npm scripts pass the same flags and variable, and
// EXTERNAL_MEMORY_IN_HEAP_LIMITS below.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import module, { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

// In the repository the CLI is TypeScript; the published package ships it compiled next to this file.
const extension = existsSync(fileURLToPath(new URL('./main.js', import.meta.url))) ? 'js' : 'ts';
const main = fileURLToPath(new URL(`./main.${extension}`, import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

/** The bundle `npm ci` builds (scripts/bundle.ts says why), while every file it was built from is as it was then, so
 * that an edited file always runs as written. */
function currentBundle() {
  const dir = new URL('../.build/', import.meta.url);
  let sources;
  try {
    sources = JSON.parse(readFileSync(new URL('sources.json', dir), 'utf8'));
  } catch {
    return undefined;
  }
  const root = fileURLToPath(new URL('..', dir));
  for (const { file, size, mtimeMs } of sources) {
    const stat = statSync(path.join(root, file), { throwIfNoEntry: false });
    if (stat?.size !== size || stat.mtimeMs !== mtimeMs) return undefined;
  }
  return { main: new URL('main.js', dir).href, index: new URL('index.js', dir).href, sourceIndex: new URL(`./index.${extension}`, import.meta.url).href };
}

// With this flag V8 weighs Buffer memory (each chunk of a request body is a new Buffer) within its heap limits. Without
// it, a separate external-memory limit, small on a heap of Vigil's size, started a full collection every 15-20 MB
// received: a 200 MiB upload cost 1.3-1.8 CPU-s with 10+ full collections, 0.7-0.8 CPU-s with the flag. The price is
// memory: the process grows about 50 MB more during an upload (bench/processing.ts (c): 105 against 55 MB), whatever
// the number of uploads, as the limit is the whole heap's. Set here, not on the #! line: Node before 24 refuses the
// flag, and this file must start there to hand over to the pinned Node.
const EXTERNAL_MEMORY_IN_HEAP_LIMITS = '--external-memory-accounted-in-global-limit';

if (major >= 24) {
  v8.setFlagsFromString(EXTERNAL_MEMORY_IN_HEAP_LIMITS);
  // Node keeps each module's compiled code (the TypeScript already stripped) on disk, in the system's temporary
  // directory, and reuses it while the file is unchanged: a CLI command costs about 40% less CPU (0.8 against 1.4 CPU-s
  // for `vigil silence list`), a start alike. Where the directory cannot be written, Node goes on without it.
  module.enableCompileCache();
  const bundle = currentBundle();
  // A config imports the constructors as `vigil` (or by the path of app/index): with the bundle running, that must be
  // the bundle's own, the same classes and brands the loader checks.
  if (bundle) {
    module.registerHooks({ resolve: (specifier, context, next) => {
      const resolved = next(specifier, context);
      return resolved.url === bundle.sourceIndex ? { url: bundle.index, format: 'module', shortCircuit: true } : resolved;
    } });
    // Vigil's own code is JavaScript here, so the TypeScript left is the config's (running from the source files, Node
    // strips Vigil's own anyway).
    const { stripTypesOutOfProcess } = await import('./strip-types.js');
    stripTypesOutOfProcess();
  }
  const { vigil } = await import(bundle?.main ?? main);
  const code = await vigil(process.argv.slice(2));
  process.exitCode = code;
  // Everything is closed by now; if a stray handle still holds the event loop, do not hang the shutdown on it.
  setTimeout(() => process.exit(code), 2000).unref();
} else {
  let pinned;
  try {
    pinned = path.join(path.dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');
  } catch {
    console.error(`vigil needs Node.js 24 or later (this is ${process.version}); run \`npm ci\` to install the pinned one.`);
    process.exit(1);
  }
  const child = spawn(pinned, [...process.execArgv, EXTERNAL_MEMORY_IN_HEAP_LIMITS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { MALLOC_ARENA_MAX: '1', ...process.env },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
