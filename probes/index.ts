import type { Component, ModuleContext, VigilModule } from '../core/lifecycle/module.ts';
import { probeCommands } from './cli.ts';
import type { ProbeDefinition } from './define.ts';
import { registerHeartbeatRoutes } from './heartbeats.ts';
import { loadProbes, type LoadedProbe } from './loader.ts';
import { probeMetrics } from './metrics.ts';
import { probesMigrations } from './migrations.ts';
import { createRecorder } from './record.ts';
import { runProbe, type RunEnvironment } from './runner.ts';
import { createScheduler } from './scheduler.ts';
import type { ProbeResult, ProbeRunContext } from './types.ts';

export type { KindContext, KindOutcome, ProbeResult, ProbeRunContext, ProbeState, ProbeStatus, UptimeDay } from './types.ts';
export type { AnyProbeDefinition, InvalidProbeDefinition, ProbeDefinition, ProbeKind, Schedule } from './define.ts';
export { getProbeStatuses, getRecentResults, getUptime } from './results.ts';
export { loadProbes } from './loader.ts';
export * from './constructors.ts';

/** The run environment of a Vigil context; publicUrl is read at each run because it is known only once the server listens. */
function environmentOf(ctx: ProbeRunContext): Omit<RunEnvironment, 'signal'> {
  return {
    clock: ctx.clock,
    location: ctx.location,
    get publicUrl() {
      return ctx.publicUrl;
    },
    config: ctx.config,
    db: ctx.db,
    queue: ctx.queue,
    logger: ctx.logger,
  };
}

export function findProbe(entries: readonly unknown[], name: string): LoadedProbe {
  const { probes, problems } = loadProbes(entries);
  const found = probes.find((probe) => probe.definition.name === name);
  if (found) return found;
  const problem = problems.find((line) => line.includes(`"${name}"`));
  if (problem) throw new Error(`probe "${name}" is invalid: ${problem}`);
  const names = probes.map((probe) => probe.definition.name);
  throw new Error(`no probe named "${name}" in the configuration${names.length ? ` (probes: ${names.join(', ')})` : ''}`);
}

/** Runs one configured probe now at this context's location and records the result like a scheduled run. */
export async function runProbeNow(ctx: ProbeRunContext, name: string): Promise<ProbeResult> {
  const loaded = findProbe(ctx.config.probes, name);
  const run = await runProbe(loaded.definition, loaded.kind, environmentOf(ctx));
  const recorder = createRecorder(ctx.db, probeMetrics(ctx.registry), ctx.logger);
  await recorder.record(loaded, run);
  return run.result;
}

function heartbeatTokens(probes: readonly LoadedProbe[]): Set<string> {
  return new Set(
    probes
      .filter(({ definition }) => definition.kind === 'heartbeat')
      .map(({ definition }) => (definition as ProbeDefinition<{ token: { reveal(): string } }>).options.token.reveal()),
  );
}

export const probesModule: VigilModule = {
  name: 'probes',
  migrations: probesMigrations,
  validate: (config) => loadProbes(config.probes).problems,
  setup(ctx: ModuleContext): Component[] {
    const { probes, problems } = loadProbes(ctx.config.probes);
    for (const problem of problems) ctx.logger.error({ problem }, 'probe definition skipped');
    if (ctx.roles.has('api')) registerHeartbeatRoutes(ctx.http, { db: ctx.db, clock: ctx.clock, tokens: heartbeatTokens(probes) });
    if (!ctx.roles.has('probes')) return [];
    const metrics = probeMetrics(ctx.registry);
    const recorder = createRecorder(ctx.db, metrics, ctx.logger);
    const scheduler = createScheduler({ probes, environment: environmentOf(ctx), db: ctx.db, metrics, record: (loaded, run) => recorder.record(loaded, run) });
    return [
      {
        ...scheduler,
        async stop(deadline) {
          await scheduler.stop?.(deadline);
          await recorder.idle();
        },
      },
    ];
  },
  commands: probeCommands,
};
