import { createHook } from 'node:async_hooks';

// Node builds each `process.nextTick` entry as an object literal. V8 holds the maps (hidden classes) that literal goes
// through only weakly, so a full garbage collection that finds no entry alive drops them, and the next entry is built
// on new maps. After a few such collections the inline caches in nextTick and in the loop that runs the entries have
// seen too many maps and fall back to V8's generic runtime path for good: each entry then costs about ten times as
// much. A bare server never does a full collection and never shows it; Vigil's process does them routinely (a larger
// heap, the embedded store), and node:http calls nextTick four to eight times per request: `/healthz` served about 30%
// fewer requests per second on one core (bench/status-page.ts, perf showing V8's Runtime_DefineKeyedOwnPropertyInLiteral
// under nextTick). Holding one entry for the life of the process keeps its maps alive, so the caches stay monomorphic.
const held: object[] = [];

/** Keeps one nextTick entry alive for the life of the process (see above); once per process, before serving. */
export function holdTickShape(): void {
  if (held.length > 0) return;
  // The entry is reachable only through an async hook's init, for as long as the hook is on: one tick.
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && held.length === 0) held.push(resource);
    },
  }).enable();
  try {
    process.nextTick(() => {});
  } finally {
    hook.disable();
  }
}
