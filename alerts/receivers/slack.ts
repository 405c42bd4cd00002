import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';
import type { KnownBlock, WebClient } from '@slack/web-api';
import { factsOf, linksOf, replyOf, subjectOf, textOf, whatOf, type MessageContext } from '../messages.ts';
import { DeliveryError } from '../../core/outbox.ts';
import { loadSlackApi, openSlackClient, type SlackApi } from '../../core/slack.ts';
import { ALL_EVENTS, defineReceiver, type Receiver, type ReceiverContext } from './receiver.ts';

type Thread = { channel: string; ts: string };

const STATE_EMOJI: Record<string, string> = { pending: ':hourglass:', firing: ':red_circle:', escalated: ':rotating_light:', resolved: ':large_green_circle:' };
const escapeMrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Block Kit for one message: the subject as header, the facts as fields, the links as buttons. */
export function blocksOf(message: MessageContext): KnownBlock[] {
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: subjectOf(message).slice(0, 150) } }];
  for (const incident of message.incidents) {
    const facts = factsOf(incident, message.now);
    const what = facts.find(([name]) => name === 'What')?.[1] ?? incident.summary;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `${STATE_EMOJI[incident.state] ?? ''} *${escapeMrkdwn(whatOf(message.event, incident, message.now))}*` } });
    blocks.push({
      type: 'section',
      fields: facts
        .filter(([name]) => name !== 'What' && name !== 'Rule')
        .slice(0, 10)
        .map(([name, value]) => ({ type: 'mrkdwn' as const, text: `*${escapeMrkdwn(name)}*\n${escapeMrkdwn(value)}` })),
    });
    if (what !== whatOf(message.event, incident, message.now)) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(what) }] });
    const links = linksOf(message, incident);
    if (links.length > 0) {
      blocks.push({ type: 'actions', elements: links.map(([title, url], index) => ({ type: 'button' as const, text: { type: 'plain_text' as const, text: title }, url, action_id: `vigil-link-${incident.id}-${index}` })) });
    }
  }
  return blocks;
}

// Slack limits calls per token (the app in its workspace) and a 429 does not say whether one channel or the whole
// workspace hit the limit, so its Retry-After pauses every Slack receiver on that token. Keyed by the shared Slack
// settings: one pause per token per running service.
const workspacePauses = new WeakMap<object, { until: number }>();

/**
 * A new incident is a chat.postMessage; each later change updates that message (chat.update) and replies in its
 * thread, EMERGENCY and UP also broadcast to the channel. The client's own retries are off: the outbox retries.
 */
