import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { htmlOf, replyOf, subjectOf, textOf } from '../../alerts/messages.ts';
import { messageIdOf } from '../../alerts/receivers/email.ts';
import { blocksOf } from '../../alerts/receivers/slack.ts';
import type { NotificationEvent } from '../../alerts/types.ts';
import { apiIncident, messageFor, NOW } from './fixtures/messages.ts';

// Golden files of every message: a change in wording shows up as a diff to review. UPDATE_GOLDEN=1 rewrites them.
const GOLDEN = path.join(import.meta.dirname, 'golden');
function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

const EVENTS: NotificationEvent[] = ['warning', 'repeat', 'flapping', 'emergency', 'up'];

describe('messages for the on-call engineer', () => {
  it('subjects say severity, state, service, environment and what is wrong', () => {
    expect(EVENTS.map((event) => subjectOf(messageFor(event)))).toEqual([
      '[CRITICAL] FIRING api (production): api-ready down — expected status 200, got 503',
      '[CRITICAL] STILL FIRING api (production): api-ready down — expected status 200, got 503 — for 4 h 3 m',
      '[CRITICAL] FLAPPING api (production): api-ready down — expected status 200, got 503 — changes state too often; notices paused until it settles',
      '[CRITICAL] EMERGENCY api (production): api-ready down — expected status 200, got 503 (fixer: 2 attempts did not fix it) — automatic recovery gave up, a person is needed',
      '[RESOLVED] api (production): api-ready back up after 4 m 12 s',
    ]);
  });

  it('a warning-severity incident reads [WARNING]; several incidents say how many more', () => {
    const warning = { ...apiIncident, labels: { ...apiIncident.labels, severity: 'warning' } };
    expect(subjectOf({ event: 'warning', incidents: [warning, { ...warning, id: 13 }], now: NOW })).toBe('[WARNING] FIRING api (production): api-ready down — expected status 200, got 503 (+1 more)');
  });

  it('the Slack thread reply does not repeat the tag', () => {
    expect(replyOf(messageFor('up'))).toBe('RESOLVED: api-ready back up after 4 m 12 s');
  });

  it.each(EVENTS)('%s: plain text, HTML and Slack blocks match their golden files', (event) => {
    const message = messageFor(event);
    golden(`${event}.txt`, textOf(message));
    golden(`${event}.html`, htmlOf(message));
    golden(`${event}.slack.json`, `${JSON.stringify(blocksOf(message), null, 2)}\n`);
  });

  it('escapes what labels and summaries carry', () => {
    const hostile = { ...apiIncident, summary: '<script>alert(1)</script> & "quotes"' };
    const html = htmlOf({ event: 'warning', incidents: [hostile], now: NOW });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;quotes&#34;');
    // Slack renders mrkdwn, so its texts escape <, > and &; plain_text is shown as is.
    const mrkdwn = JSON.stringify(blocksOf({ event: 'warning', incidents: [hostile], now: NOW })).match(/"type":"mrkdwn","text":"[^"]*"/g)!;
    expect(mrkdwn.join('\n')).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp;');
    expect(mrkdwn.join('\n')).not.toContain('<script>');
  });

  it('Message-IDs are unique per installation and the same on every retry', () => {
    expect(messageIdOf('12:admins:warning', 'a1b2')).toBe('<12.admins.warning.a1b2@vigil.alerts>');
    expect(messageIdOf('12:admins:warning', 'a1b2')).toBe(messageIdOf('12:admins:warning', 'a1b2'));
    expect(messageIdOf('12:admins:warning', 'c3d4')).not.toBe(messageIdOf('12:admins:warning', 'a1b2'));
  });
});
