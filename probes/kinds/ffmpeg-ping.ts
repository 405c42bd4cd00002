import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';
import { ffprobe, resolveFfmpeg, runFfmpeg } from '../../processing/ffmpeg.ts';
import { defineKind } from '../define.ts';
import { since } from './timing.ts';

const options = z.strictObject({
  seconds: z.number().min(0.2).max(30).default(1),
  width: z.number().int().min(16).max(3840).default(320),
  height: z.number().int().min(16).max(2160).default(240),
  /** Encode plus check must finish within this (fails as "budget" even when the output is right). */
  budget: duration().default(20_000),
});

/** Encodes a generated clip with the workers' ffmpeg (H.264, as transcode does) and checks the file with ffprobe. */
export const ffmpegPing = defineKind({
  kind: 'ffmpegPing',
  options,
  async run(config, context) {
    const ffmpeg = await resolveFfmpeg();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-ffmpeg-ping-'));
    const file = path.join(dir, 'ping.mp4');
    try {
      const start = performance.now();
      const size = `${config.width}x${config.height}`;
      await runFfmpeg(
        ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25:duration=${config.seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-t', String(config.seconds), file],
        { timeoutMs: config.budget, signal: context.signal },
      );
      const encoded = performance.now();
      const info = await ffprobe(file, { timeoutMs: config.budget, signal: context.signal });
      const end = performance.now();
      const timings = { encode: since(start, encoded), probe: since(encoded, end) };
      const details = { ffmpeg: ffmpeg.version, source: ffmpeg.source, durationSeconds: info.durationSeconds, streams: info.streams };
      const video = info.streams.find((stream) => stream.type === 'video');
      if (!video || video.codec !== 'h264' || video.width !== config.width || video.height !== config.height) {
        return { success: false, failure: 'output', reason: `ffprobe found ${video ? `${video.codec} ${video.width}x${video.height}` : 'no video stream'}, expected h264 ${size}`, timings, details };
      }
      if (Math.abs(info.durationSeconds - config.seconds) > 0.5) {
        return { success: false, failure: 'output', reason: `the clip lasts ${info.durationSeconds} s, expected ${config.seconds} s`, timings, details };
      }
      if (end - start > config.budget) return { success: false, failure: 'budget', reason: `encode and check took ${Math.round(end - start)} ms, over the ${config.budget} ms budget`, timings, details };
      return { success: true, timings, details };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});
