import { diagnose } from '../diagnostics.ts';
import { ProcessingError } from '../failures.ts';
import { ffprobe, type ProbeInfo } from '../ffmpeg.ts';
import type { SourceInfo } from '../store.ts';
import type { StageSettings } from './settings.ts';
import { defineStage } from './stage.ts';

/**
 * Reads the original once, in one ffprobe run: its headers and the packets of its first minute (no decoding); every
 * later stage works from what it recorded. An admitted source is also described for the platform (codecs, rates,
 * keyframe interval and non-standard findings); a refused one fails with its code.
 */
export const probeStage = defineStage({
  name: 'probe',
  defaults: { timeout: 60_000, retries: 3 },
  async run({ video, storage, config, timeoutMs, signal }) {
    const file = storage.originalPath(video.sha256);
    const info = await ffprobe(file, { timeoutMs, signal, keyframes: true });
    const source = admitSource(info, config.limits);
    return { source, diagnostics: diagnose(info.raw, info.keyframeTimes) };
  },
});

const clock = (seconds: number) => {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 3600)}:${String(Math.floor(whole / 60) % 60).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
};

/** What the probe found, or the INPUT_INVALID code that no retry can change: no picture, too small, too big, too long. */
export function admitSource(info: ProbeInfo, limits: StageSettings['limits']): SourceInfo {
  const picture = info.streams.find((stream) => stream.type === 'video');
  if (!picture) throw new ProcessingError('no_video_stream', `the file (${info.formatName}) has no video stream`);
  const width = picture.width ?? 0;
  const height = picture.height ?? 0;
  const frames = picture.frames ?? 0;
  const size = { width, height };
  // A stream with no picture size is what ffprobe reports when it mistakes arbitrary bytes for some codec.
  if (width === 0 || height === 0) throw new ProcessingError('not_a_video', `the file (${info.formatName}) has a video stream of ${width}x${height}`);
  if (width < limits.minWidth || height < limits.minHeight) {
    throw new ProcessingError('too_small', `the picture is ${width}x${height}, below ${limits.minWidth}x${limits.minHeight}`, {
      facts: { ...size, minWidth: limits.minWidth, minHeight: limits.minHeight },
    });
  }
  if (width * height > limits.maxPixels) {
    throw new ProcessingError('too_many_pixels', `the picture is ${width}x${height} = ${width * height} pixels, above ${limits.maxPixels}`, {
      facts: { ...size, maxPixels: limits.maxPixels },
    });
  }
  if (frames > limits.maxFrames) {
    throw new ProcessingError('too_many_frames', `${frames} frames, above ${limits.maxFrames}`, { facts: { frames, maxFrames: limits.maxFrames } });
  }
  if (!(info.durationSeconds > 0)) throw new ProcessingError('corrupt_stream', `the file (${info.formatName}) has no duration`);
  if (info.durationSeconds * 1000 > limits.maxDuration) {
    throw new ProcessingError('too_long', `${info.durationSeconds.toFixed(1)} s, above ${limits.maxDuration / 1000} s`, {
      facts: { duration: clock(info.durationSeconds), maxDuration: clock(limits.maxDuration / 1000) },
    });
  }
  return { durationSeconds: info.durationSeconds, formatName: info.formatName, width, height, frames, hasAudio: info.streams.some((stream) => stream.type === 'audio') };
}
