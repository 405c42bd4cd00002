import { ProcessingError } from '../failures.ts';
import type { Stage } from './stage.ts';

/** The upload request already put the bytes at their content address; this checks they are there, whole and non-empty. */
export const storeStage: Stage = {
  name: 'store',
  async run({ video, storage }) {
    const size = await storage.size(storage.originalPath(video.sha256));
    if (size === null) throw new ProcessingError('RESOURCE', `the stored original ${video.sha256} is missing from ${storage.root}`);
    if (size === 0) throw new ProcessingError('INPUT_INVALID', 'the upload is empty (0 bytes)');
    return {};
  },
};