function createSlackReceiver(name: string, settings: { channel: string; timeout: number }, context: ReceiverContext): Receiver {
  const { token, apiUrl } = context.config.slack;
  let opened: WebClient | undefined;
  const clientOf = async (secret: NonNullable<typeof token>): Promise<WebClient> => (opened ??= await openSlackClient(secret.reveal(), { apiUrl, timeout: settings.timeout }));
  let nextCallAt = 0;
  const workspace = workspacePauses.get(context.config.slack) ?? { until: 0 };
  workspacePauses.set(context.config.slack, workspace);
  // At most one call per slackMinInterval per channel, none while the workspace is paused. A call that comes too early
  // is handed back to the outbox to run when its turn comes, with what this delivery already did, so pacing survives
  // restarts and never blocks a pass.
  const paced = async <T>(call: () => Promise<T>, progress: Record<string, unknown>): Promise<T> => {
    const now = context.clock.now();
    if (workspace.until > now) throw new DeliveryError(`Slack rate limited the workspace: next call in ${workspace.until - now} ms`, { temporary: true, retryAfterMs: workspace.until - now, progress });
    if (nextCallAt > now) throw new DeliveryError(`Slack channel ${settings.channel} paced: next call in ${nextCallAt - now} ms`, { temporary: true, retryAfterMs: nextCallAt - now, progress });
    nextCallAt = now + context.config.alerts.slackMinInterval;
    return call();
  };

  // After a crash mid-send, the message may be there already: each post carries its outbox key as metadata.
  const findPosted = async (client: WebClient, channel: string, key: string, threadTs?: string): Promise<Thread | undefined> => {
    const page = threadTs
      ? await client.conversations.replies({ channel, ts: threadTs, include_all_metadata: true, limit: 200 })
      : await client.conversations.history({ channel, include_all_metadata: true, limit: 200 });
    const found = page.messages?.find((message) => (message.metadata?.event_payload as { key?: string } | undefined)?.key === key);
    return found?.ts ? { channel, ts: threadTs ?? found.ts } : undefined;
  };

  return {
    name,
    events: ALL_EVENTS,
    // A post, an update and the checks in doubt, each within the client's timeout.
    timeout: settings.timeout * 4,
    async deliver({ key, event, incidents, threads, progress, inDoubt }) {
      const message: MessageContext = { event, incidents, now: context.clock.now(), links: context.links };
      if (!token) throw new DeliveryError('No Slack token configured: set SLACK_BOT_TOKEN (or slack.token).', { temporary: false });
      const thread = threads.find((candidate): candidate is Record<string, unknown> & Thread => typeof candidate?.ts === 'string');
      const done = { ...progress };
      const api = await loadSlackApi();
      const client = await clientOf(token);
      // Whether an earlier attempt may have posted and no look in the channel has settled it yet.
      let doubtOpen = inDoubt;
      try {
        const metadata = { event_type: 'vigil_notification', event_payload: { key } };
        if (!thread) {
          const earlier = inDoubt ? await paced(() => findPosted(client, settings.channel, key), done) : undefined;
          if (earlier) return earlier;
          doubtOpen = false;
          const posted = await paced(() => client.chat.postMessage({ channel: settings.channel, text: textOf(message), blocks: blocksOf(message), metadata }), done);
          return { channel: String(posted.channel), ts: String(posted.ts) };
        }
        if (!done.updated) {
          await paced(() => client.chat.update({ channel: thread.channel, ts: thread.ts, text: textOf(message), blocks: blocksOf(message) }), done);
          done.updated = true;
        }
        if (inDoubt && (await paced(() => findPosted(client, thread.channel, key, thread.ts), done))) return { channel: thread.channel, ts: thread.ts };
        doubtOpen = false;
        await paced(() =>
          client.chat.postMessage({
            channel: thread.channel,
            thread_ts: thread.ts,
            metadata,
            text: replyOf(message),
            reply_broadcast: event === 'emergency' || event === 'up',
          }),
          done,
        );
        return { channel: thread.channel, ts: thread.ts };
      } catch (error) {
        if (error instanceof api.WebAPIRateLimitedError) workspace.until = Math.max(workspace.until, context.clock.now() + error.retryAfter * 1000);
        const failure = error instanceof DeliveryError ? error : classify(api, error, done);
        if (!doubtOpen || failure.inDoubt) throw failure;
        // Paced, or the look itself failed: the earlier attempt's doubt stands, and the next attempt looks first.
        const { temporary, retryAfterMs, progress: progressSoFar } = failure;
        throw new DeliveryError(failure.message, { temporary, inDoubt: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }), ...(progressSoFar ? { progress: progressSoFar } : {}) });
      }
    },
  };
}

export const slack = defineReceiver({
  type: 'slack',
  constructorName: 'slackReceiver',
  outOfBandByDefault: true,
  options: { channel: z.string().min(1), timeout: duration().default(10_000) },
  problems: (_settings, config) => (config.slack.token ? [] : ['no Slack token is configured (set SLACK_BOT_TOKEN or slack.token), so this Slack receiver cannot post']),
  create: createSlackReceiver,
});

function classify({ WebAPIRateLimitedError, WebAPIHTTPError, WebAPIRequestError, WebAPIPlatformError }: SlackApi, error: unknown, progress: Record<string, unknown>): DeliveryError {
  if (error instanceof WebAPIRateLimitedError) return new DeliveryError('Slack rate limited the call', { temporary: true, retryAfterMs: error.retryAfter * 1000, progress });
  if (error instanceof WebAPIHTTPError) return new DeliveryError(`Slack answered HTTP ${error.statusCode}`, { temporary: error.statusCode >= 500 || error.statusCode === 429, progress });
  // No answer: the call may have reached Slack, so the next attempt looks in the channel before posting again.
  if (error instanceof WebAPIRequestError) return new DeliveryError(`Slack unreachable: ${error.original.message}`, { temporary: true, inDoubt: true, progress });
  if (error instanceof WebAPIPlatformError) {
    const temporary = ['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout'].includes(error.data.error);
    return new DeliveryError(`Slack refused the call: ${error.data.error}`, { temporary, progress });
  }
  return new DeliveryError(`Slack call failed: ${(error as Error).message}`, { temporary: true, progress });
}
