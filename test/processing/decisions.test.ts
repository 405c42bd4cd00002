import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { uploadErrorAnswer } from '../../processing/api.ts';
import { processingConfigSchema } from '../../processing/config.ts';
import { classify, classifyExit, failureCodeReference, FAILURE_CODE_NAMES, FAILURE_CODES, ProcessingError, type FailureCode } from '../../processing/failures.ts';
import { takeoverMs } from '../../processing/index.ts';
import { admitSource } from '../../processing/stages/probe.ts';
import { UploadTooLargeError } from '../../processing/storage.ts';
import { decideAfterFailure, retryDelayMs } from '../../processing/worker.ts';
import { USER_TEXT_LEAKS } from './support.ts';

const limits = processingConfigSchema.parse({}).limits;
const errno = (code: string) => Object.assign(new Error(`${code}: operation failed, mkdir '/srv/vigil/storage/derived/ab'`), { code });

describe('failure classification', () => {
  it.each<[string, string, FailureCode]>([
    ['random bytes', '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x2a73f240] moov atom not found\n/srv/storage/originals/c4/c4aa: Invalid data found when processing input', 'not_a_video'],
    ['unknown container', 'x.bin: Invalid data found when processing input', 'not_a_video'],
    ['truncated stream', '[h264 @ 0x55d0] Invalid NAL unit size (1206 > 1000).\n[h264 @ 0x55d0] error while decoding MB 3 4', 'corrupt_stream'],
    ['partial file', '[mov,mp4 @ 0x1] stream 0, offset 0x30: partial file', 'corrupt_stream'],
    ['audio only', 'Stream map \'0:v:0\' matches no streams.', 'no_video_stream'],
    ['missing decoder', 'Decoder (codec av1) not found for input stream #0:0', 'unsupported_codec'],
    ['full disk', 'Error writing trailer of out.mp4: No space left on device', 'storage_unavailable'],
    ['unwritable output', '/srv/x/out.mp4: Permission denied', 'storage_unavailable'],
    ['picture too big', '[mjpeg @ 0x1] Picture size 16000x16000 is invalid', 'too_many_pixels'],
    ['anything else', 'Conversion failed!', 'internal'],
  ])('ffmpeg output for %s is %s', (_name, stderr, code) => {
    const error = classifyExit('ffmpeg', 1, stderr);
    expect(error.code).toBe(code);
    expect(error.failureClass).toBe(FAILURE_CODES[code].class);
    // The technical detail is kept for admins, the user sentence carries none of it.
    expect(error.message).toContain('ffmpeg exited with 1');
    expect(error.userMessage).not.toMatch(USER_TEXT_LEAKS);
  });

  it.each<[string, unknown, FailureCode]>([
    ['ENOSPC', errno('ENOSPC'), 'storage_unavailable'],
    ['EPERM', errno('EPERM'), 'storage_unavailable'],
    ['EROFS', errno('EROFS'), 'storage_unavailable'],
    ['a plain error', new Error('boom'), 'internal'],
    ['a string', 'boom', 'internal'],
    ['a ProcessingError', new ProcessingError('too_long', 'over'), 'too_long'],
  ])('a thrown %s is %s', (_name, thrown, code) => {
    expect(classify(thrown).code).toBe(code);
  });

  it('the README carries the failure-code reference generated from the table', () => {
    expect(readFileSync(path.join(import.meta.dirname, '../../README.md'), 'utf8')).toContain(failureCodeReference());
  });

  it('every code has a user sentence without paths, addresses or tool output, and a cause and remedy for the reference', () => {
    const facts = { width: 1, height: 1, minWidth: 16, minHeight: 16, maxPixels: 67108864, frames: 2e6, maxFrames: 1e6, duration: '5:00:00', maxDuration: '4:00:00' };
    for (const code of FAILURE_CODE_NAMES) {
      const entry = FAILURE_CODES[code];
      const sentence = new ProcessingError(code, '[h264 @ 0x55d0] /srv/vigil/storage/x: EPERM', { facts }).userMessage;
      expect(sentence, code).toMatch(/^[A-Z].*\.$/);
      expect(sentence, code).not.toMatch(USER_TEXT_LEAKS);
      expect(sentence, code).not.toContain('undefined');
      expect(entry.cause.length, code).toBeGreaterThan(10);
      expect(entry.remedy.length, code).toBeGreaterThan(5);
    }
  });
});

