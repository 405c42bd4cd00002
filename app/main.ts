#!/usr/bin/env node
// The `vigil` command: core's CLI run against the product assembled here.
import { runCli } from '../core/cli/run.ts';
import { BUILD } from '../core/telemetry/build.ts';
import { loadConfig, parseConfig } from './config.ts';
import { initCommand } from './init.ts';
import { MODULES } from './modules.ts';

/** Runs one `vigil` command line; resolves with the exit code. */
export function vigil(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runCli({ modules: MODULES, config: { load: loadConfig, parse: parseConfig }, version: BUILD.version, commands: [initCommand] }, argv, env);
}

if (import.meta.main) {
  const code = await vigil(process.argv.slice(2));
  process.exitCode = code;
  // Everything is closed by now; if a stray handle still holds the event loop, do not hang the shutdown on it.
  setTimeout(() => process.exit(code), 2000).unref();
}
