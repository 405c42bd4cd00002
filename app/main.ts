#!/usr/bin/env node
// The `vigil` command: core's CLI run against the product assembled here.
import { readFileSync } from 'node:fs';
import { findPackageJSON } from 'node:module';
import { runCli } from '../core/cli/run.ts';
import { loadConfig, parseConfig } from './config.ts';
import { MODULES } from './modules.ts';

/** The version of the package this file ships in (the repository's, or the installed one's). */
const version = (JSON.parse(readFileSync(findPackageJSON('..', import.meta.url)!, 'utf8')) as { version: string }).version;

/** Runs one `vigil` command line; resolves with the exit code. */
export function vigil(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runCli({ modules: MODULES, config: { load: loadConfig, parse: parseConfig }, version }, argv, env);
}

if (import.meta.main) {
  const code = await vigil(process.argv.slice(2));
  process.exitCode = code;
  // Everything is closed by now; if a stray handle still holds the event loop, do not hang the shutdown on it.
  setTimeout(() => process.exit(code), 2000).unref();
}
