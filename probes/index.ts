import { defineModule, type Component } from '../core/lifecycle/module.ts';
import { registerProbeApi } from './api.ts';
import { probeCommands } from './cli.ts';
import { PROBE_SCHEDULER_ENV, probeSchedulerConfigSchema, probesConfigSchema, type ProbeSchedulerConfig } from './config.ts';
import { registerHeartbeatRoutes } from './heartbeats.ts';
import { loadProbes, type LoadedProbe } from './loader.ts';
import { localProbeView } from './local.ts';
import { locationSilenceMetric, probeMetrics } from './metrics.ts';
import { probesMigrations } from './migrations.ts';
import { createRecorder } from './record.ts';
import { environmentOf } from './run-now.ts';
import { createScheduler } from './scheduler.ts';

export type { KindContext, KindOutcome, ProbeResult, ProbeRunContext, ProbeState, ProbeStatus, UptimeDay } from './types.ts';
export type { AnyProbeDefinition, InvalidProbeDefinition, ProbeConstructor, ProbeDefinition, ProbeKind, Schedule } from './define.ts';
export type { KindName, KnownProbeDefinition } from './registry.ts';
export { getProbeStatuses, getRecentResults, getUptime } from './results.ts';
export { localProbeView, type LocalProbeView } from './local.ts';
export { probeSummaries, type ProbeSummary } from './api.ts';
export { selectResultsPage as getResultsPage } from './store.ts';
export { loadProbes } from './loader.ts';
export { findProbe, runProbeNow } from './run-now.ts';
export * from './kinds/index.ts';
export { assert } from './assertions.ts';
export type { ProbeSchedulerConfig, ProbesConfig, ProbesHostConfig } from './config.ts';

function heartbeatTokens(probes: readonly LoadedProbe[]): Set<string> {
  return new Set(
    probes
      .map(({ definition }) => definition)
      .filter((definition) => definition.kind === 'heartbeat')
      .map((definition) => definition.options.token.reveal()),
  );
}

/** The scheduler's limits, a section of its own (`probeScheduler`) beside the list of probes; no components. */
export const probeSchedulerModule = defineModule({
  name: 'probe-scheduler',
  config: { key: 'probeScheduler', schema: probeSchedulerConfigSchema, env: PROBE_SCHEDULER_ENV },
  migrations: [],
  setup: () => [],
});

export const probesModule = defineModule<'probes', typeof probesConfigSchema, { probeScheduler: ProbeSchedulerConfig }>({
  name: 'probes',
  config: { key: 'probes', schema: probesConfigSchema },
  roles: ['probes'],
  migrations: probesMigrations,
  validate: (config) => loadProbes(config.probes).problems,
  describe: (config) => `${config.probes.length} probe definition(s)`,
  setup(ctx): Component[] {
    const { probes, problems, warnings } = loadProbes(ctx.config.probes);
    for (const problem of problems) ctx.logger.error({ problem }, 'probe definition skipped');
    for (const warning of warnings) ctx.logger.warn({ warning }, 'probe definition runs, but check it');
    locationSilenceMetric(ctx.registry, ctx.db, ctx.clock, new Set(probes.map(({ definition }) => definition.name)));
    if (ctx.roles.has('api')) {
      registerHeartbeatRoutes(ctx.http, { db: ctx.db, clock: ctx.clock, tokens: heartbeatTokens(probes) });
      registerProbeApi(ctx.http, ctx);
    }
    if (!ctx.roles.has('probes')) return [];
    const metrics = probeMetrics(ctx.registry);
    const { concurrency, targetConcurrency: perTarget, buffer } = ctx.config.probeScheduler;
    const limits = { ...(concurrency ? { concurrency } : {}), ...(perTarget ? { perTarget } : {}) };
    // The embedded store is held by this process: no other agent claims slots or writes probe states.
    const alone = ctx.db.kind === 'pglite';
    const recorder = createRecorder({ db: ctx.db, metrics, logger: ctx.logger, clock: ctx.clock, local: localProbeView(ctx.registry), ...(buffer ? { capacity: buffer } : {}), alone });
    const scheduler = createScheduler({ probes, environment: environmentOf(ctx), db: ctx.db, metrics, limits, record: (loaded, run) => recorder.record(loaded, run), store: recorder, alone });
    return [
      {
        ...scheduler,
        async stop(deadline) {
          await scheduler.stop?.(deadline);
          await recorder.stop();
        },
      },
    ];
  },
  commands: probeCommands,
});
