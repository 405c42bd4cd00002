import { describe, expect, it } from 'vitest';
import { HOUR } from '../../core/clock.ts';
import { decideBanner, formatWindow, type BannerInputs, type BannerSettings } from '../../status-page/banner.ts';

const NOW = Date.UTC(2026, 11, 1, 12, 0);

const settings: BannerSettings = {
  leadTime: 24 * HOUR,
  holdTime: 10 * 60_000,
  timeZone: 'Europe/Berlin',
  locale: 'en-GB',
  statusUrl: 'https://status.example.com/',
  backUpUrl: (id) => `https://status.example.com/subscribe?incident=${id}`,
  texts: {
    automatic: '{components} is slower than usual; uploads are safe and will finish automatically.',
    automaticOutage: '{components} is not working at the moment; we are working on it.',
    someServices: 'Some of our services',
    maintenanceNow: '{title}: under way until {till} {zone}.',
    maintenanceSoon: '{title}: from {from} till {till} {zone}.',
    backUpLink: "Tell me when it's back up",
    statusLink: 'Status',
    dismiss: 'Dismiss',
  },
};

const slow = { id: '7', impact: 'minor', message: 'Video processing is slower than usual.', startedAt: NOW - HOUR } as const;
const down = { id: '8', impact: 'major', message: 'Uploads are failing.', startedAt: NOW - 2 * HOUR } as const;
const tonight = { id: '3', title: 'Database upgrade', startsAt: NOW + 9 * HOUR, endsAt: NOW + 10.5 * HOUR };
const running = { id: '4', title: 'Storage move', startsAt: NOW - HOUR, endsAt: NOW + HOUR };
const none: BannerInputs = { incidents: [], maintenances: [] };
const failing = { id: '12', components: ['Video processing'], critical: false, startedAt: NOW - 30 * 60_000 };
const critical = { id: '13', components: ['Video uploads', 'Video processing'], critical: true, startedAt: NOW - 10 * 60_000 };

