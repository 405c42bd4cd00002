import { ProcessingError } from '../failures.ts';
import { defineStage } from './stage.ts';

/** Checks every committed output is still on disk at its recorded size; the runner then marks the video published under the fence. */
export const publishStage = defineStage({
  name: 'publish',
  defaults: { timeout: 60_000, retries: 3 },
  async run({ outputs, storage }) {
    for (const output of outputs) {
      const bytes = await storage.size(output.path);
      if (bytes !== output.bytes) {
        throw new ProcessingError('storage_unavailable', `${output.name} is ${bytes === null ? 'missing' : `${bytes} bytes, expected ${output.bytes}`} in storage`);
      }
    }
    return {};
  },
});
