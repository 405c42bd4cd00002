import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { createLogger } from '../../core/telemetry/logger.ts';
import { createRepeatLimiter } from '../../core/telemetry/repeats.ts';
import { asDependencyUnavailable, classifyDependencyFailure, DependencyUnavailableError, failureKey } from '../../core/unavailable.ts';

const errno = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('classifyDependencyFailure', () => {
  const cases: Array<[string, unknown, ReturnType<typeof classifyDependencyFailure>]> = [
    ['connection refused', errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), { reason: 'unreachable', cause: 'ECONNREFUSED' }],
    ['connection reset', errno('ECONNRESET', 'read ECONNRESET'), { reason: 'unreachable', cause: 'ECONNRESET' }],
    ['refused on every address (happy eyeballs)', new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED')]), { reason: 'unreachable', cause: 'ECONNREFUSED' }],
    ['PostgreSQL admin shutdown', errno('57P01', 'terminating connection due to administrator command'), { reason: 'shutdown', cause: '57P01' }],
    ['PostgreSQL starting up', errno('57P03', 'the database system is starting up'), { reason: 'shutdown', cause: '57P03' }],
    ['statement timeout', errno('57014', 'canceling statement due to statement timeout'), { reason: 'timeout', cause: '57014' }],
    ['pool checkout timeout', new Error('timeout exceeded when trying to connect'), { reason: 'timeout', cause: 'pool timeout' }],
    ['server went away mid-query', new Error('Connection terminated unexpectedly'), { reason: 'unreachable', cause: 'connection terminated' }],
    ['disk full', errno('ENOSPC', 'ENOSPC: no space left on device, write'), { reason: 'full', cause: 'ENOSPC' }],
    ['quota', errno('EDQUOT'), { reason: 'full', cause: 'EDQUOT' }],
    ['PostgreSQL disk full', errno('53100', 'could not extend file "base/5/16384": No space left on device'), { reason: 'full', cause: '53100' }],
    ['PGlite message only', new Error('could not extend file "base/1/2": No space left on device'), { reason: 'full', cause: 'ENOSPC' }],
    ['wrapped as a cause', new Error('upload failed', { cause: errno('ECONNREFUSED') }), { reason: 'unreachable', cause: 'ECONNREFUSED' }],
    ['our own timeout helper', errno('ETIMEDOUT', 'PostgreSQL did not answer within 2000 ms'), { reason: 'timeout', cause: 'ETIMEDOUT' }],
    ['unique violation is a bug or a conflict, not an outage', errno('23505', 'duplicate key value'), undefined],
    ['syntax error', errno('42601', 'syntax error at or near "selec"'), undefined],
    ['file not found', errno('ENOENT'), undefined],
    ['plain error', new Error('something broke'), undefined],
    ['not an error', 'ECONNREFUSED', undefined],
  ];
  it.each(cases)('%s', (_name, error, expected) => {
    expect(classifyDependencyFailure(error)).toEqual(expected);
  });
});

describe('DependencyUnavailableError', () => {
  it('answers 503 with a retry delay for an unreachable store and 507 for a full disk, in sentences without internals', () => {
    const down = asDependencyUnavailable(errno('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432'), 'database')!;
    expect(down).toBeInstanceOf(DependencyUnavailableError);
    expect([down.httpStatus, down.retryAfterSeconds]).toEqual([503, 10]);
    expect(down.publicMessage).toBe('The service cannot reach its database at the moment, so this request was not carried out. Please try again in 10 seconds.');
    expect(down.message).toContain('10.0.0.5'); // the operator's log keeps the detail ...
    expect(down.publicMessage).not.toContain('10.0.0.5'); // ... the person who made the request does not get it
    const full = asDependencyUnavailable(errno('ENOSPC', 'ENOSPC: no space left on device, write /srv/videos/x.part'))!;
    expect([full.httpStatus, full.retryAfterSeconds, full.dependency]).toEqual([507, 60, 'disk']);
    expect(full.publicMessage).not.toContain('/srv');
    expect(asDependencyUnavailable(new Error('a bug'))).toBeUndefined();
    expect(asDependencyUnavailable(down, 'other')).toBe(down);
  });

  it('keys repeated errors by their cause', () => {
    expect(failureKey(errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'))).toBe(failureKey(errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:2')));
    expect(failureKey(errno('23505', 'duplicate'))).toBe('23505');
    expect(failureKey(new Error('odd'))).toBe('odd');
  });
});

describe('createRepeatLimiter', () => {
  function capture() {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    return { lines, logger: createLogger({ level: 'info', destination }) };
  }

  it('logs a flood of one cause once per interval with its count, and another cause on its own', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const { lines, logger } = capture();
    const repeats = createRepeatLimiter(logger, { intervalMs: 60_000, clock });
    // 14.5 errors a second for three minutes, as pg-boss does while its database is away.
    for (let second = 0; second < 180; second++) {
      for (let i = 0; i < (second % 2 ? 15 : 14); i++) repeats.log('error', 'queue ECONNREFUSED', { cause: 'ECONNREFUSED' }, 'queue error');
      if (second === 10) repeats.log('error', 'queue 57P01', { cause: '57P01' }, 'queue error');
      await clock.advance(1000);
    }
    const refused = lines.filter((line) => line.cause === 'ECONNREFUSED');
    expect(refused.map((line) => line.repeated ?? 1)).toEqual([1, 869, 870, 870]);
    expect(refused.reduce((sum, line) => sum + Number(line.repeated ?? 1), 0)).toBe(180 * 14.5);
    expect(refused[1]!.msg).toBe('queue error (repeated 869 times in 60 s)');
    expect(lines.filter((line) => line.cause === '57P01')).toHaveLength(1);
    // The flood is over: one interval without it, and the next occurrence is logged at once again.
    await clock.advance(120_000);
    const before = lines.length;
    repeats.log('error', 'queue ECONNREFUSED', { cause: 'ECONNREFUSED' }, 'queue error');
    expect(lines).toHaveLength(before + 1);
    expect(lines.at(-1)!.repeated).toBeUndefined();
  });

  it('flush writes the counts still pending', () => {
    const { lines, logger } = capture();
    const repeats = createRepeatLimiter(logger, { intervalMs: 60_000, clock: new FakeClock(0) });
    for (let i = 0; i < 5; i++) repeats.log('warn', 'k', {}, 'store down');
    repeats.flush();
    expect(lines.map((line) => line.repeated ?? 1)).toEqual([1, 4]);
  });
});
