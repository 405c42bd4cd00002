import { ProcessingError } from '../failures.ts';
import { defineStage } from './stage.ts';

/** The upload request already put the bytes at their content address; this checks they are there, whole and non-empty. */
export const storeStage = defineStage({
  name: 'store',
  defaults: { timeout: 60_000, retries: 3 },
  async run({ video, storage }) {
    const size = await storage.size(storage.originalPath(video.sha256));
    if (size === null) throw new ProcessingError('storage_unavailable', `the stored original ${video.sha256} is missing from ${storage.root}`);
    if (size === 0) throw new ProcessingError('empty_file', 'the upload is empty (0 bytes)');
    return {};
  },
});
