import { promises as nodeDns } from 'node:dns';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { defineKind } from '../define.ts';

const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SRV'] as const;

const options = z.strictObject({
  /** The name to resolve. */
  query: z.string().min(1),
  type: z.enum(RECORD_TYPES).default('A'),
  /** A DNS server "ip" or "ip:port"; without it, A and AAAA go through the system resolver (hosts file included). */
  server: z.string().regex(/^[0-9a-fA-F.:[\]]+$/, 'an IP address, optionally with :port').optional(),
  /** Answers that must be among those returned. */
  expectContains: z.array(z.string()).optional(),
  minAnswers: z.number().int().min(0).default(1),
});

/** Resolves a name through the system resolver or a named server and checks the answers. */
export const dns = defineKind({
  kind: 'dns',
  options,
  target: (config) => config.server ?? 'system resolver',
  async run(config, context) {
    const start = performance.now();
    const answers = await resolve(config, context.signal);
    const timings = { resolve: Math.round((performance.now() - start) * 1000) / 1000 };
    const details = { answers: answers.slice(0, 20) };
    if (answers.length < config.minAnswers) return { success: false, failure: 'assertion', reason: `${config.query} ${config.type} returned ${answers.length} answer(s), expected at least ${config.minAnswers}`, timings, details };
    const missing = (config.expectContains ?? []).filter((wanted) => !answers.includes(wanted));
    if (missing.length > 0) return { success: false, failure: 'assertion', reason: `${config.query} ${config.type} answers ${JSON.stringify(answers)} lack ${missing.join(', ')}`, timings, details };
    return { success: true, timings, details };
  },
});

async function resolve(config: z.output<typeof options>, signal: AbortSignal): Promise<string[]> {
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
