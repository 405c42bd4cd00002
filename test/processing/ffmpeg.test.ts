import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessingError } from '../../processing/failures.ts';
import { ffprobe, resolveFfmpeg, runFfmpeg } from '../../processing/ffmpeg.ts';
import { testClips } from '../support/clips.ts';

describe('ffmpeg runner', () => {
  const { clip } = testClips({ clip: { seconds: 2, width: 320, height: 240 } });
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-ffmpeg-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prefers FFMPEG_PATH, then a system ffmpeg on PATH, and only then the bundled build, with a warning naming its age', async () => {
    const info = await resolveFfmpeg();
    expect(info).toMatchObject({ source: 'system', ffmpegPath: '/usr/bin/ffmpeg', ffprobePath: '/usr/bin/ffprobe', warning: null });
    expect(info.version).not.toBe('unknown');
    const bundled = await resolveFfmpeg({ PATH: '' });
    expect(bundled.source).toBe('installer');
    expect(bundled.builtYear).toBeLessThan(2020);
    expect(bundled.warning).toMatch(new RegExp(`built ${bundled.builtYear}, \\d+ years ago.*FFMPEG_PATH`));
    const overridden = await resolveFfmpeg({ FFMPEG_PATH: info.ffmpegPath, FFPROBE_PATH: info.ffprobePath });
    expect(overridden.source).toBe('FFMPEG_PATH');
    await expect(resolveFfmpeg({ FFMPEG_PATH: path.join(dir, 'missing') })).rejects.toThrow(/FFMPEG_PATH points at .*missing/);
  });

  it('generates an H.264/AAC clip that ffprobe reads back', async () => {
    const info = await ffprobe(clip);
    expect(info.durationSeconds).toBeGreaterThan(1.9);
    expect(info.durationSeconds).toBeLessThan(2.2);
    expect(info.streams).toEqual(expect.arrayContaining([{ type: 'video', codec: 'h264', width: 320, height: 240, frames: 50 }, { type: 'audio', codec: 'aac' }]));
  });

  it.each([
    ['random bytes', () => randomBytes(64 * 1024)],
    ['a zero-byte file', () => Buffer.alloc(0)],
    ['a truncated MP4', () => readFileSync(clip).subarray(0, 4000)],
  ])('classifies %s as INPUT_INVALID', async (_name, bytes) => {
    const file = path.join(dir, `bad-${randomBytes(3).toString('hex')}`);
    writeFileSync(file, bytes());
    const error = await runFfmpeg(['-i', file, '-f', 'null', '-'], { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessingError);
    expect((error as ProcessingError).failureClass).toBe('INPUT_INVALID');
  });

  it('kills ffmpeg over its budget and reports TIMEOUT', async () => {
    const started = Date.now();
    const error = await runFfmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc=duration=60', '-f', 'null', '-'], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect((error as ProcessingError).failureClass).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('reports an unwritable output as RESOURCE', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    const error = await runFfmpeg(['-i', clip, '-c', 'copy', path.join(blocker, 'out.mp4')], { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect((error as ProcessingError).failureClass).toBe('RESOURCE');
  });
});
