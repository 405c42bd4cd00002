import type { VigilModule } from '../core/lifecycle/module.ts';

export const alertsModule: VigilModule = {
  name: 'alerts',
  migrations: [],
  setup: () => [],
};
