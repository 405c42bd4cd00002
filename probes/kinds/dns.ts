import dgram from 'node:dgram';
import { promises as nodeDns } from 'node:dns';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import * as packet from 'dns-packet';
import { z } from 'zod';
import { assertionsSchema, firstFailure } from '../assertions.ts';
import { defineKind } from '../define.ts';
import type { KindMetrics } from '../types.ts';
import { since } from './timing.ts';
import { addressFigures } from './http.ts';

const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SRV'] as const;

const options = z.strictObject({
  /** The name to resolve. */
  query: z.string().min(1),
  type: z.enum(RECORD_TYPES).default('A'),
  /** A DNS server "ip" or "ip:port"; without it, A and AAAA go through the system resolver (hosts file included). */
  server: z.string().regex(/^[0-9a-fA-F.:[\]]+$/, 'an IP address, optionally with :port').optional(),
  /** Answers that must be among those returned. */
  expectContains: z.array(z.string()).optional(),
  /** Fewest answers; 0 when an rcode assertion is given (an expected NXDOMAIN has none). */
  minAnswers: z.number().int().min(0).optional(),
  /** Checks built with `assert`: answers, rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED), responseTime. */
  assertions: assertionsSchema(['answers', 'rcode', 'responseTime']),
});

/** Resolver error codes that are an answer from the server, by the rcode they stand for. */
const RCODES: Record<string, string> = {
  ENOTFOUND: 'NXDOMAIN', ENODATA: 'NOERROR', ESERVFAIL: 'SERVFAIL', EREFUSED: 'REFUSED', ENOTIMP: 'NOTIMP', EFORMERR: 'FORMERR',
  SERVFAIL: 'SERVFAIL', REFUSED: 'REFUSED', NOTIMP: 'NOTIMP', FORMERR: 'FORMERR',
};

/** Resolves a name through the system resolver or a named server and checks the answers. */
export const dns = defineKind({
  kind: 'dns',
  options,
  target: (config) => config.server ?? 'system resolver',
  async run(config, context) {
    const start = performance.now();
    const { answers, rcode } = await resolve(config, context.signal, context.observed ?? {});
    const responseTime = since(start, performance.now());
    const timings = { resolve: responseTime };
    const details = { answers: answers.slice(0, 20), rcode };
    const asked = `${config.query} ${config.type}`;
    const checksRcode = config.assertions.some((assertion) => assertion.source === 'rcode');
    if (rcode !== 'NOERROR' && !checksRcode) {
      return { success: false, failure: 'dns', reason: rcode === 'NXDOMAIN' ? `${asked}: the name was not found (NXDOMAIN)` : `${asked}: the server answered ${rcode}`, timings, details };
    }
    const minAnswers = config.minAnswers ?? (checksRcode ? 0 : 1);
    if (answers.length < minAnswers) return { success: false, failure: 'assertion', reason: `${asked} returned ${answers.length} answer(s), expected at least ${minAnswers}`, timings, details };
    const missing = (config.expectContains ?? []).filter((wanted) => !answers.includes(wanted));
    if (missing.length > 0) return { success: false, failure: 'assertion', reason: `${asked} answers ${JSON.stringify(answers)} lack ${missing.join(', ')}`, timings, details };
    const failed = firstFailure(config.assertions, (assertion) => (assertion.source === 'answers' ? answers : assertion.source === 'rcode' ? rcode : responseTime));
    if (failed) return { success: false, failure: 'assertion', reason: `${asked}: ${failed}`, timings, details };
    return { success: true, timings, details };
  },
});

async function resolve(config: z.output<typeof options>, signal: AbortSignal, observed: KindMetrics): Promise<{ answers: string[]; rcode: string }> {
  try {
    return { answers: await query(config, signal, observed), rcode: 'NOERROR' };
  } catch (error) {
    signal.throwIfAborted();
    const rcode = RCODES[String((error as { code?: unknown }).code)];
    if (rcode) return { answers: [], rcode };
    throw error;
  }
}

