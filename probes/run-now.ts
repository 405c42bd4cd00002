import { loadProbes, type LoadedProbe } from './loader.ts';
import { probeMetrics } from './metrics.ts';
import { createRecorder } from './record.ts';
import { runProbe, type RunEnvironment } from './runner.ts';
import type { ProbeResult, ProbeRunContext } from './types.ts';

/** The run environment of a Vigil context; publicUrl is read at each run because it is known only once the server listens. */
export function environmentOf(ctx: ProbeRunContext): Omit<RunEnvironment, 'signal'> {
  return {
    clock: ctx.clock,
    location: ctx.location,
    get publicUrl() {
      return ctx.publicUrl;
    },
    get apiUrl() {
      return ctx.apiUrl;
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
  const recorder = createRecorder({ db: ctx.db, metrics: probeMetrics(ctx.registry), logger: ctx.logger, flushEveryMs: 0 });
  await recorder.record(loaded, run);
  await recorder.stop();
  return run.result;
}

