import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { KnownBlock } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { htmlOf } from '../../alerts/messages.ts';
import { blocksOf } from '../../alerts/receivers/slack.ts';
import { launchChromium, seriousAxeViolations } from '../support/browser.ts';
import { messageFor } from './fixtures/messages.ts';
import type { Browser } from 'playwright-core';

// What the engineer sees, rendered in a real browser: the HTML email as a mail client shows it, and the Slack blocks
// drawn the way Slack lays them out. The PNGs land in test-results/ for review.
const OUT = path.resolve(import.meta.dirname, '../../test-results');

const escape = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
/** Slack's mrkdwn subset the blocks use: *bold*, line breaks, and its own &lt; &gt; &amp; escapes. */
const mrkdwn = (text: string) => escape(text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')).replace(/\*([^*]+)\*/g, '<b>$1</b>').replace(/\n/g, '<br>').replace(/:[a-z_]+:/g, '●');

function slackHtml(blocks: KnownBlock[]): string {
  const body = blocks
    .map((block) => {
      switch (block.type) {
        case 'header':
          return `<h2>${escape(block.text.text)}</h2>`;
        case 'section':
          return block.fields
            ? `<div class="fields">${block.fields.map((field) => `<div>${mrkdwn(field.text)}</div>`).join('')}</div>`
            : `<p>${mrkdwn(block.text?.text ?? '')}</p>`;
        case 'context':
          return `<p class="context">${block.elements.map((element) => ('text' in element ? mrkdwn(element.text) : '')).join(' ')}</p>`;
        case 'actions':
          return `<p>${block.elements.map((element) => (element.type === 'button' ? `<a class="button" href="${escape(element.url ?? '#')}">${escape(element.text.text)}</a>` : '')).join(' ')}</p>`;
        default:
          return '';
      }
    })
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Slack message</title><style>
    body{font-family:system-ui,sans-serif;font-size:15px;margin:24px;max-width:680px;color:#1d1c1d}
    .msg{border-left:4px solid #b91c1c;padding:4px 16px}.who{font-weight:700}h2{font-size:18px;margin:8px 0}
    .fields{display:grid;grid-template-columns:1fr 1fr;gap:8px 24px;margin:8px 0}.context{color:#616061;font-size:13px}
    .button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:4px 12px;color:#1d1c1d;text-decoration:none;margin-right:6px}
  </style></head><body><main><div class="msg"><p class="who">Vigil <span style="font-weight:400;color:#616061">APP</span></p>${body}</div></main></body></html>`;
}

describe('messages in a browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
    mkdirSync(OUT, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it.each(['warning', 'up'] as const)('%s: the HTML email reads without CSS and passes axe; the Slack message renders; screenshots saved', async (event) => {
    const context = await browser.newContext({ viewport: { width: 760, height: 700 } });
    const page = await context.newPage();
    try {
      await page.setContent(htmlOf(messageFor(event)));
      expect(await page.locator('h1').innerText()).toMatch(event === 'up' ? /^\[RESOLVED\] api \(production\)/ : /^\[CRITICAL\] FIRING api \(production\)/);
      expect(await seriousAxeViolations(page)).toEqual([]);
      const email = path.join(OUT, `alerts-email-${event}.png`);
      await page.screenshot({ path: email, fullPage: true });

      await page.emulateMedia({ media: 'print' });
      await page.setContent(htmlOf(messageFor(event)).replace(/ style="[^"]*"/g, ''));
      expect(await page.locator('th', { hasText: 'Service' }).count()).toBe(1);

      await page.setContent(slackHtml(blocksOf(messageFor(event))));
      expect(await page.locator('h2').innerText()).toContain('api (production)');
      const slack = path.join(OUT, `alerts-slack-${event}.png`);
      await page.screenshot({ path: slack, fullPage: true });
      expect(statSync(email).size).toBeGreaterThan(5000);
      expect(statSync(slack).size).toBeGreaterThan(5000);
    } finally {
      await context.close();
    }
  });
});
