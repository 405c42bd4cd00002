import { alertsModule } from '../alerts/index.ts';
import { consoleModule } from '../console/index.ts';
import { processingModule } from '../processing/index.ts';
import { dashboardsModule } from '../dashboards/index.ts';
import { probesModule } from '../probes/index.ts';

/** The product: its modules in start order (stop runs in reverse). The only list of modules there is. */
export const MODULES = [processingModule, probesModule, alertsModule, dashboardsModule, consoleModule] as const;
