import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { component } from '../../app/index.ts';
import { DAY, FakeClock, HOUR } from '../../core/clock.ts';
import type { Vigil } from '../../core/lifecycle/start.ts';
import { dueMaintenanceMail, type MaintenanceMailState } from '../../status-page/maintenance-mail.ts';
import { retryAfterSeconds } from '../../status-page/subscriptions.ts';
import { startSmtp, type ReceivedMail } from '../alerts/support.ts';
import { describeEachBackend, type TestStore } from '../support/backends.ts';
import { waitFor } from '../support/wait.ts';
import { admin, probesNamed, startStatusVigil } from './support.ts';

const REMINDERS = [DAY, HOUR];

describe('which maintenance email is due', () => {
  const START = 100 * DAY;
  const state = (over: Partial<Omit<MaintenanceMailState, 'sent'>> & { sent?: Record<string, number> } = {}): MaintenanceMailState => ({
    startsAt: START,
    endsAt: START + 2 * HOUR,
    cancelledAt: null,
    sequence: 0,
    ...over,
    sent: new Map(Object.entries(over.sent ?? {})),
  });
  const announced = { scheduled: START - 3 * DAY };
  const cases: Array<[string, MaintenanceMailState, number, string | undefined]> = [
    ['a new maintenance is announced', state(), START - 3 * DAY, 'scheduled'],
    ['one over before it was announced sends nothing', state(), START + 3 * HOUR, undefined],
    ['one cancelled before it was announced sends nothing', state({ cancelledAt: START - 4 * DAY }), START - 3 * DAY, undefined],
    ['nothing between the announcement and the first reminder', state({ sent: announced }), START - 2 * DAY, undefined],
    ['the 24 h reminder', state({ sent: announced }), START - DAY, `reminder:${DAY}:0`],
    ['the 24 h reminder once', state({ sent: { ...announced, [`reminder:${DAY}:0`]: START - DAY } }), START - 2 * HOUR, undefined],
    ['the 1 h reminder', state({ sent: { ...announced, [`reminder:${DAY}:0`]: START - DAY } }), START - HOUR + 1, `reminder:${HOUR}:0`],
    ['a Vigil down through both reminder times sends the nearest only', state({ sent: announced }), START - 30 * 60_000, `reminder:${HOUR}:0`],
    ['no reminder whose time had passed when it was announced', state({ sent: { scheduled: START - 2 * HOUR } }), START - HOUR / 2, `reminder:${HOUR}:0`],
    ['no reminder at all when announced within the hour', state({ sent: { scheduled: START - HOUR / 2 } }), START - 60_000, undefined],
    ['the start', state({ sent: announced }), START, 'started'],
    ['the start once', state({ sent: { ...announced, started: START } }), START + HOUR, undefined],
    ['the end', state({ sent: { ...announced, started: START } }), START + 2 * HOUR, 'ended'],
    ['the end once', state({ sent: { ...announced, started: START, ended: START + 2 * HOUR } }), START + 3 * HOUR, undefined],
    ['a reschedule is announced', state({ sequence: 1, sent: announced }), START - 2 * DAY, 'rescheduled:1'],
    ['reminders follow the latest schedule', state({ sequence: 1, sent: { ...announced, [`reminder:${DAY}:0`]: START - 30 * HOUR, 'rescheduled:1': START - 2 * DAY } }), START - DAY, `reminder:${DAY}:1`],
    ['a cancellation', state({ cancelledAt: START - DAY, sent: announced }), START - DAY, 'cancelled'],
    ['a cancellation once', state({ cancelledAt: START - DAY, sent: { ...announced, cancelled: START - DAY } }), START + 3 * HOUR, undefined],
  ];
  it.each(cases)('%s', (_name, given, now, expected) => {
    expect(dueMaintenanceMail(given, REMINDERS, now)?.event).toBe(expected);
  });
});

