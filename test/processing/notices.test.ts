import { afterEach, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { testClips } from '../support/clips.ts';
import { waitFor } from '../support/wait.ts';
import { processingTestConfig, startProcessing, startSmtp, upload, USER_TEXT_LEAKS, waitForState, withoutLinks } from './support.ts';

const { clip } = testClips({ clip: { seconds: 2, width: 320, height: 240 } });

describeEachBackend('upload notices while processing is down (POSTPONING)', (backend) => {
  let store: TestStore | undefined;
  let vigil: Vigil | undefined;
  let smtp: Awaited<ReturnType<typeof startSmtp>> | undefined;
  afterEach(async () => {
    await vigil?.stop();
    await smtp?.close();
    await store?.cleanup();
    [vigil, smtp, store] = [undefined, undefined, undefined];
  });

  it('keeps uploads made while no worker runs, tells each uploader once that processing is down, then sends the result', async () => {
    smtp = await startSmtp();
    store = await backend.createStore();
    const mails = smtp.messages;
    const config = processingTestConfig(store, { notices: { delayedAfter: '5m' } }, { smtp: { url: smtp.url } });
    const clock = new FakeClock(Date.now());
    // A pass still querying when the fake clock's next tick comes skips that tick: keep the clock moving while waiting.
    const until = <T>(what: string, check: () => T | undefined | false) =>
      waitFor(what, async () => check() || void (await clock.advance(10_000)), 60_000, 100);
    // The upload API alone: the processing workers are stopped.
    vigil = await startProcessing(config, { roles: ['api'], clock });
    const names = ['ann', 'bob', 'cat'];
    const first = await Promise.all(names.map((name) => upload(vigil!.url, clip, { email: `${name}@example.com` }, `${name}.mp4`)));
    expect(first.map((answer) => answer.status)).toEqual([202, 202, 202]);

    // Within delayedAfter a wait is not news.
    await clock.advance(4 * 60_000);
    expect(mails).toEqual([]);
    await until('one "delayed" email per uploader', () => mails.length >= 3 && mails);

    // Later passes tell nobody twice; an upload made during the known outage is told at the next pass.
    await clock.advance(5 * 60_000);
    const late = await upload(vigil.url, clip, { email: 'dan@example.com' }, 'dan.mp4');
    expect(late.status).toBe(202);
    await until('the late uploader to be told', () => mails.some((mail) => mail.to && JSON.stringify(mail.to).includes('dan@example.com')));
    await clock.advance(5 * 60_000);
    const everyone = [...names, 'dan'];
    const to = (name: string) => mails.filter((mail) => JSON.stringify(mail.to).includes(`${name}@example.com`));
    for (const name of everyone) expect(to(name).map((mail) => mail.subject)).toEqual([`We received "${name}.mp4"; processing is delayed`]);
    const delayed = to('ann')[0]!;
    expect(delayed.text).toMatch(/is saved\. Our video processing service is down .* no need to upload it again: we will email you when it has been processed\./);
    expect(withoutLinks(delayed.text ?? '')).not.toMatch(USER_TEXT_LEAKS);

    // The workers come back: every video is processed and its uploader gets the result, and nothing more.
    await vigil.stop();
    vigil = await startProcessing(config);
    const ids = [...first, late].map((answer) => answer.body.id);
    for (const id of ids) expect((await waitForState(vigil.url, id, ['published', 'failed'], 120_000)).state).toBe('published');
    await waitFor('the result emails', () => mails.length >= 2 * everyone.length && mails, 30_000);
    for (const name of everyone) {
      expect(to(name).map((mail) => mail.subject)).toEqual([`We received "${name}.mp4"; processing is delayed`, `Your video "${name}.mp4" is ready`]);
    }
  });
});
