// workEach: pg-boss workers that fetch again once they have handled a job, so jobs sent while every worker was busy
// run without waiting for the poll (here an hour: only a wake-up can run them within the test).
import { afterEach, expect, it } from 'vitest';
import { openDb, type Db } from '../../core/db/index.ts';
import { startQueue, workEach, type Queue } from '../../core/queue/index.ts';
import { createLogger } from '../../core/telemetry/logger.ts';
import { describeEachBackend, testConfig, type TestStore } from '../support/backends.ts';
import { waitFor } from '../support/wait.ts';

const QUEUE = 'test.work-each';
const HOUR = 3600;

describeEachBackend('workEach', (backend) => {
  let store: TestStore;
  let db: Db;
  let queue: Queue;
  afterEach(async () => {
    await queue.stop({ graceful: false, close: true, timeout: 1000 });
    await db.close();
    await store.cleanup();
  });

  it.each([1, 2])('with %i worker(s), runs every job sent while all were busy, without waiting for the poll', async (concurrency) => {
    store = await backend.createStore();
    db = await openDb(testConfig(store).database);
    queue = await startQueue(db, createLogger({ level: 'silent' }));
    await queue.createQueue(QUEUE, { notify: true });

    const handled: number[] = [];
    let started = 0;
    let release!: () => void;
    const busy = new Promise<void>((resolve) => (release = resolve));
    const ids = await workEach<{ n: number }>(queue, QUEUE, { pollingIntervalSeconds: HOUR, notifyPollingIntervalSeconds: HOUR }, concurrency, async (job) => {
      started += 1;
      if (job.data.n < concurrency) await busy;
      handled.push(job.data.n);
    });
    expect(ids).toHaveLength(concurrency);

    // Every worker holds a job; then five more are sent, each with its NOTIFY, while none can fetch.
    for (let n = 0; n < concurrency; n++) await queue.send(QUEUE, { n });
    await waitFor('every worker to hold a job', () => started === concurrency, 20_000);
    for (let n = concurrency; n < concurrency + 5; n++) await queue.send(QUEUE, { n });
    release();

    await waitFor('every job to run', () => handled.length === concurrency + 5, 20_000);
    expect([...handled].sort((a, b) => a - b)).toEqual(Array.from({ length: concurrency + 5 }, (_, n) => n));
  }, 60_000);
});
