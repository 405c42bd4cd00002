// Runs every benchmark in bench/ in turn (npm run bench), then prints the rows of all of them as one table of ratios
// against their anchors and targets. Each prints its own figures too; none passes or fails on time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { printTable, type Row } from './support/measure.ts';

const only = process.argv.slice(2);
const benches = readdirSync(import.meta.dirname)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .filter((file) => only.length === 0 || only.includes(path.basename(file, '.ts')));
const rowsDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
const rowsFile = path.join(rowsDir, 'rows.jsonl');
let failed = 0;
for (const file of benches) {
  console.log(`\n### bench/${file}`);
  const result = spawnSync(process.execPath, [path.join(import.meta.dirname, file)], { stdio: 'inherit', env: { ...process.env, VIGIL_BENCH_ROWS: rowsFile } });
  if (result.status !== 0) failed += 1;
}
const rows = (() => {
  try {
    return readFileSync(rowsFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Row);
  } catch {
    return [];
  }
})();
rmSync(rowsDir, { recursive: true, force: true });
console.log(`\n### all benches (${os.loadavg()[0]!.toFixed(1)} load average at the end)`);
printTable('Vigil against the tools users would run instead', rows);
process.exitCode = failed ? 1 : 0;
