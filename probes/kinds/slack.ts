import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { secret } from '../../core/config/secret.ts';
import { openSlackClient } from '../../core/slack.ts';
import { defineKind } from '../define.ts';
import { untilAborted } from './abort.ts';
import { since } from './timing.ts';

const options = z.strictObject({
  /** Bot token; defaults to slack.token (SLACK_BOT_TOKEN). Never printed. */
  token: secret().optional(),
  /** Defaults to slack.apiUrl (SLACK_API_URL), else Slack itself. */
  apiUrl: z.url().optional(),
});

/** Calls auth.test with the bot token Vigil alerts with. */
export const slack = defineKind({
  kind: 'slack',
  options,
  async run(config, context) {
    const token = config.token ?? context.config.slack.token;
    if (!token) return { success: false, failure: 'config', reason: 'no Slack token: set token on the probe, slack.token or SLACK_BOT_TOKEN' };
    // The requests carry the run's signal, so an abort closes their connections rather than leaving them to the server.
    const client = await openSlackClient(token.reveal(), { apiUrl: config.apiUrl ?? context.config.slack.apiUrl, timeout: context.timeout, signal: context.signal });
    const start = performance.now();
    const answer = await untilAborted(client.auth.test(), context.signal, () => {});
    const timings = { authTest: since(start, performance.now()) };
    if (!answer.ok) return { success: false, failure: 'slack', reason: `auth.test answered ${answer.error ?? 'not ok'}`, timings };
    return { success: true, timings, details: { team: answer.team, user: answer.user } };
  },
});
