import { describe, expect, it } from 'vitest';
import { incidentTimeline } from '../../alerts/timeline.ts';
import type { Incident } from '../../alerts/types.ts';
import { createSession, validSession } from '../../console/session.ts';
import { uptimeBars, workflowGantt } from '../../console/views-model.ts';
import { Secret } from '../../core/config/secret.ts';
import { decodeCursor, encodeCursor, pageOf } from '../../core/http/admin-api.ts';
import { bearerToken, matchingToken } from '../../core/http/auth.ts';
import type { Checkpoint } from '../../processing/store.ts';
import { workflowOf } from '../../processing/workflow.ts';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const checkpoint = (stage: string, attempt: number, status: Checkpoint['status'], from: number, to: number | null, errorClass: Checkpoint['errorClass'] = null): Checkpoint => ({
  id: `${stage}-${attempt}`, stage, attempt, status, startedAt: at(from), finishedAt: to === null ? null : at(to), durationSeconds: to === null ? null : to - from, workerId: 'w1', jobId: null, errorClass, errorCode: null, message: errorClass ? 'no space' : null, progress: null, cpuSeconds: null,
});

describe('workflowOf', () => {
  const STAGES = ['store', 'probe', 'transcode', 'publish'];
  it.each([
    {
      case: 'published after a retried transcode',
      state: 'published' as const,
      checkpoints: [checkpoint('store', 1, 'finished', 1, 2), checkpoint('probe', 1, 'finished', 3, 4), checkpoint('transcode', 1, 'failed', 6, 7, 'RESOURCE'), checkpoint('transcode', 2, 'finished', 9, 15), checkpoint('publish', 1, 'finished', 15, 16)],
      expected: [['store', 'done', 1, 1000, 1000], ['probe', 'done', 1, 1000, 1000], ['transcode', 'done', 2, 2000, 9000], ['publish', 'done', 1, 0, 1000]],
      total: 16_000,
    },
    {
      case: 'still transcoding: later stages wait, the running one counts up to now',
      state: 'processing' as const,
      checkpoints: [checkpoint('store', 1, 'finished', 0, 1), checkpoint('probe', 1, 'finished', 1, 2), checkpoint('transcode', 1, 'started', 5, null)],
      expected: [['store', 'done', 1, 0, 1000], ['probe', 'done', 1, 0, 1000], ['transcode', 'running', 1, 3000, 15_000], ['publish', 'waiting', 0, null, null]],
      total: null,
    },
    {
      case: 'failed at probe',
      state: 'failed' as const,
      checkpoints: [checkpoint('store', 1, 'finished', 0, 1), checkpoint('probe', 1, 'failed', 2, 3, 'INPUT_INVALID')],
      expected: [['store', 'done', 1, 0, 1000], ['probe', 'failed', 1, 1000, 1000], ['transcode', 'waiting', 0, null, null], ['publish', 'waiting', 0, null, null]],
      total: 3000,
    },
  ])('$case', ({ state, checkpoints, expected, total }) => {
    const workflow = workflowOf({ createdAt: at(0), state }, checkpoints, STAGES, T0 + 20_000);
    expect(workflow.stages.map((stage) => [stage.stage, stage.status, stage.attempts.length, stage.waitMs, stage.durationMs])).toEqual(expected);
    expect(workflow.totalMs).toBe(total);
    const gantt = workflowGantt(workflow, at(0).toISOString(), T0 + 20_000);
    expect(gantt.rows.flatMap((row) => row.attempts).every((bar) => bar.x >= 110 && bar.x + bar.width <= 712)).toBe(true);
  });
});

