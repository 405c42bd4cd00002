import type { VigilModule } from '../core/lifecycle/module.ts';

export const processingModule: VigilModule = {
  name: 'processing',
  migrations: [],
  setup: () => [],
};
