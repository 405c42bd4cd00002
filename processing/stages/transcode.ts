import path from 'node:path';
import { ProcessingError } from '../failures.ts';
import { runFfmpeg } from '../ffmpeg.ts';
import type { Output, SourceInfo } from '../store.ts';
import type { StageSettings } from './settings.ts';
import { defineStage } from './stage.ts';

/**
 * Every configured rendition (H.264/AAC MP4, never taller than the source) and the thumbnail in one decoding pass: the
 * decoded picture is split between the renditions' scalers and a one-frame JPEG, so the source is read only once.
 */
export const transcodeStage = defineStage({
  name: 'transcode',
  defaults: { timeout: 3_600_000, retries: 3 },
  reportsProgress: true,
  async run({ video, storage, config, timeoutMs, signal, workDir, progress }) {
    const source = video.source;
    if (!source) throw new ProcessingError('internal', 'transcode ran before probe recorded the source');
    const dir = await workDir();
    const files = config.renditions.map((rendition) => path.join(dir, `${rendition.name}.mp4`));
    const thumbnail = path.join(dir, 'thumbnail.jpg');
    const { cpuSeconds } = await runFfmpeg(transcodeArgs(storage.originalPath(video.sha256), source, config, { renditions: files, thumbnail }), { timeoutMs, signal, onProgress: progress });
    const outputs: Output[] = [];
    for (const [i, rendition] of config.renditions.entries()) {
      const bytes = await storage.size(files[i]!);
      if (!bytes) throw new ProcessingError('storage_unavailable', `ffmpeg reported success but ${rendition.name}.mp4 was not written`);
      outputs.push({ kind: 'rendition', name: `${rendition.name}.mp4`, path: files[i]!, bytes, durationSeconds: null });
    }
    const thumbnailBytes = await storage.size(thumbnail);
    if (!thumbnailBytes) throw new ProcessingError('output_invalid', 'ffmpeg reported success but wrote no thumbnail');
    outputs.push({ kind: 'thumbnail', name: 'thumbnail.jpg', path: thumbnail, bytes: thumbnailBytes, durationSeconds: null });
    return { outputs, ...(cpuSeconds !== null ? { cpuSeconds } : {}) };
  },
});

/** ffmpeg's arguments for one source: every rendition and the thumbnail from one decoding pass (the bench runs them bare). */
export function transcodeArgs(input: string, source: SourceInfo, config: StageSettings, files: { renditions: string[]; thumbnail: string }): string[] {
  const branches = config.renditions.length + 1;
  // A second in, or the first frame of clips under two seconds (a one-frame video has only that one).
  const thumbnailAt = source.durationSeconds >= 2 ? 1 : 0;
  const filters = [
    `[0:v]split=${branches}${Array.from({ length: branches }, (_, i) => `[s${i}]`).join('')}`,
    ...config.renditions.map((rendition, i) => `[s${i}]scale=-2:${Math.min(rendition.height, source.height) & ~1}[v${i}]`),
    `[s${branches - 1}]select='gte(t\\,${thumbnailAt})',scale=-2:${Math.min(360, source.height) & ~1}[thumb]`,
  ];
  const audio = source.hasAudio ? ['-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k'] : [];
  return [
    '-xerror', '-max_pixels', String(config.limits.maxPixels), '-i', input,
    '-filter_complex', filters.join(';'),
    ...config.renditions.flatMap((rendition, i) => [
      '-map', `[v${i}]`, ...audio, '-c:v', 'libx264', '-preset', config.preset, '-pix_fmt', 'yuv420p',
      ...(rendition.videoBitrate ? ['-b:v', rendition.videoBitrate] : []),
      '-movflags', '+faststart', files.renditions[i]!,
    ]),
    '-map', '[thumb]', '-frames:v', '1', '-q:v', '4', files.thumbnail,
  ];
}