describe('decideBanner', () => {
  it.each([
    { case: 'nothing going on', inputs: none, expected: null },
    { case: 'a minor incident warns', inputs: { ...none, incidents: [slow] }, expected: { id: 'incident-7', level: 'warning', message: slow.message } },
    { case: 'a major incident is an outage', inputs: { ...none, incidents: [down] }, expected: { id: 'incident-8', level: 'outage' } },
    { case: 'the worst incident wins', inputs: { ...none, incidents: [slow, down] }, expected: { id: 'incident-8' } },
    { case: 'resolved within the hold time still shows', inputs: { ...none, incidents: [{ ...slow, resolvedAt: NOW - 5 * 60_000 }] }, expected: { id: 'incident-7' } },
    { case: 'resolved past the hold time clears', inputs: { ...none, incidents: [{ ...slow, resolvedAt: NOW - 11 * 60_000 }] }, expected: null },
    { case: 'maintenance within the lead time is announced', inputs: { ...none, maintenances: [tonight] }, expected: { id: 'maintenance-3-scheduled', level: 'info', message: 'Database upgrade: from 1 Dec 22:00 till 23:30 CET (UTC+1).' } },
    { case: 'maintenance beyond the lead time is not', inputs: { ...none, maintenances: [{ ...tonight, startsAt: NOW + 30 * HOUR, endsAt: NOW + 31 * HOUR }] }, expected: null },
    { case: 'a cancelled maintenance is not', inputs: { ...none, maintenances: [{ ...running, cancelled: true }] }, expected: null },
    { case: 'maintenance in progress beats an incident', inputs: { incidents: [down], maintenances: [running] }, expected: { id: 'maintenance-4', level: 'maintenance', message: 'Storage move: under way until 14:00 CET (UTC+1).' } },
    { case: 'an incident beats an announcement', inputs: { incidents: [slow], maintenances: [tonight] }, expected: { id: 'incident-7' } },
    { case: "an admin's override beats everything", inputs: { override: { id: 'x', level: 'info', message: 'New editor is live.' }, incidents: [down], maintenances: [running] }, expected: { id: 'override-x', level: 'info' } },
    { case: 'a banner alert warns in public wording', inputs: { ...none, alerts: [failing] }, expected: { id: 'alert-12', level: 'warning', message: 'Video processing is slower than usual; uploads are safe and will finish automatically.', links: [{ href: 'https://status.example.com/', text: 'Status' }] } },
    { case: 'a critical banner alert is an outage', inputs: { ...none, alerts: [critical] }, expected: { id: 'alert-13', level: 'outage', message: 'Video uploads, Video processing is not working at the moment; we are working on it.' } },
    { case: 'a banner alert on no component', inputs: { ...none, alerts: [{ ...failing, components: [] }] }, expected: { message: 'Some of our services is slower than usual; uploads are safe and will finish automatically.' } },
    { case: 'an ended banner alert holds', inputs: { ...none, alerts: [{ ...failing, resolvedAt: NOW - 9 * 60_000 }] }, expected: { id: 'alert-12' } },
    { case: 'an ended banner alert clears after the hold time', inputs: { ...none, alerts: [{ ...failing, resolvedAt: NOW - 10 * 60_000 }] }, expected: null },
    { case: 'an outage incident beats a warning alert', inputs: { ...none, incidents: [down], alerts: [failing] }, expected: { id: 'incident-8' } },
    { case: 'a critical alert beats a minor incident', inputs: { ...none, incidents: [slow], alerts: [critical] }, expected: { id: 'alert-13' } },
    { case: 'of equals a banner alert shows before a public incident', inputs: { ...none, incidents: [slow], alerts: [failing] }, expected: { id: 'alert-12' } },
    { case: 'of equal banner alerts the earliest shows', inputs: { ...none, alerts: [{ ...failing, id: '14', startedAt: NOW - 5 * 60_000 }, failing] }, expected: { id: 'alert-12' } },
    { case: 'maintenance in progress beats a banner alert', inputs: { ...none, alerts: [critical], maintenances: [running] }, expected: { id: 'maintenance-4' } },
    { case: 'a banner alert beats an announcement', inputs: { ...none, alerts: [failing], maintenances: [tonight] }, expected: { id: 'alert-12' } },
    { case: 'an override beats a banner alert', inputs: { ...none, override: { id: 'y', level: 'warning', message: 'Uploads may be slow tonight.', until: NOW + 1 }, alerts: [critical] }, expected: { id: 'override-y', level: 'warning', message: 'Uploads may be slow tonight.' } },
    { case: 'an expired override is ignored', inputs: { override: { id: 'x', level: 'info', message: 'Old news', until: NOW - 1 }, incidents: [], maintenances: [] }, expected: null },
  ] satisfies Array<{ case: string; inputs: BannerInputs; expected: object | null }>)('$case', ({ inputs, expected }) => {
    const banner = decideBanner(inputs, NOW, settings);
    if (expected === null) expect(banner).toBeNull();
    else expect(banner).toMatchObject(expected);
  });

  it('offers "tell me when it is back up" only while the incident is open', () => {
    expect(decideBanner({ ...none, incidents: [slow] }, NOW, settings)?.links).toContainEqual({ href: 'https://status.example.com/subscribe?incident=7', text: "Tell me when it's back up" });
    expect(decideBanner({ ...none, incidents: [{ ...slow, resolvedAt: NOW - 1 }] }, NOW, settings)?.links).toEqual([{ href: 'https://status.example.com/', text: 'Status' }]);
  });
});

describe('formatWindow', () => {
  it.each([
    { zone: 'Europe/Berlin', start: Date.UTC(2026, 11, 1, 21), end: Date.UTC(2026, 11, 1, 22, 30), expected: { from: '1 Dec 22:00', till: '23:30', zone: 'CET (UTC+1)' } },
    { zone: 'Europe/Berlin', start: Date.UTC(2026, 6, 1, 21), end: Date.UTC(2026, 6, 2, 1, 30), expected: { from: '1 Jul 23:00', till: '2 Jul 03:30', zone: 'CEST (UTC+2)' } },
    { zone: 'UTC', start: Date.UTC(2026, 6, 1, 21), end: Date.UTC(2026, 6, 1, 22), expected: { from: '1 Jul 21:00', till: '22:00', zone: 'UTC' } },
    { zone: 'Asia/Kolkata', start: Date.UTC(2026, 6, 1, 21), end: Date.UTC(2026, 6, 1, 22), expected: { from: '2 Jul 02:30', till: '03:30', zone: 'UTC+5:30' } },
  ])('$zone $expected.from', ({ zone, start, end, expected }) => {
    expect(formatWindow(start, end, zone, 'en-GB')).toEqual(expected);
  });
});
