import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../app/config.ts';

const limits = (raw: Record<string, unknown>, env: Record<string, string> = {}) => parseConfig(raw, 'vigil.config.ts', env).probeScheduler;
const problem = (raw: Record<string, unknown>, env: Record<string, string> = {}) => {
  try {
    limits(raw, env);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
};

describe('probe scheduler limits in the config', () => {
  it.each([
    ['nothing set: the defaults apply', {}, {}, {}],
    ['from the file', { probeScheduler: { concurrency: 8, targetConcurrency: 2, buffer: 500 } }, {}, { concurrency: 8, targetConcurrency: 2, buffer: 500 }],
    ['from the environment', {}, { VIGIL_PROBE_CONCURRENCY: '32', VIGIL_PROBE_BUFFER: '1000' }, { concurrency: 32, buffer: 1000 }],
    ['the environment wins over the file', { probeScheduler: { concurrency: 8, targetConcurrency: 2 } }, { VIGIL_PROBE_CONCURRENCY: '16' }, { concurrency: 16, targetConcurrency: 2 }],
    ['an empty variable leaves the file alone', { probeScheduler: { concurrency: 8 } }, { VIGIL_PROBE_CONCURRENCY: '' }, { concurrency: 8 }],
  ])('%s', (_case, raw, env, expected) => {
    expect(limits(raw, env)).toEqual(expected);
  });

  it.each([
    ['zero', { probeScheduler: { concurrency: 0 } }, {}, 'probeScheduler.concurrency: concurrency is a whole number from 1 to 10000'],
    ['a fraction', { probeScheduler: { targetConcurrency: 1.5 } }, {}, 'probeScheduler.targetConcurrency: targetConcurrency is a whole number from 1 to 10000'],
    ['text in the environment', {}, { VIGIL_PROBE_CONCURRENCY: 'lots' }, 'probeScheduler.concurrency: concurrency is a whole number from 1 to 10000'],
    ['too large a buffer', { probeScheduler: { buffer: 2_000_000 } }, {}, 'probeScheduler.buffer: buffer is a whole number from 1 to 1000000'],
    ['an unknown field', { probeScheduler: { concurency: 4 } }, {}, 'concurency'],
  ])('refuses %s, naming the field', (_case, raw, env, message) => {
    expect(problem(raw, env)).toContain(message);
  });
});
