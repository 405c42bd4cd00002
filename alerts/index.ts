import { defineModule, type Component, type ModuleContext } from '../core/lifecycle/module.ts';
import { processingSignalParts } from '../processing/index.ts';
import { getProbeStatuses, loadProbes, localProbeView, runProbeNow } from '../probes/index.ts';
import { registerAdminRoutes } from './api.ts';
import { alertCommands } from './cli.ts';
import { registerAlertsReadApi } from './read-api.ts';
import { alertsConfigSchema, type AlertsHostConfig } from './config.ts';
import { fingerprintOf } from './incidents.ts';
import { alertsMigrations } from './migrations.ts';
import { createRuleSource } from './rules/index.ts';
import { createAlertService, receiverProblems } from './service.ts';
import { signalState } from './store.ts';

export { maintenancesOverlapping as listMaintenances, type Maintenance } from './store.ts';
export { ackIncident, addMaintenance, addSilence, auditLog, endMaintenance, expireSilence, listIncidents, listSilences, rescheduleMaintenance, resetIncident, AdminError, type Silence } from './admin.ts';
export { incidentDetail } from './read-api.ts';
export { selectIncidentsPage as listIncidentsPage, type Delivery as IncidentDelivery } from './store.ts';
export type { TimelineEntry } from './timeline.ts';
export type { Incident, IncidentState, NotificationEvent, Observation, SignalSource } from './types.ts';
export type { Labels } from './config.ts';
// What a receiver written in another module needs: one file exporting defineReceiver(...), one line in receivers/index.ts.
export { DeliveryError, httpDeliveryError } from '../core/outbox.ts';
export { defineReceiver, ALL_EVENTS, FIRING_EVENTS, type Delivery, type Receiver, type ReceiverContext, type ReceiverType } from './receivers/receiver.ts';
export { factsOf, headlineOf, htmlOf, replyOf, serviceOf, severityOf, subjectOf, textOf, whatOf, type IncidentLinks, type MessageContext, type Severity } from './messages.ts';

export const alertsModule = defineModule({
  name: 'alerts',
  config: { key: 'alerts', schema: alertsConfigSchema },
  roles: ['alerts'],
  migrations: alertsMigrations,
  commands: alertCommands,
  validate(config: AlertsHostConfig) {
    const probes = new Set(loadProbes(config.probes).probes.map((probe) => probe.definition.name));
    const unknownProbes = config.alerts.rules.flatMap((rule) => (rule.kind === 'probe' && !probes.has(rule.probe) ? [`alerts rule "${rule.name}": no probe named "${rule.probe}" in probes`] : []));
    return [...unknownProbes, ...receiverProblems(config)];
  },
  setup(ctx: ModuleContext<AlertsHostConfig>): Component[] {
    if (ctx.roles.has('api')) {
      registerAdminRoutes(ctx.http, { db: ctx.db, clock: ctx.clock, adminToken: ctx.config.server.adminToken });
      registerAlertsReadApi(ctx.http, ctx.db);
    }
    if (!ctx.roles.has('alerts')) return [];
    const source = createRuleSource(ctx.config.alerts.rules, {
      probeStatuses: () => getProbeStatuses(ctx.db),
      processingSignals: (windowMs, now) => processingSignalParts(ctx.db, { windowMs, now }),
      storedActive: async (rule, labels) => (await signalState(ctx.db, fingerprintOf(rule, labels)))?.active,
      registry: ctx.registry,
    });
    const local = localProbeView(ctx.registry);
    const localSource = createRuleSource(
      ctx.config.alerts.rules.filter((rule) => rule.kind === 'probe'),
      {
        probeStatuses: async () => local.statuses(ctx.clock.now()),
        processingSignals: () => {
          const fromStore = () => Promise.reject(new Error('processing signals are read from the store'));
          return { videos: fromStore, queues: fromStore, timeToPublish: fromStore };
        },
        registry: ctx.registry,
      },
    );
    const service = createAlertService({
      config: ctx.config,
      local: { source: localSource, pending: () => local.pending() },
      decided: (listener) => local.onDecided(listener),
      db: ctx.db,
      clock: ctx.clock,
      logger: ctx.logger,
      registry: ctx.registry,
      source,
      publicUrl: ctx.publicUrl,
      async verifyProbe(probe) {
        const result = await runProbeNow(ctx, probe);
        return { success: result.success, ...(result.reason ? { reason: result.reason } : {}) };
      },
    });
    return [service];
  },
});
