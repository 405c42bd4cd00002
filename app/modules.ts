import { alertsModule } from '../alerts/index.ts';
import { consoleModule } from '../console/index.ts';
import { processingModule } from '../processing/index.ts';
import { dashboardsModule } from '../dashboards/index.ts';
import { probeSchedulerModule, probesModule } from '../probes/index.ts';
import { statusPageModule } from '../status-page/index.ts';

/** The product: its modules in start order (stop runs in reverse). The only list of modules there is. */
export const MODULES = [processingModule, probeSchedulerModule, probesModule, alertsModule, statusPageModule, dashboardsModule, consoleModule] as const;
