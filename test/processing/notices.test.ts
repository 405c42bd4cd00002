import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { alertsModule } from '../../alerts/index.ts';
import { FakeClock } from '../../core/clock.ts';
import { startVigil } from '../../core/lifecycle/start.ts';
import { processingModule } from '../../processing/index.ts';
import { describeEachBackend, pgliteBackend } from '../support/backends.ts';
import { testClips } from '../support/clips.ts';
import { waitFor } from '../support/wait.ts';
import { processingTestConfig, smtpStoreAndVigilPerTest, startProcessing, upload, USER_TEXT_LEAKS, waitForState, withoutLinks } from './support.ts';

const { clip } = testClips({ clip: { seconds: 2, width: 320, height: 240 } });

describeEachBackend('upload notices while processing is down (POSTPONING)', (backend) => {
  const perTest = smtpStoreAndVigilPerTest(backend);

  it('keeps uploads made while no worker runs, tells each uploader once that processing is down, then sends the result', async () => {
    const { smtp, store } = await perTest.smtpAndStore();
    const mails = smtp.messages;
    const config = processingTestConfig(store, { notices: { delayedAfter: '5m' } }, { smtp: { url: smtp.url } });
    const clock = new FakeClock(Date.now());
    // A pass still querying when the fake clock's next tick comes skips that tick: keep the clock moving while waiting.
    const until = <T>(what: string, check: () => T | undefined | false) =>
      waitFor(what, async () => check() || void (await clock.advance(10_000)), 60_000, 100);
    // The upload API alone: the processing workers are stopped.
    let vigil = perTest.stopAfter(await startProcessing(config, { roles: ['api'], clock }));
    const names = ['ann', 'bob', 'cat'];
    const first = await Promise.all(names.map((name) => upload(vigil.url, clip, { email: `${name}@example.com` }, `${name}.mp4`)));
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
    vigil = perTest.stopAfter(await startProcessing(config));
    const ids = [...first, late].map((answer) => answer.body.id);
    for (const id of ids) expect((await waitForState(vigil.url, id, ['published', 'failed'], 120_000)).state).toBe('published');
    await waitFor('the result emails', () => mails.length >= 2 * everyone.length && mails, 30_000);
    for (const name of everyone) {
      expect(to(name).map((mail) => mail.subject)).toEqual([`We received "${name}.mp4"; processing is delayed`, `Your video "${name}.mp4" is ready`]);
    }
  });
});

describe('one outage that delays 500 videos [PGlite]', () => {
  const perTest = smtpStoreAndVigilPerTest(pgliteBackend);

  it('admins get one incident and one email; each uploader one "delayed" email', async () => {
    const { smtp, store } = await perTest.smtpAndStore();
    const mails = smtp.messages;
    const config = processingTestConfig(
      store,
      { notices: { delayedAfter: '5m' } },
      {
        smtp: { url: smtp.url },
        alerts: {
          evaluationInterval: '10s',
          // The outage outlasts the default escalation hour in fake time; the escalation is the same incident's, not news.
          escalateAfter: '24h',
          rules: [{ name: 'uploads-waiting', kind: 'queue', queue: 'processing.store', maxDepth: 100, labels: { service: 'processing', severity: 'warning' } }],
          receivers: { admins: { type: 'email', to: ['admins@example.com'] } },
          routes: [{ receivers: ['admins'] }],
        },
      },
    );
    const clock = new FakeClock(Date.now());
    const until = <T>(what: string, check: () => T | undefined | false) =>
      waitFor(what, async () => check() || void (await clock.advance(10_000)), 120_000, 100);
    // The upload API and the alerts, with every processing worker down: the outage.
    const vigil = perTest.stopAfter(await startVigil({ config, modules: [processingModule, alertsModule], roles: ['api', 'alerts'], clock }));
    const count = 500;
    // As many at once as one key may send (apiLimits.concurrentUploads).
    for (let i = 0; i < count; i += 8) {
      const answers = await Promise.all(Array.from({ length: Math.min(8, count - i) }, (_, j) => upload(vigil.url, randomBytes(2048), { email: `user${i + j}@example.com` }, `v${i + j}.mp4`)));
      expect(answers.every((answer) => answer.status === 202)).toBe(true);
    }
    const toAdmins = () => mails.filter((mail) => JSON.stringify(mail.to).includes('admins@example.com'));
    const toUsers = () => mails.filter((mail) => !JSON.stringify(mail.to).includes('admins@example.com'));
    await until('the admins\' incident email', () => toAdmins().length > 0);
    await until('one "delayed" email per uploader', () => toUsers().length >= count);
    // The outage goes on for another half hour: nobody hears of it twice.
    for (let minute = 0; minute < 30; minute++) await clock.advance(60_000);
    await until('the last passes', () => true);
    expect(toAdmins().map((mail) => mail.subject)).toEqual([expect.stringMatching(/^\[WARNING\] FIRING processing: queue processing\.store: 500 waiting/)]);
    const perUser = new Map<string, number>();
    for (const mail of toUsers()) perUser.set(JSON.stringify(mail.to), (perUser.get(JSON.stringify(mail.to)) ?? 0) + 1);
    expect(perUser.size).toBe(count);
    expect([...perUser.values()].every((n) => n === 1)).toBe(true);
    expect(toUsers().every((mail) => /processing is delayed$/.test(mail.subject ?? ''))).toBe(true);
    const incidents = await vigil.db.query<{ n: number }>('select count(*)::int as n from alerts_incidents');
    expect(incidents[0]!.n).toBe(1);
  }, 300_000);
});
