import { ProcessingError } from '../failures.ts';
import { ffprobe } from '../ffmpeg.ts';
import type { Output } from '../videos.ts';
import type { Stage } from './stage.ts';

/** An ffmpeg exit code of 0 is not proof: every rendition must probe, carry its streams and last as long as the source. */
export const verifyStage: Stage = {
  name: 'verify',
  async run({ video, outputs, config, timeoutMs, signal }) {
    const source = video.source;
    if (!source) throw new ProcessingError('UNDEFINED', 'verify ran before probe recorded the source');
    const renditions = outputs.filter((output) => output.kind === 'rendition');
    if (renditions.length !== config.renditions.length) {
      throw new ProcessingError('UNDEFINED', `verify found ${renditions.length} rendition(s), expected ${config.renditions.length}`);
    }
    if (!outputs.some((output) => output.kind === 'thumbnail')) throw new ProcessingError('UNDEFINED', 'verify found no thumbnail');
    const tolerance = config.durationTolerance / 1000;
    const verified: Output[] = [];
    for (const rendition of renditions) {
      const info = await ffprobe(rendition.path, { timeoutMs, signal }).catch((error: unknown) => {
        throw new ProcessingError('UNDEFINED', `verify: ${rendition.name} does not probe: ${(error as Error).message}`);
      });
      if (!info.streams.some((stream) => stream.type === 'video' && stream.codec === 'h264')) {
        throw new ProcessingError('UNDEFINED', `verify: ${rendition.name} has no H.264 video stream`);
      }
      if (source.hasAudio && !info.streams.some((stream) => stream.type === 'audio' && stream.codec === 'aac')) {
        throw new ProcessingError('UNDEFINED', `verify: ${rendition.name} lost the audio stream`);
      }
      const off = Math.abs(info.durationSeconds - source.durationSeconds);
      if (off > tolerance) {
        throw new ProcessingError(
          'UNDEFINED',
          `verify: ${rendition.name} lasts ${info.durationSeconds.toFixed(2)} s, the source ${source.durationSeconds.toFixed(2)} s (tolerance ${tolerance} s)`,
        );
      }
      verified.push({ ...rendition, durationSeconds: info.durationSeconds });
    }
    return { outputs: verified };
  },
};