async function query(config: z.output<typeof options>, signal: AbortSignal, observed: KindMetrics): Promise<string[]> {
  if (!config.server) {
    if (config.type === 'A' || config.type === 'AAAA') {
      const found = await nodeDns.lookup(config.query, { family: config.type === 'A' ? 4 : 6, all: true });
      signal.throwIfAborted();
      observed.dnsAnswerRrs = found.length;
      return found.map((entry) => entry.address);
    }
    const resolver = new nodeDns.Resolver({ tries: 1 });
    const cancel = () => resolver.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const records = ((await resolver.resolve(config.query, config.type)) as unknown[]).map(formatRecord);
      observed.dnsAnswerRrs = records.length;
      return records;
    } catch (error) {
      signal.throwIfAborted();
      throw error;
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }
  // A named server is asked directly, so the answer's sections can be counted as blackbox_exporter does.
  const response = await exchange(config.server, { type: 'query', id: Math.floor(Math.random() * 65536), flags: packet.RECURSION_DESIRED, questions: [{ type: config.type, name: config.query }] }, signal, observed);
  Object.assign(observed, { dnsAnswerRrs: response.answers?.length ?? 0, dnsAuthorityRrs: response.authorities?.length ?? 0, dnsAdditionalRrs: response.additionals?.length ?? 0 });
  const rcode = (response as { rcode?: string }).rcode ?? 'NOERROR';
  if (rcode !== 'NOERROR') {
    throw Object.assign(new Error(`query${config.type} ${rcode === 'NXDOMAIN' ? 'ENOTFOUND' : rcode} ${config.query}`), { code: rcode === 'NXDOMAIN' ? 'ENOTFOUND' : rcode });
  }
  return (response.answers ?? []).filter((answer) => answer.type === config.type).map((answer) => formatRecord(recordOf(answer)));
}

/** One UDP exchange with `server` ("ip" or "ip:port", IPv6 in brackets with a port). */
function exchange(server: string, query: packet.Packet, signal: AbortSignal, observed: KindMetrics): Promise<packet.DecodedPacket> {
  const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(server.includes('.') || server.startsWith('[') ? server : `[${server}]`);
  const host = match?.[1] ?? server;
  const port = Number(match?.[2] ?? 53);
  const family = net.isIP(host) === 6 ? 6 : 4;
  Object.assign(observed, { dnsLookupSeconds: 0, ...addressFigures(host) });
  const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    const finish = (error: Error | undefined, response?: packet.DecodedPacket) => {
      signal.removeEventListener('abort', onAbort);
      socket.close();
      if (error) reject(error);
      else resolve(response!);
    };
    const onAbort = () => finish(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => finish(error));
    socket.on('message', (message) => {
      try {
        const response = packet.decode(message);
        if (response.id === query.id) finish(undefined, response);
      } catch (error) {
        finish(new Error(`the DNS server sent an unreadable answer: ${(error as Error).message}`));
      }
    });
    socket.send(packet.encode(query), port, host);
  });
}

/** A decoded record in the shape Node's resolver returns, so both paths format alike. */
function recordOf(answer: packet.Answer): unknown {
  const data = (answer as { data?: unknown }).data;
  if (answer.type === 'MX') return { priority: (data as { preference: number }).preference, exchange: (data as { exchange: string }).exchange };
  if (answer.type === 'SRV') return { ...(data as object), name: (data as { target: string }).target };
  if (answer.type === 'TXT') return [data].flat().map((chunk) => String(chunk));
  return data;
}

function formatRecord(record: unknown): string {
  if (typeof record === 'string') return record;
  if (Array.isArray(record)) return record.join('');
  const value = record as Record<string, unknown>;
  if ('exchange' in value) return `${value.priority} ${value.exchange}`;
  if ('name' in value && 'port' in value) return `${value.priority} ${value.weight} ${value.port} ${value.name}`;
  return JSON.stringify(record);
}
