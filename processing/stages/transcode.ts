import path from 'node:path';
import { ProcessingError } from '../failures.ts';
import { runFfmpeg } from '../ffmpeg.ts';
import type { Output } from '../videos.ts';
import type { Stage } from './stage.ts';

/** H.264/AAC MP4 per configured rendition, never taller than the source. */
export const transcodeStage: Stage = {
  name: 'transcode',
  async run({ video, storage, config, timeoutMs, signal, workDir }) {
    const source = video.source;
    if (!source) throw new ProcessingError('UNDEFINED', 'transcode ran before probe recorded the source');
    const dir = await workDir();
    const deadline = Date.now() + timeoutMs;
    const outputs: Output[] = [];
    for (const rendition of config.renditions) {
      const height = Math.min(rendition.height, source.height) & ~1;
      const file = path.join(dir, `${rendition.name}.mp4`);
      await runFfmpeg(
        [
          '-xerror', '-i', storage.originalPath(video.sha256),
          '-map', '0:v:0', ...(source.hasAudio ? ['-map', '0:a:0'] : []),
          '-vf', `scale=-2:${height}`, '-c:v', 'libx264', '-preset', config.preset, '-pix_fmt', 'yuv420p',
          ...(rendition.videoBitrate ? ['-b:v', rendition.videoBitrate] : []),
          ...(source.hasAudio ? ['-c:a', 'aac', '-b:a', '128k'] : []),
          '-movflags', '+faststart', file,
        ],
        { timeoutMs: Math.max(1, deadline - Date.now()), signal },
      );
      const bytes = await storage.size(file);
      if (bytes === null) throw new ProcessingError('RESOURCE', `ffmpeg reported success but ${rendition.name}.mp4 was not written`);
      outputs.push({ kind: 'rendition', name: `${rendition.name}.mp4`, path: file, bytes, durationSeconds: null });
    }
    return { outputs };
  },
};
