import { promises as nodeDns } from 'node:dns';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { assertionsSchema, firstFailure } from '../assertions.ts';
import { defineKind } from '../define.ts';
import { since } from './abort.ts';

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
const RCODES: Record<string, string> = { ENOTFOUND: 'NXDOMAIN', ENODATA: 'NOERROR', ESERVFAIL: 'SERVFAIL', EREFUSED: 'REFUSED', ENOTIMP: 'NOTIMP', EFORMERR: 'FORMERR' };

/** Resolves a name through the system resolver or a named server and checks the answers. */
export const dns = defineKind({
  kind: 'dns',
  options,
  target: (config) => config.server ?? 'system resolver',
  async run(config, context) {
    const start = performance.now();
    const { answers, rcode } = await resolve(config, context.signal);
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

async function resolve(config: z.output<typeof options>, signal: AbortSignal): Promise<{ answers: string[]; rcode: string }> {
  try {
    return { answers: await query(config, signal), rcode: 'NOERROR' };
  } catch (error) {
    signal.throwIfAborted();
    const rcode = RCODES[String((error as { code?: unknown }).code)];
    if (rcode) return { answers: [], rcode };
    throw error;
  }
}

async function query(config: z.output<typeof options>, signal: AbortSignal): Promise<string[]> {
  if (!config.server && (config.type === 'A' || config.type === 'AAAA')) {
    const found = await nodeDns.lookup(config.query, { family: config.type === 'A' ? 4 : 6, all: true });
    signal.throwIfAborted();
    return found.map((entry) => entry.address);
  }
  const resolver = new nodeDns.Resolver({ tries: 1 });
  if (config.server) resolver.setServers([config.server]);
  const cancel = () => resolver.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    const records = (await resolver.resolve(config.query, config.type)) as unknown[];
    return records.map(formatRecord);
  } catch (error) {
    signal.throwIfAborted();
    throw error;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

function formatRecord(record: unknown): string {
  if (typeof record === 'string') return record;
  if (Array.isArray(record)) return record.join('');
  const value = record as Record<string, unknown>;
  if ('exchange' in value) return `${value.priority} ${value.exchange}`;
  if ('name' in value && 'port' in value) return `${value.priority} ${value.weight} ${value.port} ${value.name}`;
  return JSON.stringify(record);
}