describe('what the probe admits', () => {
  const video = (width: number, height: number, frames = 75) => ({ type: 'video' as const, codec: 'h264', width, height, frames });
  const audio = { type: 'audio' as const, codec: 'aac' };
  it.each<[string, Parameters<typeof admitSource>[0], FailureCode | null]>([
    ['a 640x360 clip', { durationSeconds: 3, formatName: 'mov,mp4', streams: [video(640, 360), audio] }, null],
    ['a one-frame clip', { durationSeconds: 0.04, formatName: 'mov,mp4', streams: [video(320, 240, 1)] }, null],
    ['audio only', { durationSeconds: 3, formatName: 'mp3', streams: [audio] }, 'no_video_stream'],
    ['no duration', { durationSeconds: 0, formatName: 'mov,mp4', streams: [video(640, 360)] }, 'corrupt_stream'],
    ['1 pixel high', { durationSeconds: 3, formatName: 'mov,mp4', streams: [video(640, 1)] }, 'too_small'],
    ['random bytes taken for a 0x0 picture', { durationSeconds: 12, formatName: 'mpeg', streams: [video(0, 0)] }, 'not_a_video'],
    ['16000x16000', { durationSeconds: 0.04, formatName: 'image2', streams: [video(16000, 16000, 1)] }, 'too_many_pixels'],
    ['8192x8192 exactly', { durationSeconds: 1, formatName: 'mov,mp4', streams: [video(8192, 8192, 25)] }, null],
    ['two million frames', { durationSeconds: 3600, formatName: 'mov,mp4', streams: [video(320, 240, 2_000_000)] }, 'too_many_frames'],
    ['five hours', { durationSeconds: 5 * 3600, formatName: 'mov,mp4', streams: [video(320, 240, 1000)] }, 'too_long'],
  ])('%s: %s', (_name, info, code) => {
    if (code === null) {
      expect(admitSource(info, limits)).toMatchObject({ durationSeconds: info.durationSeconds, formatName: info.formatName });
      return;
    }
    const error = (() => {
      try {
        admitSource(info, limits);
      } catch (caught) {
        return caught as ProcessingError;
      }
      return undefined;
    })();
    expect(error?.code).toBe(code);
    expect(error?.failureClass).toBe('INPUT_INVALID');
  });

  it('quotes the limits in the user sentence', () => {
    expect(() => admitSource({ durationSeconds: 5 * 3600, formatName: 'mp4', streams: [video(320, 240, 10)] }, limits)).toThrow(
      expect.objectContaining({ userMessage: 'The video lasts 5:00:00; the longest we accept is 4:00:00.' }),
    );
  });
});

describe('retry policy', () => {
  const timeout = new ProcessingError('timed_out', 'x');
  const bad = new ProcessingError('not_a_video', 'x');
  it.each<[string, ProcessingError, { failures: number; interruptions: number }, number, 'retry' | 'fail']>([
    ['first timeout', timeout, { failures: 1, interruptions: 0 }, 3, 'retry'],
    ['last allowed retry', timeout, { failures: 3, interruptions: 0 }, 3, 'retry'],
    ['over the retries', timeout, { failures: 4, interruptions: 0 }, 3, 'fail'],
    ['interruptions do not count', timeout, { failures: 1, interruptions: 12 }, 1, 'retry'],
    ['bad input at once', bad, { failures: 1, interruptions: 0 }, 3, 'fail'],
    ['no retries configured', timeout, { failures: 1, interruptions: 0 }, 0, 'fail'],
  ])('%s', (_name, failure, counts, retries, decision) => {
    expect(decideAfterFailure(failure, counts, retries)).toBe(decision);
  });

  it.each([
    [1, 0, 1000],
    [1, 1, 1500],
    [2, 0, 2000],
    [3, 1, 6000],
    [20, 0, 600_000],
  ])('retry %i with jitter %d waits %d ms (retryDelay 1 s)', (failures, random, expected) => {
    expect(retryDelayMs(1000, failures, random)).toBe(expected);
  });

  it('hands a dead worker\'s job on within a minute at the default lease, and says when a lease would not', () => {
    expect(takeoverMs(processingConfigSchema.parse({}))).toBeLessThanOrEqual(60_000);
    expect(takeoverMs(processingConfigSchema.parse({ lease: '15m' }))).toBeGreaterThan(60_000);
  });
});

describe('upload errors', () => {
  const sqlstate = (code: string) => Object.assign(new Error('terminating connection due to administrator command'), { code });
  it.each<[string, unknown, number | undefined, string | undefined, number | undefined]>([
    ['over the size limit', new UploadTooLargeError('too big'), 413, 'UPLOAD_TOO_LARGE', undefined],
    ['a second file part', Object.assign(new Error('reach files limit'), { code: 'FST_FILES_LIMIT', statusCode: 413 }), 400, 'BAD_REQUEST', undefined],
    ['a cut body', new Error('Unexpected end of form'), 400, 'MALFORMED_MULTIPART', undefined],
    ['unwritable storage', errno('EACCES'), 503, 'RESOURCE', 30],
    ['a full disk', errno('ENOSPC'), 503, 'RESOURCE', 30],
    ['the database refusing connections', Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }), 503, 'UNAVAILABLE', 10],
    ['the database shutting down', sqlstate('57P01'), 503, 'UNAVAILABLE', 10],
    ['the database pool timing out', new Error('timeout exceeded when trying to connect'), 503, 'UNAVAILABLE', 10],
    ['our own 400', Object.assign(new Error('email: bad'), { statusCode: 400 }), undefined, undefined, undefined],
    ['a bug', new TypeError('x is undefined'), undefined, undefined, undefined],
  ])('%s', (_name, error, status, code, retryAfterSeconds) => {
    const answer = uploadErrorAnswer(error, 1024);
    expect(answer?.status).toBe(status);
    expect(answer?.code).toBe(code);
    expect(answer?.retryAfterSeconds).toBe(retryAfterSeconds);
    if (answer) expect(answer.message).not.toMatch(/\/srv\/|10\.0\.0\.5|ECONN|57P01/);
    // RETRYING: the person is told the video was not kept and when to send it again.
    if (retryAfterSeconds) expect(answer!.message).toMatch(new RegExp(`not saved .*upload it again in ${retryAfterSeconds} seconds\\.$`));
  });
});
