// holdTickShape keeps the inline caches of process.nextTick monomorphic through full garbage collections. Run in a
// child Node (its own heap, V8's natives syntax to read nextTick's feedback); the control run without it shows what
// it prevents, so a Node whose nextTick no longer needs it fails here and says so.
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const MODULE = pathToFileURL(path.join(import.meta.dirname, '../../core/lifecycle/tick-shape.ts')).href;

// Ticks with and without arguments (as node:http and streams call it), a full collection between rounds with no
// tick pending, then the states of the feedback slots that define the entry's properties.
const SCRIPT = `
const { holdTickShape } = await import(process.argv[1]);
if (process.argv[2] === 'hold') holdTickShape();
for (let round = 0; round < 40; round++) {
  for (let i = 0; i < 2000; i++) process.nextTick(() => {}, i % 2 ? i : undefined);
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc();
}
new Function('f', '%DebugPrint(f)')(process.nextTick);
`;

function literalSlotStates(mode: 'hold' | 'control'): string[] {
  const child = spawnSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', SCRIPT, MODULE, mode], { encoding: 'utf8', timeout: 60_000 });
  expect(child.status, child.stderr).toBe(0);
  return [...child.stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((match) => match[1]!);
}

describe('holdTickShape', () => {
  it('keeps the properties of nextTick entries on one map through full collections', () => {
    const states = literalSlotStates('hold');
    expect(states.length).toBeGreaterThan(0);
    expect(states.filter((state) => state !== 'MONOMORPHIC')).toEqual([]);
  });

  it('is still needed: without it the same run leaves nextTick on the generic path', () => {
    expect(literalSlotStates('control')).toContain('MEGAMORPHIC');
  });
});
