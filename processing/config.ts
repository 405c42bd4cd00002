import { z } from 'zod';

// The processing section of vigil.config.ts. Owned by processing/; core/config composes it.
export const processingConfigSchema = z
  .strictObject({
    storageDir: z.string().min(1).default('.vigil/storage'),
  })
  .default({ storageDir: '.vigil/storage' });

export type ProcessingConfig = z.output<typeof processingConfigSchema>;