describe('incidentTimeline', () => {
  const incident: Incident = { id: 7, fingerprint: 'f', rule: 'api-down', labels: { service: 'api' }, summary: 'api is down', lastSummary: 'api is down', resets: 0, state: 'resolved', flapping: false, startedAt: 1000, firedAt: 2000, escalatedAt: null, resolvedAt: 9000, ackedBy: 'ana', ackedAt: 5000 };
  it('orders its own times, deliveries, hook attempts and audited actions', () => {
    const timeline = incidentTimeline(
      incident,
      [
        { id: 1, receiver: 'ops', event: 'warning', status: 'muted', fallback: null, mutedBy: 'silence #3', attempts: 0, createdAt: 2000, deliveredAt: null, lastError: null },
        { id: 2, receiver: 'ops', event: 'warning', status: 'delivered', fallback: null, mutedBy: null, attempts: 2, createdAt: 6000, deliveredAt: 6500, lastError: 'HTTP 502' },
      ],
      [{ id: 1, receiver: 'restart-api', service: 'api', incidentId: 7, startedAt: 3000, finishedAt: 4000, action: 'restart', outcome: 'ok', detail: 'probe passed' }],
      [{ id: 1, at: 5000, actor: 'ana', action: 'incident.ack', detail: { incident: 7 } }],
    );
    expect(timeline.map((entry) => `${entry.at} ${entry.event}${entry.detail ? ` (${entry.detail})` : ''}`)).toEqual([
      '1000 opened (api is down)',
      '2000 firing',
      '2000 warning to ops: muted by silence #3',
      '3000 restart-api restart: ok (probe passed)',
      '5000 acknowledged (by ana)',
      '6500 warning to ops: delivered (2 attempts; HTTP 502)',
      '9000 resolved',
    ]);
  });
});

describe('console sessions and admin tokens', () => {
  const token = new Secret('token-one-0123456789');
  const other = new Secret('token-two-0123456789');
  it.each([
    { case: 'fresh, signed by an accepted token', value: createSession(token, 0, 1000), tokens: [token], now: 999, valid: true },
    { case: 'expired', value: createSession(token, 0, 1000), tokens: [token], now: 1000, valid: false },
    { case: 'signed by a token no longer accepted', value: createSession(other, 0, 1000), tokens: [token], now: 1, valid: false },
    { case: 'expiry moved forward', value: createSession(token, 0, 1000).replace(/^\d+/, '99999'), tokens: [token], now: 1, valid: false },
    { case: 'garbage', value: 'x.y', tokens: [token], now: 1, valid: false },
    { case: 'absent', value: undefined, tokens: [token], now: 1, valid: false },
  ])('a session that is $case: $valid', ({ value, tokens, now, valid }) => {
    expect(validSession(value, tokens, now)).toBe(valid);
  });

  it.each([
    ['Bearer token-one-0123456789', true],
    ['bearer token-one-0123456789', true],
    ['BEARER   token-two-0123456789', true],
    ['Basic token-one-0123456789', false],
    ['Bearer token-one', false],
    ['token-one-0123456789', false],
    [undefined, false],
  ])('Authorization %s → %s', (header, accepted) => {
    const presented = bearerToken(header);
    expect(presented !== null && matchingToken(presented, [token, other]) !== undefined).toBe(accepted);
  });
});

describe('cursors and uptime bars', () => {
  it('round-trips a cursor and refuses one it did not give, naming the parameter', () => {
    expect(decodeCursor(encodeCursor({ id: 42 }), ['id'])).toEqual({ id: 42 });
    expect(() => decodeCursor('bm9wZQ', ['id'])).toThrow(/^cursor: /);
    expect(pageOf([5, 4, 3], 2, (row) => ({ id: row }))).toEqual({ items: [5, 4], nextCursor: encodeCursor({ id: 4 }) });
    expect(pageOf([5, 4], 2, (row) => ({ id: row }))).toEqual({ items: [5, 4], nextCursor: null });
  });

  it.each([
    [1, 'ok'],
    [0.999, 'ok'],
    [0.97, 'degraded'],
    [0.5, 'down'],
    [null, 'none'],
  ])('a day at %s is drawn %s', (ratio, level) => {
    const { bars } = uptimeBars([{ day: '2026-03-01', checks: ratio === null ? 0 : 100, uptimeRatio: ratio }]);
    expect(bars[0]!.level).toBe(level);
    expect(bars[0]!.label).toContain('2026-03-01');
  });
});
