import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { alertsMigrations } from '../../alerts/migrations.ts';
import { createAlertService, type AlertService } from '../../alerts/service.ts';
import type { Observation } from '../../alerts/types.ts';
import { FakeClock } from '../../core/clock.ts';
import { migrate, openDb, type Db } from '../../core/db/index.ts';
import { createLogger } from '../../core/telemetry/logger.ts';
import { createRegistry } from '../../core/telemetry/metrics.ts';
import { storeFixture, testConfig, type Backend, type TestStore } from '../support/backends.ts';
import { fixture, fixtureView } from '../support/fixtures.ts';
import { SMTP_CLOSE_TIMEOUT } from '../support/network.ts';

export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  inReplyTo: string;
  /** Raw header values by lower-case name (mailparser folds List-* headers into one structured value). */
  headers: Map<string, string>;
  attachments: Array<{ filename: string; contentType: string; content: string }>;
}

/** A real SMTP server on 127.0.0.1: records parsed mail; `refuse` answers 451 (temporary), `down` closes the port. */
export async function startSmtp() {
  const mails: ReceivedMail[] = [];
  let refuse = false;
  let refused = 0;
  /** How many of the next messages the server takes in full but never answers (the sender dies or gives up waiting). */
  let hold = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: SMTP_CLOSE_TIMEOUT,
    onData(stream, _session, callback) {
      if (refuse) {
        refused += 1;
        stream.resume();
        stream.on('end', () => callback(Object.assign(new Error('try again later'), { responseCode: 451 })));
        return;
      }
      simpleParser(stream)
        .then((parsed) => {
          const to = Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(', ') : (parsed.to?.text ?? '');
          mails.push({
            to,
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            messageId: parsed.messageId ?? '',
            inReplyTo: parsed.inReplyTo ?? '',
            headers: new Map(parsed.headerLines.map(({ key, line }) => [key, line.slice(line.indexOf(':') + 1).trim()])),
            attachments: parsed.attachments.map((attachment) => ({ filename: attachment.filename ?? '', contentType: attachment.contentType, content: attachment.content.toString('utf8') })),
          });
          if (hold > 0) {
            hold -= 1;
            return;
          }
          callback();
        })
        .catch(callback);
    },
  });
  let port = 0;
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => ((port = (server.server.address() as AddressInfo).port), resolve())));
  await listen();
  return {
    mails,
    get url() {
      return `smtp://127.0.0.1:${port}`;
    },
    set refuse(value: boolean) {
      refuse = value;
    },
    /** How many messages were answered 451 so far. */
    get refused() {
      return refused;
    },
    set hold(value: number) {
      hold = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type TestSmtp = Awaited<ReturnType<typeof startSmtp>>;

/**
 * Each test's store and SMTP server (`perTest.store`, `perTest.smtp`), gone after it; register them before the hooks
 * that stop what uses them, so they go last.
 */
export function storeAndSmtpPerTest(backend: Backend): { readonly store: TestStore; readonly smtp: TestSmtp } {
  return fixtureView({ store: storeFixture('test', backend), smtp: fixture('test', startSmtp, (smtp) => smtp.close()) });
}

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  authorization: string;
}

/** A Slack Web API double over HTTP: records every call; `script` answers the next calls with a status (429 with Retry-After, 500). */
export async function startSlackDouble() {
  const calls: SlackCall[] = [];
  const attempts: SlackCall[] = [];
  const script: Array<{ status: number; retryAfter?: number }> = [];
  /** While set: every call gets no answer at all (a hung API). */
  let hang = false;
  /** How many of the next posts Slack takes but whose answer is lost (the connection resets after Slack received them). */
  let dropAnswers = 0;
  /** While it returns a number: every call is answered 429 with that Retry-After (a rate-limit storm). */
  let storm: (() => number | undefined) | undefined;
  /** The fake time of each call (set `clockOf` to the harness clock to record it). */
  const callTimes: number[] = [];
  let clockOf: (() => number) | undefined;
  const posted: Array<{ channel: string; ts: string; thread_ts: string | undefined; text: unknown; metadata: unknown }> = [];
  let ts = 1000;
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const method = (request.url ?? '').replace(/^\/api\//, '');
      const type = request.headers['content-type'] ?? '';
      const raw: Record<string, unknown> = type.includes('json') ? JSON.parse(body || '{}') : Object.fromEntries(new URLSearchParams(body));
      const args = Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, (key === 'blocks' || key === 'metadata') && typeof value === 'string' ? JSON.parse(value) : value]));
      const call = { method, args, authorization: String(request.headers.authorization ?? '') };
      if (hang) return;
      attempts.push(call);
      if (clockOf) callTimes.push(clockOf());
      const stormRetryAfter = storm?.();
      if (stormRetryAfter !== undefined) {
        response.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(stormRetryAfter) });
        response.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      }
      const scripted = script.shift();
      if (scripted) {
        response.writeHead(scripted.status, { 'content-type': 'application/json', ...(scripted.retryAfter !== undefined ? { 'retry-after': String(scripted.retryAfter) } : {}) });
        response.end(JSON.stringify({ ok: false, error: scripted.status === 429 ? 'ratelimited' : 'internal_error' }));
        return;
      }
      if (method.startsWith('conversations.')) {
        const thread = method === 'conversations.replies' ? String(args.ts) : undefined;
        const messages = posted.filter((message) => message.channel === args.channel && message.thread_ts === thread);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ ok: true, messages: messages.map((message) => ({ ts: message.ts, text: message.text, metadata: message.metadata })) }));
        return;
      }
      calls.push(call);
      const answer = method === 'chat.postMessage' ? { ok: true, channel: args.channel, ts: String(args.thread_ts ? `${ts++}.reply` : `${ts++}.000100`) } : { ok: true, channel: args.channel, ts: args.ts };
      if (method === 'chat.postMessage') posted.push({ channel: String(args.channel), ts: answer.ts as string, thread_ts: args.thread_ts === undefined ? undefined : String(args.thread_ts), text: args.text, metadata: args.metadata });
      if (method === 'chat.postMessage' && dropAnswers > 0) {
        dropAnswers -= 1;
        request.socket.destroy();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    calls,
    attempts,
    script,
    callTimes,
    set hang(value: boolean) {
      hang = value;
    },
    set dropAnswers(value: number) {
      dropAnswers = value;
    },
    set storm(value: (() => number | undefined) | undefined) {
      storm = value;
    },
    set clock(value: () => number) {
      clockOf = value;
    },
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** The same database, counting the queries and transactions under way through it. */
function countingQueries(db: Db): { db: Db; inFlight: () => number } {
  let inFlight = 0;
  const counted = <T>(work: Promise<T>): Promise<T> => {
    inFlight += 1;
    return work.finally(() => (inFlight -= 1));
  };
  const query: Db['query'] = (sql, params) => counted(db.query(sql, params));
  const transaction: Db['transaction'] = (fn) => counted(db.transaction(fn));
  const wrapped = new Proxy(db, { get: (target, name) => (name === 'query' ? query : name === 'transaction' ? transaction : Reflect.get(target, name)) });
  return { db: wrapped, inFlight: () => inFlight };
}

/** Builds the alert service directly on a store, on a FakeClock, fed by observations the test sets. */
export async function startAlertHarness(store: TestStore, overrides: { alerts: unknown; smtp?: unknown; slack?: unknown; clock?: FakeClock; db?: Db; holder?: string | null; signals?: Map<string, Observation>; verifyProbe?: (probe: string) => Promise<{ success: boolean; reason?: string }> }) {
  // A long lease by default: these timelines jump the fake clock further than a real lease renewal ever lags.
  const alerts = { lease: { ttl: '1d', renewEvery: '10s' }, ...(overrides.alerts as object) };
  const config = testConfig(store, { alerts, ...(overrides.smtp ? { smtp: overrides.smtp } : {}), ...(overrides.slack ? { slack: overrides.slack } : {}) });
  const { db, inFlight } = countingQueries(overrides.db ?? (await openDb(config.database)));
  await migrate(db, alertsMigrations);
  const clock = overrides.clock ?? new FakeClock();
  // Another harness's signals: a second instance on the same store sees the same world.
  const signals = overrides.signals ?? new Map<string, Observation>();
  const registry = createRegistry();
  const service: AlertService = createAlertService({
    config,
    db,
    clock,
    logger: createLogger({ level: process.env.VIGIL_TEST_LOG_LEVEL ?? 'silent' }),
    registry,
    source: async () => [...signals.values()],
    verifyProbe: overrides.verifyProbe ?? (async () => ({ success: true })),
    // null: the default identity (host, installation and pid), as a real start has.
    ...(overrides.holder === null ? {} : { holder: overrides.holder ?? 'test' }),
    random: () => 0.5,
  });
  await service.start();
  return {
    config,
    db,
    clock,
    registry,
    service,
    signals,
    /** Sets one rule's observation (a series per rule). */
    observe(rule: string, active: boolean | undefined, labels: Record<string, string> = {}, summary = `${rule} ${active ? 'failing' : 'ok'}`) {
      signals.set(rule, { rule, labels, active, summary });
    },
    forget(rule: string) {
      signals.delete(rule);
    },
    /** Advances time in `step` increments, letting each pass finish before the next. */
    async run(ms: number, step = 1000) {
      for (let elapsed = 0; elapsed < ms; elapsed += step) {
        await clock.advance(Math.min(step, ms - elapsed));
        await service.idle();
      }
    },
    /**
     * Resolves once nothing is under way: no pass running and no query or transaction in flight, for a few turns of
     * the event loop in a row (work off the passes, like a hook's lane, is seen through its queries). Bounded by
     * `timeoutMs`, after which it resolves anyway.
     */
    async settled(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (let quietTurns = 0; quietTurns < 3 && Date.now() < deadline; ) {
        await service.idle();
        await new Promise((resolve) => setTimeout(resolve, 5));
        quietTurns = inFlight() === 0 ? quietTurns + 1 : 0;
      }
    },
    async notifications() {
      return db.query<{ key: string; receiver: string; event: string; status: string; attempts: number; muted_by: string | null }>('select key, receiver, event, status, attempts, muted_by from alerts_notifications order by id');
    },
    async stop() {
      await service.stop(Date.now() + 5000);
      if (!overrides.db) await db.close();
    },
  };
}
