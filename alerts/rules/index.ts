// Every kind of alert rule, listed once: the config union, the constructors and the exported names derive from this.
import { z } from 'zod';
import { Gauge, type Registry } from 'prom-client';
import { schemasOf } from '../construct.ts';
import type { Labels } from '../config.ts';
import type { Observation, SignalSource } from '../types.ts';
import { failureRateRuleKind } from './failure-rate.ts';
import { metricRuleKind } from './metric.ts';
import { probeRuleKind } from './probe.ts';
import { queueRuleKind } from './queue.ts';
import { timeToPublishRuleKind } from './time-to-publish.ts';
import type { ProbeStatusSignal, ProcessingSignalsView, RuleSignals, RuleVerdict } from './rule-kind.ts';

export const RULE_KINDS = [probeRuleKind, failureRateRuleKind, queueRuleKind, metricRuleKind, timeToPublishRuleKind] as const;

export const ruleSchema = z.discriminatedUnion('kind', schemasOf(RULE_KINDS));
export type Rule = z.output<typeof ruleSchema>;

export interface RuleInputs {
  probeStatuses(): Promise<ProbeStatusSignal[]>;
  processingSignals(windowMs: number, now: number): ProcessingSignalsView;
  /** Whether the store last recorded a series' condition as active: what a process continues from after a start or a takeover. */
  storedActive?(rule: string, labels: Labels): Promise<boolean | undefined>;
  registry: Registry;
}

function memo<K, V>(load: (key: K) => V): (key: K) => V {
  const cache = new Map<K, V>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, load(key));
    return cache.get(key)!;
  };
}

function signalsAt(inputs: RuleInputs, now: number): RuleSignals {
  const probeStatuses = memo(() => inputs.probeStatuses());
  return {
    now,
    probeStatuses: () => probeStatuses(undefined),
    processing: memo((windowMs: number) => inputs.processingSignals(windowMs, now)),
    async metric(name, match) {
      const metric = inputs.registry.getSingleMetric(name);
      if (!metric) return undefined;
      const { values } = await metric.get();
      const selected = values.filter((sample) => Object.entries(match).every(([label, value]) => String(sample.labels[label] ?? '') === value));
      return selected.length === 0 ? undefined : selected.reduce((sum, sample) => sum + sample.value, 0);
    },
  };
}

/** Shared by every rule source on one registry (the store's and the degraded mode's in-memory one). */
function measuredGauges(registry: Registry) {
  const gauge = (name: string, help: string) => (registry.getSingleMetric(name) as Gauge<'rule'> | undefined) ?? new Gauge({ name, help, labelNames: ['rule'], registers: [registry] });
  return {
    value: gauge('vigil_alerts_rule_value', 'The figure a rule last compared (e.g. the share of failed videos), by rule.'),
    threshold: gauge('vigil_alerts_rule_threshold', 'The level at which that rule fires, by rule.'),
  };
}

const kindOf = new Map<string, (typeof RULE_KINDS)[number]>(RULE_KINDS.map((kind) => [kind.kind, kind]));

/**
 * Turns each configured rule into an observation, reading only the signals some rule needs. A rule that throws is
 * isolated: it yields an unknown verdict carrying the error (its incident keeps its state), the others proceed.
 */
export function createRuleSource(rules: readonly Rule[], inputs: RuleInputs) {
  const previous = new Map<string, RuleVerdict>();
  // Read once per lease: only this process's own verdicts change the stored condition until another process takes over.
  const stored = new Map<string, RuleVerdict | undefined>();
  const measured = measuredGauges(inputs.registry);
  /**
   * The verdict a rule goes on from: its last one in this process, else (after a start or a takeover) the stored
   * condition of its series, so a restart during a hold before clearing starts the hold again instead of clearing at once.
   */
  async function before(rule: Rule): Promise<RuleVerdict | undefined> {
    const last = previous.get(rule.name);
    if (last || !inputs.storedActive) return last;
    if (!stored.has(rule.name)) {
      const active = await inputs.storedActive(rule.name, rule.labels);
      stored.set(rule.name, active === undefined ? undefined : { labels: rule.labels, active, summary: '' });
    }
    return stored.get(rule.name);
  }
  const observe: SignalSource = async (now) => {
    const signals = signalsAt(inputs, now);
    const observations: Observation[] = [];
    for (const rule of rules) {
      try {
        const verdict = await kindOf.get(rule.kind)!.observeMatched(rule, signals, await before(rule));
        if (!verdict) continue;
        previous.set(rule.name, verdict);
        if (verdict.measured) {
          measured.threshold.set({ rule: rule.name }, verdict.measured.threshold);
          if (verdict.measured.value !== undefined) measured.value.set({ rule: rule.name }, verdict.measured.value);
        }
        observations.push({ rule: rule.name, labels: verdict.labels, active: verdict.active, summary: verdict.summary });
      } catch (error) {
        observations.push({ rule: rule.name, labels: rule.labels, active: undefined, summary: `rule ${rule.name} could not be evaluated`, error: (error as Error).message });
      }
    }
    return observations;
  };
  // A process that takes the lease goes on from the store: what it remembers is from before another process evaluated.
  return Object.assign(observe, {
    forget: () => {
      previous.clear();
      stored.clear();
    },
  });
}
