import { z } from 'zod';
import { duration, formatDuration } from '../../core/config/duration.ts';
import { Secret } from '../../core/config/secret.ts';
import { defineKind } from '../define.ts';
import { readHeartbeat } from '../heartbeats.ts';

const options = z.strictObject({
  /** The job calls /api/v1/heartbeats/<token> (POST, GET or HEAD); treat it like a password. */
  token: z
    .union([z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'use 16 to 128 letters, digits, _ or -'), z.instanceof(Secret)])
    .transform((value) => (typeof value === 'string' ? new Secret(value) : value)),
  /** How often the job pushes. */
  period: duration(),
  /** Extra silence tolerated after a period before it counts as missed. */
  grace: duration().default(0),
  /** Longest a run may go between /start and its ping. */
  maxRuntime: duration().optional(),
});

/** A job pushes heartbeats; silence past period + grace, a reported failure or an overlong run is a failure. */
export const heartbeat = defineKind({
  kind: 'heartbeat',
  options,
  async run(config, context) {
    const now = context.clock.now();
    const beat = await readHeartbeat(context.db, config.token.reveal(), now);
    const iso = (time: number) => new Date(time).toISOString();
    const details = { lastPing: beat.lastPing && iso(beat.lastPing), lastStart: beat.lastStart && iso(beat.lastStart), lastFail: beat.lastFail && iso(beat.lastFail) };
    if (beat.lastFail !== null && beat.lastFail >= (beat.lastPing ?? -Infinity)) {
      return { success: false, failure: 'job_failed', reason: `the job reported a failure at ${iso(beat.lastFail)}${beat.failMessage ? `: ${beat.failMessage}` : ''}`, details };
    }
    if (config.maxRuntime !== undefined && beat.lastStart !== null && beat.lastStart > (beat.lastPing ?? -Infinity) && now - beat.lastStart > config.maxRuntime) {
      return { success: false, failure: 'overrun', reason: `the job started at ${iso(beat.lastStart)} and has not finished within ${formatDuration(config.maxRuntime)}`, details };
    }
    const since = beat.lastPing ?? beat.armedAt;
    if (now - since > config.period + config.grace) {
      return { success: false, failure: 'silence', reason: `no heartbeat since ${iso(since)}${beat.lastPing === null ? ' (none ever received)' : ''}; expected every ${formatDuration(config.period)} + ${formatDuration(config.grace)} grace`, details };
    }
    return { success: true, details };
  },
});
