import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.ts';
import { afterFailure, createOutbox, createOutboxMetrics, DeliveryError, httpDeliveryError, type OutboxAdapter, type Settlement } from '../../core/outbox.ts';
import { createLogger } from '../../core/telemetry/logger.ts';

const POLICY = { retryInitial: 10_000, retryMax: 60_000, maxAge: 3_600_000 };
const temporary = new DeliveryError('down', { temporary: true });

describe('afterFailure: retry or give up', () => {
  it.each([
    { case: 'a temporary failure, first retry: the initial delay over the upper half', error: temporary, attempts: 1, ageMs: 0, random: 0, expected: { retryInMs: 5_000 } },
    { case: 'the third retry doubles twice, jittered', error: temporary, attempts: 3, ageMs: 0, random: 0.5, expected: { retryInMs: 30_000 } },
    { case: 'the delay stops growing at retryMax', error: temporary, attempts: 20, ageMs: 0, random: 0, expected: { retryInMs: 30_000 } },
    { case: 'Retry-After wins over the backoff', error: httpDeliveryError('x', 429, '120'), attempts: 1, ageMs: 0, random: 0, expected: { retryInMs: 120_000 } },
    { case: '408 is temporary', error: httpDeliveryError('x', 408, null), attempts: 1, ageMs: 0, random: 0, expected: { retryInMs: 5_000 } },
    { case: '503 is temporary', error: httpDeliveryError('x', 503, null), attempts: 1, ageMs: 0, random: 0, expected: { retryInMs: 5_000 } },
    { case: 'another 4xx is refused for good', error: httpDeliveryError('x', 410, null), attempts: 1, ageMs: 0, random: 0, expected: 'give-up' },
    { case: 'a temporary failure past maxAge', error: temporary, attempts: 2, ageMs: 3_600_000, random: 0, expected: 'give-up' },
  ] as const)('$case', ({ error, attempts, ageMs, random, expected }) => {
    expect(afterFailure({ error, attempts, ageMs, random }, POLICY)).toEqual(expected);
  });
});

interface Row {
  id: number;
  target: string;
  orderingKey: string;
  attempts: number;
  createdAt: number;
  status: 'pending' | 'delivered' | 'failed';
  dueAt: number;
}

/** An in-memory module: a table of rows, a NOTIFY, and targets whose answers the test sets. */
function harness(options: { pollInterval?: number } = {}) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const registry = new Registry();
  const rows: Row[] = [];
  const sent: string[] = [];
  const listeners: Array<() => void> = [];
  /** Per target: what its next sends do (default: succeed). */
  const answers = new Map<string, (batch: Row[]) => Promise<void>>();
  const name = (row: Row) => `${row.target}:${row.orderingKey}${row.id}`;

  const adapter: OutboxAdapter<Row, undefined> = {
    targets: async (now) => [...new Set(rows.filter((row) => row.status === 'pending' && row.dueAt <= now).map((row) => row.target))],
    async due(target, now) {
      const pending = rows.filter((row) => row.target === target && row.status === 'pending');
      return pending.filter((row) => row.dueAt <= now && !pending.some((earlier) => earlier.orderingKey === row.orderingKey && earlier.id < row.id && earlier.dueAt > now));
    },
    async send(target, batch) {
      await answers.get(target)?.(batch);
      sent.push(...batch.map(name));
      return { result: undefined };
    },
    async settle(_target, batch, settlement: Settlement<undefined>) {
      for (const row of batch) {
        if (settlement.kind === 'delivered') row.status = 'delivered';
        if (settlement.kind === 'failed') row.status = 'failed';
        if (settlement.kind === 'retry') Object.assign(row, { attempts: row.attempts + 1, dueAt: settlement.at });
      }
    },
    describe: (target) => ({ target }),
  };
  const outbox = createOutbox({
    adapter,
    span: 'test.deliver',
    clock,
    logger: createLogger({ level: 'silent' }),
    metrics: createOutboxMetrics(registry, { targetLabel: 'target', outcomes: { name: 'test_deliveries_total', help: 'h' }, latency: { name: 'test_latency_seconds', help: 'h' } }),
    policy: POLICY,
    pollInterval: options.pollInterval ?? 1000,
    wakeOn: { db: { listen: async (_channel, onNotify) => (listeners.push(() => onNotify('')), { close: async () => {} }) }, channel: 'test' },
    random: () => 0,
  });
  let nextId = 1;
  return {
    clock,
    registry,
    rows,
    sent,
    answers,
    outbox,
    /** Writes rows and, like a module's insert on commit, notifies. */
    write(target: string, keys: string) {
      for (const key of keys) rows.push({ id: nextId++, target, orderingKey: key, attempts: 0, createdAt: clock.now(), status: 'pending', dueAt: clock.now() });
      for (const listener of listeners) listener();
    },
    async run() {
      await outbox.deliverDue();
      await outbox.idle();
    },
  };
}

