// Loaded with `node --import` into a `vigil` process by the start-up bench and the lazy-loading test: every
// `VIGIL_FOOTPRINT_INTERVAL_MS` (default 250) it writes to the file named by VIGIL_FOOTPRINT_FILE the process's memory
// (V8 heap, external and array buffers, WebAssembly memories such as PGlite's, RSS), the peak of each so far, and every
// module resolved so far. It changes nothing in the process it watches besides wrapping WebAssembly's constructors.
import { registerHooks } from 'node:module';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface FootprintSample {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  wasm: number;
  rss: number;
}

export interface Footprint {
  /** When this sample was taken (epoch milliseconds). */
  at: number;
  now: FootprintSample;
  peak: FootprintSample;
  modules: string[];
  /** Node's own bundled dependencies loaded so far (its undici behind fetch, its TypeScript stripper, ...). */
  nodeDependencies: string[];
}

/** Reads what the watched process wrote last (undefined before its first write). */
export function readFootprint(file: string): Footprint | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Footprint;
  } catch {
    return undefined;
  }
}

const file = process.env.VIGIL_FOOTPRINT_FILE;
if (file) watch(file, Number(process.env.VIGIL_FOOTPRINT_INTERVAL_MS ?? 250));

function watch(target: string, intervalMs: number): void {
  const modules = new Set<string>();
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      modules.add(resolved.url);
      return resolved;
    },
  });

  const memories = new Set<WebAssembly.Memory>();
  const remember = (instance: WebAssembly.Instance) => {
    for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.add(value);
    return instance;
  };
  const { instantiate, Memory, Instance } = WebAssembly;
  WebAssembly.Memory = new Proxy(Memory, { construct: (target, args) => {
    const memory = new target(...(args as [WebAssembly.MemoryDescriptor]));
    memories.add(memory);
    return memory;
  } });
  WebAssembly.Instance = new Proxy(Instance, { construct: (target, args) => remember(new target(...(args as [WebAssembly.Module]))) });
  WebAssembly.instantiate = (async (source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports) => {
    const result: unknown = await instantiate(source, imports);
    remember(result instanceof WebAssembly.Instance ? result : (result as WebAssembly.WebAssemblyInstantiatedSource).instance);
    return result;
  }) as typeof WebAssembly.instantiate;

  const fields = ['heapUsed', 'heapTotal', 'external', 'arrayBuffers', 'wasm', 'rss'] as const;
  const peak: FootprintSample = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, wasm: 0, rss: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    let wasm = 0;
    for (const memory of memories) wasm += memory.buffer.byteLength;
    const now: FootprintSample = { heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers, wasm, rss: usage.rss };
    for (const field of fields) peak[field] = Math.max(peak[field], now[field]);
    const partial = `${target}.partial`;
    // An undocumented list of what Node loaded of its own: "NativeModule internal/deps/undici/undici", ...
    const loaded = (process as NodeJS.Process & { moduleLoadList: string[] }).moduleLoadList;
    const nodeDependencies = loaded.filter((entry) => entry.startsWith('NativeModule internal/deps/')).map((entry) => entry.slice('NativeModule internal/deps/'.length));
    writeFileSync(partial, JSON.stringify({ at: Date.now(), now, peak, modules: [...modules], nodeDependencies } satisfies Footprint));
    renameSync(partial, target);
  };
  sample();
  setInterval(sample, intervalMs).unref();
}
