import { describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../core/db/index.ts';
import { createRegistry } from '../../core/telemetry/metrics.ts';
import { http } from '../../app/index.ts';
import { batcher } from '../../probes/batch.ts';
import { loadProbes } from '../../probes/loader.ts';
import { probeMetrics } from '../../probes/metrics.ts';
import { createRecorder } from '../../probes/record.ts';
import { getRecentResults } from '../../probes/results.ts';
import type { Run } from '../../probes/runner.ts';
import { databasePerTest, pgliteBackend } from '../support/backends.ts';
import { quietLogger } from './support.ts';

/** A promise and the function that settles it, for holding a write until the test lets it go. */
function gate(): { opened: Promise<void>; open(): void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const ticks = async (count = 20) => {
  for (let i = 0; i < count; i++) await Promise.resolve();
};

describe('writes of a busy scheduler share statements', () => {
  it('claims asked for while a flush runs wait for the window after it, with those asked for during that window', async () => {
    const flushes: string[][] = [];
    const held = gate();
    const claims = batcher(async (items: string[]) => {
      flushes.push(items);
      if (flushes.length === 1) await held.opened;
      return items;
    }, 50);
    const answers = [claims.add('a')];
    while (flushes.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    answers.push(claims.add('b'));
    held.open();
    await ticks();
    answers.push(claims.add('c'));
    expect(await Promise.all(answers)).toEqual(['a', 'b', 'c']);
    await claims.idle();
    expect(flushes).toEqual([['a'], ['b', 'c']]);
  });

  describe('the recorder', () => {
    const scratch = databasePerTest(pgliteBackend);

    it('writes the runs that finish during a write with those of the next interval, not in a write of their own', async () => {
      const [loaded] = loadProbes([http({ name: 'batched', url: 'http://127.0.0.1:1/' })]).probes;
      let transactions = 0;
      const held = gate();
      const firstWritten = gate();
      const counted: Db = Object.assign(Object.create(scratch.db) as Db, {
        transaction: async <T>(work: (tx: Queryable) => Promise<T>) => {
          transactions += 1;
          if (transactions > 1) return scratch.db.transaction(work);
          await held.opened;
          const result = await scratch.db.transaction(work);
          firstWritten.open();
          return result;
        },
      });
      const recorder = createRecorder({ db: counted, metrics: probeMetrics(createRegistry()), logger: quietLogger, flushEveryMs: 2000 });
      let startedAt = Date.UTC(2026, 0, 1);
      const run = (): Run => ({ result: { probe: 'batched', kind: 'http', location: 'local', success: true, startedAt: (startedAt += 1000), durationMs: 1 }, outcome: { success: true } });
      const recorded = [recorder.record(loaded!, run())];
      while (transactions === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      recorded.push(recorder.record(loaded!, run()));
      held.open();
      await firstWritten.opened;
      await ticks(200);
      recorded.push(recorder.record(loaded!, run()));
      await recorder.idle();
      await Promise.all(recorded);
      expect(transactions).toBe(2);
      expect(await getRecentResults(scratch.db, 'batched', 10)).toHaveLength(3);
    });
  });
});
