import { systemClock, type Clock } from '../core/clock.ts';
import type { Db } from '../core/db/index.ts';
import type { Logger } from '../core/telemetry/logger.ts';
import { batcher } from './batch.ts';
import { attemptBudget } from './define.ts';
import type { LoadedProbe } from './loader.ts';
import { createLogDigest } from './log-digest.ts';
import type { ProbeMetrics } from './metrics.ts';
import { recordResults, type Recorded } from './results.ts';
import type { Run } from './runner.ts';
import { period } from './schedule.ts';
import { silenceAfter } from './state.ts';

export interface Recorder {
  record(loaded: LoadedProbe, run: Run): Promise<void>;
  idle(): Promise<void>;
}

/** Publishes a run's metrics at once and stores it with the runs finishing around it in one transaction. */
export function createRecorder(db: Db, metrics: ProbeMetrics, logger: Logger, clock: Clock = systemClock): Recorder {
  const failures = createLogDigest(clock, logger);
  const writes = batcher(async (batch: Recorded[]) => {
    await recordResults(db, batch);
    return batch.map(() => undefined);
  });
  return {
    async record({ definition }, { result, outcome }) {
      metrics.observe(result, outcome.failure, outcome.metrics);
      if (!result.success) {
        failures.note(`${result.probe}\0${result.location}`, (count) => ({
          message: count === 1 ? `probe ${result.probe} failed: ${result.reason}` : `probe ${result.probe} failed ${count} more times in the last minute, last: ${result.reason}`,
          fields: { probe: result.probe, kind: result.kind, location: result.location, reason: result.reason, trace_id: result.traceId, failures: count },
        }));
      }
      const { failureThreshold, successThreshold, quorum, labels } = definition;
      const silentAfterMs = silenceAfter(period(definition.schedule), attemptBudget(definition));
      await writes.add({ result, thresholds: { failureThreshold, successThreshold, quorum, labels, silentAfterMs } });
    },
    idle: () => writes.idle(),
  };
}