describe('subscription rate limits', () => {
  it.each([
    ['under the limit', [], 3, 0],
    ['two of three', [1000, 2000], 3, 0],
    ['at the limit: until the oldest leaves the window', [1000, 2000, 3000], 3, Math.ceil((1000 + HOUR - 5000) / 1000)],
    ['over the limit: the oldest that keeps it full', [1000, 2000, 3000, 4000], 3, Math.ceil((2000 + HOUR - 5000) / 1000)],
  ] as Array<[string, number[], number, number]>)('%s', (_name, times, limit, expected) => {
    expect(retryAfterSeconds(times, limit, HOUR, 5000)).toBe(expected);
  });
});

const START = Date.UTC(2026, 10, 21, 12, 0);
const form = (fields: Record<string, string | string[]>) => {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const item of [value].flat()) body.append(name, item);
  return body;
};

async function post(vigil: Vigil, path: string, fields: Record<string, string | string[]>) {
  const response = await fetch(`${vigil.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(fields) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), html: await response.text(), csp: response.headers.get('content-security-policy') };
}

const linkIn = (mail: ReceivedMail, kind: 'confirm' | 'unsubscribe') => new RegExp(`https?://\\S+/subscribe/${kind}\\?token=[\\w.-]+`).exec(mail.text)?.[0];
const calendarOf = (mail: ReceivedMail) => {
  const attachment = mail.attachments.find((candidate) => candidate.filename === 'maintenance.ics');
  const calendar = new ICAL.Component(ICAL.parse(attachment!.content));
  const event = new ICAL.Event(calendar.getFirstSubcomponent('vevent')!);
  return { method: calendar.getFirstPropertyValue('method'), uid: event.uid, sequence: event.sequence, start: event.startDate.toJSDate().getTime(), end: event.endDate.toJSDate().getTime() };
};

describeEachBackend('subscriptions and maintenance emails', (backend) => {
  let store: TestStore;
  let vigil: Vigil;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let hooks: http.Server;
  const calls: Array<{ body: string; signature: string }> = [];
  const clock = new FakeClock(START);
  const components = [component({ name: 'Uploads', from: { probes: ['uploads'] } }), component({ name: 'Playback', from: { probes: ['playback'] } })];
  const start = () =>
    startStatusVigil(store, {
      clock,
      probes: probesNamed(['uploads', 'playback']),
      smtpUrl: smtp.url,
      // Scans come from admin changes and explicit refreshes; the clock jumps with set(), so no interval piles up.
      statusPage: { components, refresh: '1h', subscriptions: { retryDelay: '1s', perClient: 40, perAddress: 3 } },
    });
  const mailsTo = (address: string, subject?: RegExp) => smtp.mails.filter((mail) => mail.to === address && (!subject || subject.test(mail.subject)));
  const waitForMail = (address: string, subject: RegExp, count = 1) => waitFor(`${count} mail(s) "${subject}" to ${address}`, () => mailsTo(address, subject).length >= count && mailsTo(address, subject));
  const pendingDeliveries = async () => Number((await vigil.db.query<{ count: string | number }>('select count(*) as count from status_deliveries where sent_at is null and dropped_at is null'))[0]!.count);
  /** Hands out whatever came due at the clock's time, and waits until it was all sent. */
  const scanAt = async (time: number) => {
    clock.set(time);
    expect((await admin(vigil, 'POST', '/refresh')).status).toBe(200);
    await waitFor('the outbox to drain', async () => (await pendingDeliveries()) === 0 && (await new Promise((resolve) => setTimeout(resolve, 200)), (await pendingDeliveries()) === 0));
  };

  async function subscribeAndConfirm(email: string, fields: Record<string, string | string[]> = {}) {
    const answer = await post(vigil, '/subscribe', { email, ...fields });
    expect(answer.status, answer.html).toBe(200);
    const [mail] = await waitForMail(email, /confirm/);
    const link = linkIn(mail!, 'confirm')!;
    const page = await fetch(link);
    expect(page.status).toBe(200);
    const token = new URL(link).searchParams.get('token')!;
    const confirmed = await post(vigil, '/subscribe/confirm', { token });
    expect(confirmed.status, confirmed.html).toBe(200);
    return confirmed.html;
  }

  beforeAll(async () => {
    store = await backend.createStore();
    smtp = await startSmtp();
    hooks = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        calls.push({ body, signature: String(request.headers['x-vigil-signature']) });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    vigil = await start();
  }, 120_000);

  afterAll(async () => {
    await vigil?.stop();
    await smtp?.close();
    hooks?.close();
    await store?.cleanup();
  });

  it('double opt-in, per component, every email with one-click unsubscribe headers, a parseable .ics through the whole maintenance', async () => {
    const known = await post(vigil, '/subscribe', { email: 'all@example.com', scope: 'all' });
    const [firstConfirmation] = await waitForMail('all@example.com', /confirm/);
    expect(firstConfirmation!.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(String(firstConfirmation!.headers.get('list-unsubscribe'))).toMatch(/^<https?:\/\/\S+\/subscribe\/unsubscribe\?token=\S+>$/);
    await post(vigil, '/subscribe/confirm', { token: new URL(linkIn(firstConfirmation!, 'confirm')!).searchParams.get('token')! });
    // The answer is the same for an address subscribed already and for one never seen.
    const again = await post(vigil, '/subscribe', { email: 'all@example.com', scope: 'all' });
    const unknown = await post(vigil, '/subscribe', { email: 'never-seen@example.com', scope: 'all' });
    expect([known.status, again.status, unknown.status]).toEqual([200, 200, 200]);
    expect(again.html).toBe(unknown.html);
    expect(known.html).toBe(unknown.html);
    expect(unknown.csp).toMatch(/script-src 'self'/);

    await subscribeAndConfirm('uploads@example.com', { scope: 'some', component: 'uploads' });
    await subscribeAndConfirm('playback@example.com', { scope: 'some', component: 'playback' });
    await post(vigil, '/subscribe', { email: 'unconfirmed@example.com', scope: 'all' });
    await waitForMail('unconfirmed@example.com', /confirm/);

    const startsAt = START + 3 * DAY;
    const scheduled = await admin(vigil, 'POST', '/maintenances', { title: 'Storage move', body: 'Uploads pause.', components: ['uploads'], startsAt, duration: '1h', timeZone: 'Europe/Paris', author: 'ops' });
    expect(scheduled.status).toBe(201);
    const id = (scheduled.json.maintenance as { id: number }).id;
    const [announcement] = await waitForMail('uploads@example.com', /maintenance scheduled: Storage move/);
    await waitForMail('all@example.com', /maintenance scheduled/);
    expect(announcement!.text).toContain('Tue, 24 Nov 2026, from 13:00 till 14:00 CET (UTC+1)');
    expect(announcement!.html).toContain('Storage move');
    expect(String(announcement!.headers.get('list-unsubscribe'))).toMatch(/unsubscribe\?token=/);
    expect(announcement!.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    const first = calendarOf(announcement!);
    expect(first).toMatchObject({ method: 'PUBLISH', sequence: 0, start: startsAt, end: startsAt + HOUR });

    expect((await admin(vigil, 'POST', `/maintenances/${id}/reschedule`, { startsAt: startsAt + DAY, duration: '2h', author: 'ops' })).status).toBe(200);
    const [moved] = await waitForMail('uploads@example.com', /maintenance moved/);
    expect(calendarOf(moved!)).toMatchObject({ uid: first.uid, sequence: 1, start: startsAt + DAY, end: startsAt + DAY + 2 * HOUR });

    const newStart = startsAt + DAY;
    for (const time of [newStart - DAY, newStart - DAY + HOUR, newStart - HOUR, newStart, newStart + HOUR, newStart + 2 * HOUR, newStart + 3 * HOUR]) await scanAt(time);
    const expected = [/scheduled/, /moved/, /reminder/, /reminder/, /under way/, /over/];
    for (const address of ['uploads@example.com', 'all@example.com']) {
      const received = mailsTo(address, /maintenance/).map((mail) => mail.subject);
      expect(received, address).toHaveLength(expected.length);
      expected.forEach((pattern, index) => expect(received[index], address).toMatch(pattern));
    }
    expect(mailsTo('playback@example.com', /maintenance/)).toEqual([]);
    expect(mailsTo('unconfirmed@example.com', /maintenance/)).toEqual([]);
    expect(mailsTo('never-seen@example.com', /maintenance/)).toEqual([]);
  }, 120_000);

  it('a webhook subscription: its secret is shown once on confirming, and its calls are signed with it', async () => {
    const url = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
    // Only https webhooks are taken from the public form.
    expect((await post(vigil, '/subscribe', { email: 'ops@example.com', scope: 'all', webhook: url })).status).toBe(400);
    const answer = await post(vigil, '/subscribe', { email: 'ops@example.com', scope: 'some', component: 'playback', webhook: url.replace('http:', 'https:') });
    expect(answer.status).toBe(200);
    const [mail] = await waitForMail('ops@example.com', /confirm/);
    const confirmed = await post(vigil, '/subscribe/confirm', { token: new URL(linkIn(mail!, 'confirm')!).searchParams.get('token')! });
    const secret = /<code>(whsec_[\w-]+)<\/code>/.exec(confirmed.html)?.[1];
    expect(secret).toBeDefined();
    // The test's HTTP double stands in for the https endpoint.
    await vigil.db.query(`update status_subscribers set address = $1 where channel = 'webhook'`, [url]);
    await admin(vigil, 'POST', '/maintenances', { title: 'Player update', components: ['playback'], startsAt: clock.now() + 2 * DAY, duration: '30m', author: 'ops' });
    const [call] = await waitFor('the webhook call', () => calls.length > 0 && calls);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(call!.signature)!;
    expect(createHmac('sha256', secret!).update(`${t}.${call!.body}`).digest('hex')).toBe(v1);
    expect(JSON.parse(call!.body)).toMatchObject({ event: 'maintenance.scheduled', maintenance: { title: 'Player update', components: ['playback'] } });
  }, 60_000);

  it('one-click unsubscribe by POST; the link itself (GET) only shows the button', async () => {
    const [mail] = mailsTo('playback@example.com', /confirm/);
    const link = linkIn(mail!, 'unsubscribe')!;
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<form method="post"/);
    const oneClick = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(oneClick.status).toBe(200);
    const before = mailsTo('playback@example.com').length;
    await admin(vigil, 'POST', '/maintenances', { title: 'Player update 2', components: ['playback'], startsAt: clock.now() + 2 * DAY, duration: '30m', author: 'ops' });
    await waitForMail('all@example.com', /Player update 2/);
    await scanAt(clock.now());
    expect(mailsTo('playback@example.com').length).toBe(before);
    expect((await fetch(link.replace(/token=\d+\./, 'token=999.'), { method: 'POST' })).status).toBe(400);
  }, 60_000);

  it('regular subscribers of an affected component (or of all) get the incident as it is opened, updated and resolved', async () => {
    await subscribeAndConfirm('player@example.com', { scope: 'some', component: 'playback' });
    const before = calls.length;
    const opened = await admin(vigil, 'POST', '/incidents', { name: 'Slow uploads', body: 'Uploads take **minutes**.', components: { uploads: 'degraded_performance' } });
    const incident = (opened.json.incident as { id: number }).id;
    const [first] = await waitForMail('uploads@example.com', /Investigating: Slow uploads/);
    expect(first!.subject).toMatch(/^.+: Investigating: Slow uploads$/);
    expect(first!.text).toContain('Uploads take **minutes**.');
    expect(first!.text).toMatch(new RegExp(`/incidents/${incident}\\b`));
    expect(linkIn(first!, 'unsubscribe')).toBeDefined();
    expect(first!.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect((await admin(vigil, 'POST', `/incidents/${incident}/updates`, { status: 'identified', body: 'A full disk; clearing it.' })).status).toBe(200);
    expect((await admin(vigil, 'POST', `/incidents/${incident}/resolve`, { body: 'Uploads are fast again.' })).status).toBe(200);
    for (const address of ['uploads@example.com', 'all@example.com']) {
      const received = (await waitForMail(address, /Slow uploads/, 3)).map((mail) => mail.subject.replace(/^[^:]+: /, ''));
      expect(received.sort(), address).toEqual(['Identified: Slow uploads', 'Investigating: Slow uploads', 'Resolved: Slow uploads']);
    }
    // Each update goes out once, however many scans follow; the playback subscribers (email and webhook) hear nothing of it.
    await scanAt(clock.now() + HOUR);
    await scanAt(clock.now() + HOUR);
    expect(mailsTo('all@example.com', /Slow uploads/)).toHaveLength(3);
    expect(mailsTo('player@example.com', /Slow uploads/)).toEqual([]);
    expect(mailsTo('unconfirmed@example.com', /Slow uploads/)).toEqual([]);
    expect(calls.slice(before).filter((call) => call.body.includes('Slow uploads'))).toEqual([]);

    // An incident on playback reaches its subscribers, the webhook one as signed JSON.
    const playback = await admin(vigil, 'POST', '/incidents', { name: 'Videos stall', body: 'Some videos stall.', components: { playback: 'partial_outage' } });
    expect(playback.status).toBe(201);
    await waitForMail('player@example.com', /Investigating: Videos stall/);
    await waitForMail('all@example.com', /Investigating: Videos stall/);
    const [call] = await waitFor('the incident webhook call', () => calls.slice(before).filter((candidate) => candidate.body.includes('Videos stall')).length > 0 && calls.slice(before).filter((candidate) => candidate.body.includes('Videos stall')));
    expect(JSON.parse(call!.body)).toMatchObject({ event: 'incident.opened', incident: { name: 'Videos stall', components: ['playback'] }, update: { status: 'investigating', body: 'Some videos stall.' } });
    expect(mailsTo('uploads@example.com', /Videos stall/)).toEqual([]);
    expect((await admin(vigil, 'POST', `/incidents/${(playback.json.incident as { id: number }).id}/resolve`, {})).status).toBe(200);
    await waitForMail('player@example.com', /Resolved: Videos stall/);
  }, 120_000);

  it('"tell me when it\'s back up": the confirmed one-shot subscriber gets one email when the incident resolves, then never again', async () => {
    const opened = await admin(vigil, 'POST', '/incidents', { name: 'Uploads fail', body: 'We are looking into it.', components: { uploads: 'major_outage' } });
    const incident = (opened.json.incident as { id: number }).id;
    const form = await fetch(`${vigil.url}/subscribe?incident=${incident}`);
    expect(await form.text()).toContain('Uploads fail');
    await subscribeAndConfirm('back@example.com', { incident: String(incident) });
    await post(vigil, '/subscribe', { email: 'back-unconfirmed@example.com', incident: String(incident) });
    await waitForMail('back-unconfirmed@example.com', /confirm/);
    expect((await admin(vigil, 'POST', `/incidents/${incident}/resolve`, {})).status).toBe(200);
    const [told] = await waitForMail('back@example.com', /Uploads fail is resolved/);
    expect(told!.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    await scanAt(clock.now() + HOUR);
    await scanAt(clock.now() + HOUR);
    expect(mailsTo('back@example.com', /resolved/)).toHaveLength(1);
    expect(mailsTo('back-unconfirmed@example.com', /resolved/)).toHaveLength(0);
    const { json } = await admin(vigil, 'GET', '/subscribers?state=ended');
    expect((json.subscribers as Array<{ address: string; endedReason: string }>).filter((s) => s.address.startsWith('back')).map((s) => s.endedReason).sort()).toEqual(['notified', 'unconfirmed']);
  }, 60_000);

  it('an address following every component that also asked "tell me when it\'s back up" hears of the resolution once', async () => {
    await subscribeAndConfirm('both@example.com');
    const opened = await admin(vigil, 'POST', '/incidents', { name: 'Thumbnails missing', body: 'We are looking into it.', components: { uploads: 'degraded_performance' } });
    const incident = (opened.json.incident as { id: number }).id;
    await waitForMail('both@example.com', /Investigating: Thumbnails missing/);
    expect((await post(vigil, '/subscribe', { email: 'both@example.com', incident: String(incident) })).status).toBe(200);
    const [, oneShotConfirmation] = await waitForMail('both@example.com', /confirm/, 2);
    expect((await post(vigil, '/subscribe/confirm', { token: new URL(linkIn(oneShotConfirmation!, 'confirm')!).searchParams.get('token')! })).status).toBe(200);
    expect((await admin(vigil, 'POST', `/incidents/${incident}/resolve`, {})).status).toBe(200);
    await waitForMail('both@example.com', /Resolved: Thumbnails missing/);
    await scanAt(clock.now() + HOUR);
    await scanAt(clock.now() + HOUR);
    expect(mailsTo('both@example.com', /Thumbnails missing/).map((mail) => mail.subject.replace(/^[^:]+: /, '')).sort()).toEqual(['Investigating: Thumbnails missing', 'Resolved: Thumbnails missing']);
    const { json } = await admin(vigil, 'GET', '/subscribers?state=ended');
    expect((json.subscribers as Array<{ address: string; endedReason: string }>).filter((s) => s.address === 'both@example.com').map((s) => s.endedReason)).toEqual(['notified']);
  }, 60_000);

  it('the admin API lists, exports and removes subscribers, without tokens', async () => {
    const { json } = await admin(vigil, 'GET', '/subscribers?state=confirmed');
    const subscribers = json.subscribers as Array<{ id: number; address: string; state: string }>;
    expect(subscribers.map((s) => s.address)).toEqual(expect.arrayContaining(['all@example.com', 'uploads@example.com']));
    expect(JSON.stringify(json)).not.toMatch(/token|secret|whsec_/);
    const removed = subscribers.find((s) => s.address === 'uploads@example.com')!;
    expect((await admin(vigil, 'POST', `/subscribers/${removed.id}/remove`)).status).toBe(200);
    expect((await admin(vigil, 'POST', `/subscribers/${removed.id}/remove`)).status).toBe(404);
    const after = (await admin(vigil, 'GET', '/subscribers?state=all')).json.subscribers as Array<{ address: string }>;
    expect(after.map((s) => s.address)).not.toContain('uploads@example.com');
  });

  it('a crash between scheduling and sending loses and duplicates no maintenance email', async () => {
    const before = mailsTo('all@example.com', /maintenance scheduled/).length;
    smtp.refuse = true;
    const refusedBefore = smtp.refused;
    await admin(vigil, 'POST', '/maintenances', { title: 'Crash one', components: ['uploads'], startsAt: clock.now() + 5 * DAY, duration: '1h', author: 'ops' });
    // The email is recorded and its first attempt refused (an SMTP outage) ...
    await waitFor('a refused attempt', () => smtp.refused > refusedBefore);
    // ... and a second maintenance is scheduled just before the process goes away.
    await admin(vigil, 'POST', '/maintenances', { title: 'Crash two', components: ['uploads'], startsAt: clock.now() + 6 * DAY, duration: '1h', author: 'ops' });
    await vigil.stop();
    smtp.refuse = false;
    vigil = await start();
    await waitForMail('all@example.com', /Crash one/);
    await waitForMail('all@example.com', /Crash two/);
    await scanAt(clock.now());
    await scanAt(clock.now() + 60_000);
    expect(mailsTo('all@example.com', /Crash one/)).toHaveLength(1);
    expect(mailsTo('all@example.com', /Crash two/)).toHaveLength(1);
    expect(mailsTo('all@example.com', /maintenance scheduled/).length).toBe(before + 2);
  }, 120_000);

  it('rate limits answer 429 with Retry-After, per address and per client', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post(vigil, '/subscribe', { email: 'flood@example.com', scope: 'all' }));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429]);
    expect(Number(answers[3]!.retryAfter)).toBeGreaterThan(0);
    let limited;
    for (let i = 0; i < 45 && !limited; i++) {
      const answer = await post(vigil, '/subscribe', { email: `client-${i}@example.com`, scope: 'all' });
      if (answer.status === 429) limited = answer;
      else expect(answer.status).toBe(200);
    }
    expect(limited?.retryAfter).toMatch(/^\d+$/);
    expect(limited?.html).toContain('Too many subscription requests');
  }, 60_000);
}, { sideBySide: true });
