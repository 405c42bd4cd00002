import { systemClock, type Clock } from '../../core/clock.ts';
import { parseConfig } from '../../app/config.ts';
import type { Db } from '../../core/db/index.ts';
import { createLogger } from '../../core/telemetry/logger.ts';
import type { AnyProbeDefinition, ProbeDefinition } from '../../probes/define.ts';
import { loadProbes } from '../../probes/loader.ts';
import { runProbe, type Run, type RunEnvironment } from '../../probes/runner.ts';

export const quietLogger = createLogger({ level: 'silent' });

export function environment(overrides: Partial<RunEnvironment> & { clock?: Clock } = {}): RunEnvironment {
  return {
    clock: systemClock,
    location: 'test',
    publicUrl: 'http://127.0.0.1:1',
    config: parseConfig({ logging: { level: 'silent' } }),
    db: undefined as unknown as Db,
    logger: quietLogger,
    ...overrides,
  };
}

/** The valid definition a constructor returned (fails the test with its issues otherwise). */
export function valid<T>(definition: ProbeDefinition<T> | AnyProbeDefinition): ProbeDefinition {
  if (!definition.valid) throw new Error(`invalid definition: ${definition.issues.join('; ')}`);
  return definition as ProbeDefinition;
}

/** Runs one definition the way the scheduler does. */
export function run(definition: AnyProbeDefinition, overrides: Partial<RunEnvironment> = {}): Promise<Run> {
  const { probes, problems } = loadProbes([definition]);
  if (!probes[0]) throw new Error(problems.join('\n'));
  return runProbe(probes[0].definition, probes[0].kind, environment(overrides));
}
