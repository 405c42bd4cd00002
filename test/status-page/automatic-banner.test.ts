import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import type { Banner } from '../../status-page/banner.ts';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { testClips } from '../support/clips.ts';
import { untilOnClock } from '../support/wait.ts';
import { ADMIN_TOKEN } from '../processing/support.ts';
import { getJson, processUploads, SLOWER, startBannerVigil } from './support.ts';

const { clip } = testClips({ clip: { seconds: 1, width: 160, height: 120 } });

describeEachBackend('automatic site banner from the failure rate of processed videos', (backend) => {
  let store: TestStore;
  let vigil: Vigil | undefined;
  let clock: FakeClock;

  afterEach(async () => {
    await vigil?.stop();
    vigil = undefined;
    await store.cleanup();
  });

  const start = async () => {
    store = await backend.createStore();
    clock = new FakeClock(Date.now());
    vigil = await startBannerVigil(store, clock);
    return vigil;
  };

  const banner = async () => (await getJson<{ banner: Banner | null }>(vigil!, '/embed/banner.json')).banner;
  const processing = async () => ((await getJson(vigil!, '/api/v2/summary.json')).components as Array<{ status: string }>)[0]!.status;

  const until = <T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, maxFakeMs?: number) => untilOnClock(clock, what, check, maxFakeMs);

  const process = (files: Buffer[] | string[], expected: 'failed' | 'published') => processUploads(vigil!, files, expected);

  it('bad uploads raise the banner and degrade the component within an evaluation; good ones clear it after the hold', async () => {
    await start();
    expect(await banner()).toBeNull();

    await process([randomBytes(4096), randomBytes(4096)], 'failed');
    const failedAt = clock.now();
    const raised = await until('the automatic banner', async () => (await banner()) ?? undefined);
    // One evaluation interval and one status page refresh; plus 10 s for the fake clock's 1 s steps running ahead of the
    // real queries of the evaluation, the outbox and the refresh on a loaded machine.
    expect(clock.now() - failedAt).toBeLessThanOrEqual(5000 + 5000 + 10_000);
    expect(raised).toMatchObject({ id: expect.stringMatching(/^alert-\d+$/), level: 'warning', message: SLOWER });
    expect(await processing()).toBe('degraded_performance');

    // 2 failed of 4: between the clear and trigger levels, the banner stays.
    await process([clip, clip], 'published');
    await clock.advance(15_000);
    expect(await banner()).toMatchObject({ id: raised.id });
    expect(await processing()).toBe('degraded_performance');

    // 2 failed of 6: at or below the clear level.
    await process([clip, clip], 'published');
    const goodAt = clock.now();
    await until('the alert to end', async () => (await processing()) === 'operational');
    // The failure rate has to stay clear for the rule's hold before the alert ends ...
    expect(clock.now() - goodAt).toBeGreaterThanOrEqual(60_000);
    const endedAt = clock.now();
    expect(await banner()).toMatchObject({ id: raised.id });
    // ... and the banner stays for its own hold time after that.
    await until('the banner to clear', async () => (await banner()) === null);
    expect(clock.now() - endedAt).toBeGreaterThanOrEqual(50_000);
  });

  it("an admin's override shows over everything until cleared or past its duration", async () => {
    await start();
    const call = async (route: string, body?: unknown) => {
      const response = await fetch(`${vigil!.url}/admin/api/v1/status${route}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: (await response.json()) as { override: { id: string } | null; banner: Banner | null; error?: { message: string } } };
    };
    const set = await call('/banner', { message: 'The new editor is live.', level: 'info', duration: '10m' });
    expect(set.status).toBe(200);
    expect(set.json.banner).toMatchObject({ level: 'info', message: 'The new editor is live.' });
    expect(await banner()).toMatchObject({ id: `override-${set.json.override!.id}`, message: 'The new editor is live.' });
    expect((await call('/banner', { message: '', level: 'loud' })).status).toBe(400);

    await clock.advance(11 * 60_000);
    expect(await banner()).toBeNull();

    await call('/banner', { message: 'Uploads may be slow tonight.' });
    expect(await banner()).toMatchObject({ level: 'warning', message: 'Uploads may be slow tonight.' });
    const cleared = await call('/banner/clear', {});
    expect(cleared.json).toEqual({ override: null, banner: null });
    expect(await banner()).toBeNull();
  });
});
