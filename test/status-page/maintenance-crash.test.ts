// Issue 10: "a kill -9 between scheduling and sending loses and duplicates no maintenance email". A real `vigil start`
// process on the embedded store is killed with SIGKILL while maintenance emails are pending (one maintenance's
// announcements refused by an SMTP outage and retrying, another scheduled a moment before the kill), and a second process
// on the same data directory sends each email exactly once: both announcements, the reminder that came due around the
// crash, and the start.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtp, type ReceivedMail } from '../alerts/support.ts';
import { startVigilProcess, type RunningVigil } from '../operator/support.ts';
import { waitFor } from '../support/wait.ts';

const CONFIG = path.join(import.meta.dirname, 'fixtures/maintenance-crash.config.ts');
/** The config's one reminder: this long before a maintenance starts. */
const REMINDER = 45_000;

describe('maintenance emails across a kill -9', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let vigil: RunningVigil | undefined;

  const mailsTo = (address: string, subject?: RegExp) => smtp.mails.filter((mail) => mail.to === address && (!subject || subject.test(mail.subject)));
  const waitForMail = (address: string, subject: RegExp, timeoutMs = 60_000) =>
    waitFor(`a mail "${subject}" to ${address}`, () => mailsTo(address, subject).length > 0 && mailsTo(address, subject), timeoutMs);
  const post = (path: string, fields: Record<string, string>) =>
    fetch(`${vigil!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  const tokenIn = (mail: ReceivedMail) => /\/subscribe\/confirm\?token=([\w.-]+)/.exec(mail.text)?.[1];

  async function subscribe(email: string, fields: Record<string, string>, confirm = true) {
    expect((await post('/subscribe', { email, ...fields })).status).toBe(200);
    const [mail] = await waitForMail(email, /confirm/);
    if (confirm) expect((await post('/subscribe/confirm', { token: tokenIn(mail!)! })).status).toBe(200);
  }

  async function schedule(title: string, startsAt: number, duration: string) {
    const answer = await vigil!.api<{ maintenance: { id: number } }>('POST', '/admin/api/v1/status/maintenances', { title, body: 'Uploads pause.', components: ['uploads'], startsAt, duration, author: 'ops' });
    expect(answer.status).toBe(201);
    return answer.body.maintenance.id;
  }

  beforeAll(async () => {
    smtp = await startSmtp();
    vigil = await startVigilProcess({ config: CONFIG, env: { SMTP_URL: smtp.url } });
  }, 120_000);

  afterAll(async () => {
    await vigil?.stop();
    await smtp?.close();
  });

  it('a kill -9 between scheduling and sending loses and duplicates no maintenance email', async () => {
    await subscribe('all@example.com', { scope: 'all' });
    await subscribe('uploads@example.com', { scope: 'some', component: 'uploads' });
    await subscribe('playback@example.com', { scope: 'some', component: 'playback' });
    await subscribe('unconfirmed@example.com', { scope: 'all' }, false);

    // An SMTP outage: a maintenance starting soon is announced, the announcements are attempted and refused, and wait
    // for a retry; its reminder comes due a few seconds later, while the process is down or just back ...
    smtp.refuse = true;
    const startsAt = Date.now() + REMINDER + 8_000;
    await schedule('Storage move', startsAt, '10m');
    await waitFor('the announcements refused', () => smtp.refused >= 2);
    // ... and a second one is scheduled, and the process killed the moment the admin API answered, before it mailed.
    await schedule('Player update', Date.now() + 7 * 86_400_000, '1h');
    const first = vigil!;
    first.process.child.kill('SIGKILL');
    expect((await first.process.exited).signal).toBe('SIGKILL');

    smtp.refuse = false;
    vigil = await startVigilProcess({ config: CONFIG, env: { SMTP_URL: smtp.url }, home: first.home });
    const subscribers = ['all@example.com', 'uploads@example.com'];
    for (const address of subscribers) {
      await waitForMail(address, /maintenance scheduled: Storage move/);
      await waitForMail(address, /maintenance scheduled: Player update/);
    }
    // The reminder came due around the crash; the start comes well after it, so by then every retry has had its turn.
    for (const address of subscribers) await waitForMail(address, /reminder: maintenance Storage move/, startsAt - Date.now() + 30_000);
    for (const address of subscribers) await waitForMail(address, /maintenance under way: Storage move/, startsAt - Date.now() + 30_000);

    for (const address of subscribers) {
      const received = mailsTo(address, /maintenance/);
      // Exactly once each, by subject and by Message-ID.
      expect(received.map((mail) => mail.subject.replace(/^.*?: /, '')).sort(), address).toEqual([
        'maintenance scheduled: Player update',
        'maintenance scheduled: Storage move',
        'maintenance under way: Storage move',
        'reminder: maintenance Storage move',
      ]);
      expect(new Set(received.map((mail) => mail.messageId)).size, address).toBe(received.length);
    }
    expect(mailsTo('playback@example.com', /maintenance/)).toEqual([]);
    expect(mailsTo('unconfirmed@example.com', /maintenance/)).toEqual([]);
  }, 240_000);
});
