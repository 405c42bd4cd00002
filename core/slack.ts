import type * as SlackWebApi from '@slack/web-api';
import type { FetchFunction, WebClient } from '@slack/web-api';
import { fetch } from 'undici';

export type SlackApi = typeof SlackWebApi;

// The Slack client is loaded at its first use (a Slack receiver's first delivery, a Slack probe's first run), not by
// every process that knows those kinds.
let slackApi: Promise<SlackApi> | undefined;
export const loadSlackApi = (): Promise<SlackApi> => (slackApi ??= import('@slack/web-api'));

/**
 * A Slack Web API client for `token` against `apiUrl` (slack.com's when not given; a test double's), with the client's
 * own retries off (the outbox, or the probe's next run, retries), rate-limited calls rejected at once and its console
 * warnings off (the caller reports the failure). `signal` aborts every request it makes.
 */
export async function openSlackClient(token: string, { apiUrl, timeout, signal }: { apiUrl: string | undefined; timeout: number; signal?: AbortSignal }): Promise<WebClient> {
  const { LogLevel, WebClient } = await loadSlackApi();
  return new WebClient(token, {
    ...(apiUrl ? { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: LogLevel.ERROR,
    timeout,
    fetch: undiciFetch(signal),
  });
}

/** Requests through the undici the probes use, not the global `fetch`, whose first call loads Node's own copy of undici
 * (745 KB of source). Vigil's calls send JSON or form-encoded text; a FormData (a file upload) is refused, as the two
 * copies' FormData classes are not interchangeable. */
function undiciFetch(signal: AbortSignal | undefined): FetchFunction {
  return (url, { body, ...init } = {}) => {
    if (body !== undefined && typeof body !== 'string') return Promise.reject(new TypeError('Vigil sends Slack no file uploads'));
    const signals = [init.signal, signal].filter((one): one is AbortSignal => one !== undefined);
    return fetch(url, { ...init, ...(body !== undefined ? { body } : {}), ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}) });
  };
}
