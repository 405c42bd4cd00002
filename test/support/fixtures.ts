import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

/** `test`: made before each test and disposed of after it; `suite`: made once for the suite's tests, disposed of after the last. */
export type FixtureScope = 'test' | 'suite';

/**
 * Something a test needs, made by `make` and disposed of by `dispose` around each test or the whole suite; the returned
 * function reads it while it exists. Disposals run in the reverse order of these calls (vitest runs after-hooks as a
 * stack), so a fixture made from another goes first.
 */
export function fixture<T>(scope: FixtureScope, make: () => Promise<T>, dispose: (value: T) => Promise<unknown>): () => T {
  const [before, after] = scope === 'test' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  let current: { value: T } | undefined;
  before(async () => {
    current = { value: await make() };
  });
  after(async () => {
    if (current) await dispose(current.value);
    current = undefined;
  });
  return () => {
    if (!current) throw new Error(`a per-${scope} fixture exists only while its tests run`);
    return current.value;
  };
}

/** An object whose properties read the given fixtures (`perTest.store`, `suite.vigil`). */
export function fixtureView<Readers extends Record<string, () => unknown>>(readers: Readers): { readonly [Name in keyof Readers]: ReturnType<Readers[Name]> } {
  const view = {};
  for (const [name, read] of Object.entries(readers)) Object.defineProperty(view, name, { get: read, enumerable: true });
  return view as { readonly [Name in keyof Readers]: ReturnType<Readers[Name]> };
}
