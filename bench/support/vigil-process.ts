// A Vigil started as its own process (`vigil start`), for figures that must not mix with the bench's own: start-up
// time, memory. Imported by the benches; not a bench itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

// The `vigil` executable's #! line: `#!/usr/bin/env -S NAME=value ... node --flag ...`.
const launcher = readFileSync(path.join(root, 'app/bin.js'), 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(2);
/** The Node flags the `vigil` executable runs with, so benches measure the process users run. */
export const LAUNCHER_FLAGS = launcher.slice(launcher.indexOf('node') + 1);
/** The environment variables the `vigil` executable sets (its malloc settings). */
export const LAUNCHER_ENV: Record<string, string> = Object.fromEntries(launcher.slice(0, launcher.indexOf('node')).map((assignment) => assignment.split('=', 2)));
/** The command the `vigil` executable runs, as its #! line says it (variables, `node`, flags), for benches to print. */
export const LAUNCHER_COMMAND = launcher.join(' ');

export interface VigilProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `vigil start` (extra `args` such as `--role api`) with `env` and the launcher's Node flags, and resolves once
 * it reports its URL; `onSpawn` learns the pid at once, to watch the start itself. */
export async function startVigilProcess(env: NodeJS.ProcessEnv, args: string[] = [], nodeFlags: string[] = [], onSpawn?: (pid: number) => void): Promise<VigilProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, [...LAUNCHER_FLAGS, ...nodeFlags, 'app/bin.js', 'start', ...args], {
    cwd: root,
    env: { ...process.env, ...LAUNCHER_ENV, VIGIL_PORT: '0', VIGIL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onSpawn?.(child.pid!);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  };
  for (;;) {
    const url = /"url":"(http:[^"]+)"[^\n]*"msg":"vigil started"/.exec(output)?.[1];
    if (url) return { url, pid: child.pid!, child, stop };
    if (child.exitCode !== null) throw new Error(`vigil exited early:\n${output}`);
    if (performance.now() - started > 60_000) {
      await stop();
      throw new Error(`vigil did not start within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resident memory of a process now and at its peak so far (VmHWM), in bytes; `file` is the part mapped from files (the
 * node binary's code and data, shared libraries), the rest is the process's own (heaps, WebAssembly memory, malloc). */
export function memoryOf(pid: number): { rss: number; peak: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM'), file: kib('RssFile') };
}

export const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