describe('core outbox on the fake clock', () => {
  it('sends each ordering key first in first out, keys side by side', async () => {
    const h = harness();
    h.write('t', 'aabab');
    await h.run();
    expect(h.sent.filter((sent) => sent.startsWith('t:a'))).toEqual(['t:a1', 't:a2', 't:a4']);
    expect(h.sent.filter((sent) => sent.startsWith('t:b'))).toEqual(['t:b3', 't:b5']);
    expect(await h.registry.metrics()).toMatch(/^test_deliveries_total\{target="t",outcome="delivered"\} 5$/m);
  });

  it('a row waiting for a retry holds back the later ones of its key, not those of another key; they follow it in order', async () => {
    const h = harness();
    let failA = true;
    h.answers.set('t', async ([row]) => {
      if (failA && row!.orderingKey === 'a') throw temporary;
    });
    h.write('t', 'abab');
    await h.run();
    expect(h.sent).not.toContain('t:a1');
    expect(h.sent).not.toContain('t:a3');
    expect(h.sent.filter((sent) => sent.startsWith('t:b'))).toEqual(['t:b2', 't:b4']);
    const a1 = h.rows.find((row) => row.id === 1)!;
    expect(a1).toMatchObject({ attempts: 1, status: 'pending', dueAt: h.clock.now() + 5_000 });

    failA = false;
    h.clock.set(a1.dueAt - 1);
    await h.run();
    expect(h.sent).not.toContain('t:a1');
    h.clock.set(a1.dueAt);
    await h.run();
    expect(h.sent.filter((sent) => sent.startsWith('t:a'))).toEqual(['t:a1', 't:a3']);
    expect(await h.registry.metrics()).toMatch(/^test_deliveries_total\{target="t",outcome="retry"\} 1$/m);
  });

  it('gives up on a permanent refusal and on a row past maxAge, and goes on with the rows behind it', async () => {
    const h = harness();
    h.answers.set('refusing', async () => {
      throw httpDeliveryError('refusing', 400, null);
    });
    h.write('refusing', 'aa');
    await h.run();
    expect(h.rows.map((row) => row.status)).toEqual(['failed', 'failed']);

    const old = harness();
    old.answers.set('down', async () => {
      throw temporary;
    });
    old.write('down', 'a');
    for (let step = 0; step < 200 && old.rows[0]!.status === 'pending'; step++) {
      old.clock.set(Math.max(old.clock.now(), old.rows[0]!.dueAt));
      await old.run();
    }
    expect(old.rows[0]!.status).toBe('failed');
    // The delay doubles from 5 s to the 30 s–60 s cap: a first retry soon, then about one a minute for the hour.
    expect(old.rows[0]!.attempts).toBeGreaterThan(55);
    expect(old.rows[0]!.attempts).toBeLessThan(125);
    expect(old.clock.now() - old.rows[0]!.createdAt).toBeGreaterThanOrEqual(POLICY.maxAge);
    expect(await old.registry.metrics()).toMatch(/^test_deliveries_total\{target="down",outcome="failed"\} 1$/m);
  });

  it('honours Retry-After, and one of 0 waits for the next look instead of spinning', async () => {
    const h = harness();
    let retryAfter = '30';
    h.answers.set('t', async () => {
      throw httpDeliveryError('t', 429, retryAfter);
    });
    h.write('t', 'a');
    await h.run();
    expect(h.rows[0]).toMatchObject({ attempts: 1, dueAt: h.clock.now() + 30_000 });
    retryAfter = '0';
    h.clock.set(h.rows[0]!.dueAt);
    await h.run();
    expect(h.rows[0]).toMatchObject({ attempts: 2, dueAt: h.clock.now() });
  });

  it('a target that hangs holds back no other target', async () => {
    const h = harness();
    let release = () => {};
    h.answers.set('hung', () => new Promise<void>((resolve) => (release = resolve)));
    h.write('hung', 'a');
    h.write('ok', 'a');
    await h.outbox.deliverDue();
    await h.clock.advance(0);
    expect(h.sent).toEqual(['ok:a2']);
    release();
    await h.outbox.idle();
    expect(h.sent).toEqual(['ok:a2', 'hung:a1']);
  });

  it('wakes at once when a row is written, without waiting for the poll; a row written during a pass goes out after it', async () => {
    const h = harness({ pollInterval: 3_600_000 });
    await h.outbox.start();
    h.write('t', 'a');
    await h.clock.advance(0);
    await h.outbox.idle();
    expect(h.sent).toEqual(['t:a1']);

    let release = () => {};
    h.answers.set('t', () => new Promise<void>((resolve) => (release = resolve)));
    h.write('t', 'b');
    await h.clock.advance(0);
    h.answers.delete('t');
    h.write('t', 'c');
    release();
    await h.clock.advance(0);
    await h.outbox.idle();
    expect(h.sent).toEqual(['t:a1', 't:b2', 't:c3']);
    await h.outbox.stop();
    h.write('t', 'd');
    await h.clock.advance(3_600_000);
    expect(h.sent).toHaveLength(3);
  });

  it('sends a retry at its time, each of several, without waiting for the poll', async () => {
    const h = harness({ pollInterval: 3_600_000 });
    await h.outbox.start();
    const failures = new Map([
      ['early', 1_000],
      ['late', 60_000],
    ]);
    for (const [target, retryAfterMs] of failures) {
      h.answers.set(target, async () => {
        h.answers.delete(target);
        throw new DeliveryError(`${target} is busy`, { temporary: true, retryAfterMs });
      });
    }
    h.write('late', 'a');
    h.write('early', 'b');
    await h.clock.advance(0);
    await h.outbox.idle();
    expect(h.sent).toEqual([]);
    await h.clock.advance(999);
    expect(h.sent).toEqual([]);
    await h.clock.advance(1);
    await h.outbox.idle();
    expect(h.sent).toEqual(['early:b2']);
    await h.clock.advance(58_999);
    await h.outbox.idle();
    expect(h.sent).toEqual(['early:b2']);
    await h.clock.advance(1);
    await h.outbox.idle();
    expect(h.sent).toEqual(['early:b2', 'late:a1']);
    await h.outbox.stop();
  });
});
