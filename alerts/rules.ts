import type { Registry } from 'prom-client';
import type { Rule } from './config.ts';
import type { Observation, SignalSource } from './types.ts';

/** The parts of a probe's status the rules read (probes/ `getProbeStatuses`). */
export interface ProbeStatusSignal {
  probe: string;
  state: 'up' | 'degraded' | 'down' | 'unknown';
  lastResult?: { reason?: string };
}

/** The parts of the processing signals the rules read (processing/ `getProcessingSignals`). */
export interface ProcessingSignalsView {
  videos: { published: number; failed: number; failureRate: number | null };
  queues: Array<{ name: string; depth: number; oldestQueuedAgeSeconds: number }>;
}

export interface RuleInputs {
  probeStatuses(): Promise<ProbeStatusSignal[]>;
  processingSignals(windowMs: number, now: number): Promise<ProcessingSignalsView>;
  registry: Registry;
}

const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

async function metricValue(registry: Registry, name: string, match: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  const selected = values.filter((sample) => Object.entries(match).every(([label, value]) => String(sample.labels[label] ?? '') === value));
  return selected.length === 0 ? undefined : selected.reduce((sum, sample) => sum + sample.value, 0);
}

/** Turns each configured rule into observations, reading only the signals some rule needs. */
export function createRuleSource(rules: readonly Rule[], inputs: RuleInputs): SignalSource {
  return async (now) => {
    const observations: Observation[] = [];
    const statuses = rules.some((rule) => rule.kind === 'probe') ? await inputs.probeStatuses() : [];
    const processing = new Map<number, ProcessingSignalsView>();
    const processingFor = async (windowMs: number) => {
      if (!processing.has(windowMs)) processing.set(windowMs, await inputs.processingSignals(windowMs, now));
      return processing.get(windowMs)!;
    };
    for (const rule of rules) {
      const base = { rule: rule.name };
      switch (rule.kind) {
        case 'probe': {
          const status = statuses.find((candidate) => candidate.probe === rule.probe);
          if (!status) break;
          const summary = rule.summary ?? (status.state === 'down' ? `probe ${rule.probe} is down${status.lastResult?.reason ? `: ${status.lastResult.reason}` : ''}` : `probe ${rule.probe} is ${status.state}`);
          observations.push({ ...base, labels: { ...rule.labels, probe: rule.probe }, active: status.state === 'unknown' ? undefined : status.state === 'down', summary });
          break;
        }
        case 'failure-rate': {
          const { videos } = await processingFor(rule.window);
          const samples = videos.published + videos.failed;
          const rate = videos.failureRate;
          // Between the clear and trigger levels, or with too few samples, the incident keeps its state.
          const active = rate === null || samples < rule.minSamples ? undefined : rate >= rule.trigger ? true : rate <= rule.clear ? false : undefined;
          observations.push({ ...base, labels: rule.labels, active, summary: rule.summary ?? `video failure rate ${rate === null ? 'n/a' : percent(rate)} over ${samples} videos (trigger ${percent(rule.trigger)})` });
          break;
        }
        case 'queue': {
          const queue = (await processingFor(60_000)).queues.find((candidate) => candidate.name === rule.queue);
          const depth = queue?.depth ?? 0;
          const age = (queue?.oldestQueuedAgeSeconds ?? 0) * 1000;
          const active = (rule.maxDepth !== undefined && depth > rule.maxDepth) || (rule.maxOldestAge !== undefined && age > rule.maxOldestAge);
          observations.push({ ...base, labels: { ...rule.labels, queue: rule.queue }, active, summary: rule.summary ?? `queue ${rule.queue}: ${depth} waiting, oldest ${Math.round(age / 1000)} s` });
          break;
        }
        case 'metric': {
          const value = await metricValue(inputs.registry, rule.metric, rule.match);
          const active = value === undefined ? undefined : rule.above !== undefined ? value > rule.above : value < rule.below!;
          observations.push({ ...base, labels: rule.labels, active, summary: rule.summary ?? `${rule.metric} = ${value ?? 'absent'} (${rule.above !== undefined ? `above ${rule.above}` : `below ${rule.below}`})` });
          break;
        }
      }
    }
    return observations;
  };
}
