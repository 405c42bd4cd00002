import { ProcessingError } from '../failures.ts';
import { ffprobe } from '../ffmpeg.ts';
import type { Output } from '../store.ts';
import { defineStage } from './stage.ts';

/** An ffmpeg exit code of 0 is not proof: every rendition must probe, carry its streams and last as long as the source. */
export const verifyStage = defineStage({
  name: 'verify',
  defaults: { timeout: 120_000, retries: 3 },
  async run({ video, outputs, config, timeoutMs, signal }) {
    const source = video.source;
    if (!source) throw new ProcessingError('internal', 'verify ran before probe recorded the source');
    const renditions = outputs.filter((output) => output.kind === 'rendition');
    if (renditions.length !== config.renditions.length) {
      throw new ProcessingError('output_invalid', `verify found ${renditions.length} rendition(s), expected ${config.renditions.length}`);
    }
    if (!outputs.some((output) => output.kind === 'thumbnail')) throw new ProcessingError('output_invalid', 'verify found no thumbnail');
    const tolerance = config.durationTolerance / 1000;
    const verified: Output[] = [];
    for (const rendition of renditions) {
      // A storage or time failure keeps its own code; only an unreadable rendition is a bad output.
      const info = await ffprobe(rendition.path, { timeoutMs, signal }).catch((error: unknown) => {
        if (error instanceof ProcessingError && error.code !== 'not_a_video') throw error;
        throw new ProcessingError('output_invalid', `verify: ${rendition.name} does not probe: ${(error as Error).message}`);
      });
      if (!info.streams.some((stream) => stream.type === 'video' && stream.codec === 'h264')) {
        throw new ProcessingError('output_invalid', `verify: ${rendition.name} has no H.264 video stream`);
      }
      if (source.hasAudio && !info.streams.some((stream) => stream.type === 'audio' && stream.codec === 'aac')) {
        throw new ProcessingError('output_invalid', `verify: ${rendition.name} lost the audio stream`);
      }
      const off = Math.abs(info.durationSeconds - source.durationSeconds);
      // A one-frame source has no meaningful duration to compare beyond a frame.
      if (off > Math.max(tolerance, source.frames && source.frames <= 1 ? source.durationSeconds : 0)) {
        throw new ProcessingError(
          'output_invalid',
          `verify: ${rendition.name} lasts ${info.durationSeconds.toFixed(2)} s, the source ${source.durationSeconds.toFixed(2)} s (tolerance ${tolerance} s)`,
        );
      }
      verified.push({ ...rendition, durationSeconds: info.durationSeconds });
    }
    return { outputs: verified };
  },
});
