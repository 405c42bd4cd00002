import { defineModule, type Component, type ModuleContext } from '../core/lifecycle/module.ts';
import { getProcessingSignals } from '../processing/index.ts';
import { getProbeStatuses, loadProbes, runProbeNow } from '../probes/index.ts';
import { registerAdminRoutes } from './api.ts';
import { alertCommands } from './cli.ts';
import { registerAlertsReadApi } from './read-api.ts';
import { alertsConfigSchema, type AlertsHostConfig } from './config.ts';
import { alertsMigrations } from './migrations.ts';
import { createRuleSource } from './rules.ts';
import { createAlertService } from './service.ts';

export { listMaintenances, type Maintenance } from './maintenance.ts';
export { ackIncident, addMaintenance, addSilence, auditLog, endMaintenance, expireSilence, listSilences, resetIncident, AdminError, type Silence } from './admin.ts';
export { incidentDetail } from './read-api.ts';
export { selectIncidentsPage as listIncidentsPage, type Delivery, type TimelineEntry } from './read.ts';
export type { Incident, IncidentState, NotificationEvent, Observation, SignalSource } from './types.ts';

export const alertsModule = defineModule({
  name: 'alerts',
  config: { key: 'alerts', schema: alertsConfigSchema },
  roles: ['alerts'],
  migrations: alertsMigrations,
  commands: alertCommands,
  validate(config: AlertsHostConfig) {
    const probes = new Set(loadProbes(config.probes).probes.map((probe) => probe.definition.name));
    return config.alerts.rules.flatMap((rule) => (rule.kind === 'probe' && !probes.has(rule.probe) ? [`alerts rule "${rule.name}": no probe named "${rule.probe}" in probes`] : []));
  },
  setup(ctx: ModuleContext<AlertsHostConfig>): Component[] {
    if (ctx.roles.has('api')) {
      registerAdminRoutes(ctx.http, { db: ctx.db, clock: ctx.clock });
      registerAlertsReadApi(ctx.http, ctx.db);
    }
    if (!ctx.roles.has('alerts')) return [];
    const source = createRuleSource(ctx.config.alerts.rules, {
      probeStatuses: () => getProbeStatuses(ctx.db),
      processingSignals: (windowMs, now) => getProcessingSignals(ctx.db, ctx.queue, { windowMs, now }),
      registry: ctx.registry,
    });
    const service = createAlertService({
      config: ctx.config,
      db: ctx.db,
      clock: ctx.clock,
      logger: ctx.logger,
      registry: ctx.registry,
      source,
      async verifyProbe(probe) {
        const result = await runProbeNow(ctx, probe);
        return { success: result.success, ...(result.reason ? { reason: result.reason } : {}) };
      },
    });
    return [service];
  },
});
