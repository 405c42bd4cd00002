import type { VigilModule } from '../core/lifecycle/module.ts';

export const probesModule: VigilModule = {
  name: 'probes',
  migrations: [],
  setup: () => [],
};
