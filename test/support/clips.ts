import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, inject } from 'vitest';
import { generateTestClip, runFfmpeg } from '../../processing/ffmpeg.ts';

export type ClipSpec = Parameters<typeof generateTestClip>[1];

/**
 * Test clips by name, made by ffmpeg before the file's tests run (`const { clip } = testClips({ clip: { seconds: 3,
 * width: 320, height: 240 } })`). The paths are known at once; the files exist from the file's beforeAll on. A clip is
 * made once per run, whichever file asks first, and shared read-only (the global setup's directory holds them).
 */
export function testClips<Name extends string>(specs: Record<Name, ClipSpec>): Record<Name, string> {
  const dir = inject('clipDir');
  const paths = {} as Record<Name, string>;
  for (const [name, spec] of Object.entries(specs) as Array<[Name, ClipSpec]>) {
    paths[name] = path.join(dir, `${createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16)}.mp4`);
  }
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    for (const [name, spec] of Object.entries(specs) as Array<[Name, ClipSpec]>) {
      if (existsSync(paths[name])) continue;
      // Made aside and renamed into place, so a worker making the same clip at once never reads a partial file.
      const partial = `${paths[name]}.${process.pid}.partial.mp4`;
      await generateTestClip(partial, spec);
      renameSync(partial, paths[name]);
    }
  }, 180_000);
  return paths;
}

/**
 * `source` played `times` times over into `file`, by stream copy: a long clip for the cost of a short one (ffmpeg
 * spends about 25 CPU-seconds drawing and encoding 90 s of 720p, a fraction of one copying 30 s three times).
 */
export async function repeatClip(source: string, times: number, file: string): Promise<void> {
  await runFfmpeg(['-stream_loop', String(times - 1), '-i', source, '-c', 'copy', '-movflags', '+faststart', file], { timeoutMs: 60_000 });
}

/**
 * An upload ffprobe always reads as no media at all (not_a_video), unlike random bytes, which it now and then takes
 * for an audio-only stream (no_video_stream). Each call's bytes differ, so uploads are never the same file.
 */
export function notAVideo(bytes = 20_000): Buffer {
  const line = `These are meeting notes, not a video (${randomBytes(8).toString('hex')}).\n`;
  return Buffer.from(line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes));
}

