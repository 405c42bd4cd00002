import { ProcessingError } from '../failures.ts';
import { ffprobe } from '../ffmpeg.ts';
import type { Stage } from './stage.ts';

/** Reads the original's container and streams; a file without a video stream or duration is not a video. */
export const probeStage: Stage = {
  name: 'probe',
  async run({ video, storage, timeoutMs, signal }) {
    const info = await ffprobe(storage.originalPath(video.sha256), { timeoutMs, signal });
    const picture = info.streams.find((stream) => stream.type === 'video');
    if (!picture) throw new ProcessingError('INPUT_INVALID', `the file (${info.formatName}) has no video stream`);
    if (!(info.durationSeconds > 0)) throw new ProcessingError('INPUT_INVALID', `the file (${info.formatName}) has no duration`);
    return {
      source: {
        durationSeconds: info.durationSeconds,
        formatName: info.formatName,
        width: picture.width ?? 0,
        height: picture.height ?? 0,
        hasAudio: info.streams.some((stream) => stream.type === 'audio'),
      },
    };
  },
};
