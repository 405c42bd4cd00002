// What the product-against-product benches share: processes pinned to a core, their CPU seconds (reaped children
// included) and memory read from /proc, anchors found on the PATH or skipped with a reason, and one table format.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const TICKS_PER_SECOND = 100;

/** A bench's command line: `--name value` for each option with a text default, `--name` for each with a boolean one. */
export function benchOptions<const Texts extends Record<string, string>, const Switches extends Record<string, boolean> = Record<never, boolean>>(
  texts: Texts,
  switches?: Switches,
): { [Name in keyof Texts]: string } & { [Name in keyof Switches]: boolean } {
  const options = {
    ...Object.fromEntries(Object.entries(texts).map(([name, fallback]) => [name, { type: 'string' as const, default: fallback }])),
    ...Object.fromEntries(Object.entries(switches ?? {}).map(([name, fallback]) => [name, { type: 'boolean' as const, default: fallback }])),
  };
  return parseArgs({ options }).values as { [Name in keyof Texts]: string } & { [Name in keyof Switches]: boolean };
}

/** Clock ticks from /proc/<pid>/stat: after the command name, state is field 0, so utime, stime, cutime, cstime are 11..14. */
function cpuTicks(pid: number, from: number, to: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return fields.slice(from, to).reduce((sum, value) => sum + Number(value), 0);
}

/** CPU seconds a process has used so far, its waited-for children included (ffmpeg, for instance). */
export const cpuSeconds = (pid: number): number => cpuTicks(pid, 11, 15) / TICKS_PER_SECOND;

/** CPU seconds of a process's waited-for children alone. */
export const reapedChildrenCpuSeconds = (pid: number): number => cpuTicks(pid, 13, 15) / TICKS_PER_SECOND;

/** The path of an anchor's binary, or undefined (the caller prints that it skips the anchor). */
export function findBinary(...names: string[]): string | undefined {
  for (const name of names) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (found) return found;
  }
  return undefined;
}

export interface Pinned {
  child: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts a program pinned to one core (taskset), so both sides of a comparison get the same CPU. */
export function startPinned(core: number, command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Pinned {
  const child = spawn('taskset', ['-c', String(core), command, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  child.stderr!.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    // taskset execs the command, so the pid is the program's own.
    pid: child.pid!,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killed);
    },
  };
}

/** Pins a running process, every thread of it, to `core`; children it starts afterwards inherit the pinning. */
export function pin(pid: number, core: number): void {
  spawnSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

/** Polls until `check` holds (a server answering, a file written), failing after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const answers = (url: string) => async () => (await fetch(url)).ok;

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** One line of the comparison table; `lowerIsBetter` says which way the ratio should go against its target. */
export interface Row {
  measure: string;
  /** What Vigil is compared with; absent for a row with an absolute target only. */
  anchor?: string;
  anchorValue: number | undefined;
  vigil: string;
  vigilValue: number;
  unit: string;
  /** The ratio Vigil/anchor aimed for (e.g. 1.0 for "at most the anchor's CPU"). */
  target?: number;
  /** A target stated as an absolute figure instead of a ratio ("≤ 150 MiB"). */
  targetText?: string;
  lowerIsBetter: boolean;
}

const format = (value: number, unit: string) => (unit === 'MiB' ? `${(value / 1024 / 1024).toFixed(0)} MiB` : `${value < 10 ? value.toFixed(2) : value.toFixed(0)} ${unit}`);

/**
 * Prints the rows as a Markdown table: each side's figure, Vigil/anchor, and the target beside it. Under `npm run
 * bench` the rows are also kept (VIGIL_BENCH_ROWS names the file), for the one table printed at the end.
 */
export function printTable(title: string, rows: Row[]): void {
  if (process.env.VIGIL_BENCH_ROWS) appendFileSync(process.env.VIGIL_BENCH_ROWS, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
  console.log(`\n${title}\n`);
  console.log('| measure | anchor | Vigil | ratio (Vigil / anchor) | target |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const row of rows) {
    const anchor = row.anchor === undefined ? '—' : row.anchorValue === undefined ? `${row.anchor}: skipped` : `${row.anchor}: ${format(row.anchorValue, row.unit)}`;
    const ratio = row.anchorValue === undefined || row.anchorValue === 0 ? '—' : (row.vigilValue / row.anchorValue).toFixed(2);
    const target = row.targetText ?? (row.target === undefined ? '—' : `${row.lowerIsBetter ? '≤' : '≥'} ${row.target}`);
    console.log(`| ${row.measure} | ${anchor} | ${row.vigil}: ${format(row.vigilValue, row.unit)} | ${ratio} | ${target} |`);
  }
}
