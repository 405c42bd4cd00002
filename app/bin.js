#!/usr/bin/env -S node --liftoff-only --max-semi-space-size=4
// The `vigil` executable. Vigil runs on the Node version the project pins (the `node` devDependency);
// when started by an older Node, this re-runs the CLI on the pinned one.
// --liftoff-only: V8 compiles the embedded PostgreSQL (PGlite's WebAssembly) with its baseline compiler only. The
// optimising compiler needed about 550 MB for a few seconds on its largest functions, more than doubling the start's
// peak memory, for about 10% faster queries afterwards (bench/startup.ts). --max-semi-space-size=4 (MB): a young
// generation of 4 MB instead of 16 keeps idle RSS about 50 MB lower; 2 MB saved 20 MB more but cost 20% more CPU per
// uploaded GiB in garbage collection. The npm scripts pass the same flags.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// In the repository the CLI is TypeScript; the published package ships it compiled next to this file.
const compiled = fileURLToPath(new URL('./main.js', import.meta.url));
const main = existsSync(compiled) ? compiled : fileURLToPath(new URL('./main.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  const { vigil } = await import(main);
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
  const child = spawn(pinned, [...process.execArgv, main, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
