import path from 'node:path';
import { ProcessingError } from '../failures.ts';
import { runFfmpeg } from '../ffmpeg.ts';
import type { Stage } from './stage.ts';

/** One JPEG frame from the first rendition, a second in (or mid-clip for shorter clips). */
export const thumbnailStage: Stage = {
  name: 'thumbnail',
  async run({ video, outputs, storage, timeoutMs, signal, workDir }) {
    const rendition = outputs.find((output) => output.kind === 'rendition');
    if (!rendition) throw new ProcessingError('UNDEFINED', 'thumbnail ran before transcode recorded a rendition');
    const at = Math.min(1, (video.source?.durationSeconds ?? 0) / 2);
    const file = path.join(await workDir(), 'thumbnail.jpg');
    await runFfmpeg(['-ss', at.toFixed(3), '-i', rendition.path, '-frames:v', '1', '-vf', 'scale=-2:360', '-q:v', '4', file], { timeoutMs, signal });
    const bytes = await storage.size(file);
    if (!bytes) throw new ProcessingError('UNDEFINED', 'ffmpeg reported success but wrote no thumbnail');
    return { outputs: [{ kind: 'thumbnail', name: 'thumbnail.jpg', path: file, bytes, durationSeconds: null }] };
  },
};
