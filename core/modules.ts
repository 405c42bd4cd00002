import { alertsModule } from '../alerts/index.ts';
import { processingModule } from '../processing/index.ts';
import { probesModule } from '../probes/index.ts';
import type { Migration } from './db/index.ts';
import type { VigilModule } from './lifecycle/module.ts';

/** The product's modules in start order; stop runs in reverse. */
export const MODULES: readonly VigilModule[] = [processingModule, probesModule, alertsModule];

export const ALL_MIGRATIONS: readonly Migration[] = MODULES.flatMap((module) => module.migrations);
