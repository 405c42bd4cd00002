import { z } from 'zod';
import { duration } from '../../core/config/duration.ts';
import type { Labels } from '../config.ts';

/** The parts of a probe's status the rules read (probes/ `getProbeStatuses`). */
export interface ProbeStatusSignal {
  probe: string;
  /** The probe's own labels (severity, environment, ...): the rule's labels add to them. */
  labels: Record<string, string>;
  state: 'up' | 'degraded' | 'down' | 'unknown';
  lastResult?: { reason?: string };
  locations: Array<{ location: string; state: 'up' | 'degraded' | 'down' | 'unknown' }>;
}

/** The parts of the processing signals the rules read (processing/ `processingSignalParts`), each read when first asked for. */
export interface ProcessingSignalsView {
  videos(): Promise<{ published: number; failed: number; failureRate: number | null }>;
  queues(): Promise<Array<{ name: string; depth: number; oldestQueuedAgeSeconds: number }>>;
  timeToPublish(): Promise<Array<{ bucket: string; videos: number; p95Seconds: number }>>;
}

/** What rules read, fetched at most once per evaluation whatever the number of rules reading it. */
export interface RuleSignals {
  /** The evaluation's instant. */
  now: number;
  probeStatuses(): Promise<ProbeStatusSignal[]>;
  processing(windowMs: number): ProcessingSignalsView;
  /** The sum of a metric of Vigil's own registry over the series `match` selects (undefined: no such metric or series). */
  metric(name: string, match: Labels): Promise<number | undefined>;
}

/** One series' state as a rule sees it; `active` undefined means unknown (the incident keeps its state). */
export interface RuleVerdict {
  labels: Labels;
  active: boolean | undefined;
  summary: string;
  /** While a kind holds an active verdict before clearing: since when its condition has been clear. */
  clearSince?: number;
  /** The level the rule fires at and the figure it compares, when there is one, for dashboards (`vigil_alerts_rule_threshold`, `..._value`). */
  measured?: { threshold: number; value?: number };
}

const ruleBase = {
  name: z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'use letters, digits, "_", "." and "-"'),
  /** service, component, severity (warning | critical), environment and any others the routes match on. */
  labels: z.record(z.string(), z.string()).default({}),
  /** How long the condition must hold before the incident fires (pending until then). */
  for: duration().default(0),
  summary: z.string().optional(),
};

type RuleShape<Kind extends string, Shape extends z.ZodRawShape> = typeof ruleBase & { kind: z.ZodLiteral<Kind> } & Shape;
export type RuleOf<Kind extends string, Shape extends z.ZodRawShape> = z.output<z.ZodObject<RuleShape<Kind, Shape>>>;

/**
 * A kind of alert rule: its own fields, the cross-field checks they need, and how it reads the signals into a verdict.
 * Every file under rules/ exports one, listed once in rules/index.ts.
 */
export interface RuleKind<Kind extends string = string, Shape extends z.ZodRawShape = z.ZodRawShape, Name extends string = string> {
  kind: Kind;
  /** The name vigil.config.ts calls, e.g. `probeRule`. */
  constructorName: Name;
  options: Shape;
  /** Problems across fields (each a sentence). */
  check?(rule: RuleOf<Kind, Shape>): string[];
  /**
   * The series' verdict now; undefined when there is nothing to observe (the probe is not known yet). `previous` is this
   * rule's verdict at the last evaluation in this process (after a start, only the stored condition), for kinds that
   * hold a state.
   */
  observe(rule: RuleOf<Kind, Shape>, signals: RuleSignals, previous: RuleVerdict | undefined): Promise<RuleVerdict | undefined>;
}

export function defineRuleKind<const Kind extends string, Shape extends z.ZodRawShape, const Name extends string>(ruleKind: RuleKind<Kind, Shape, Name>) {
  const schema = z.strictObject({ ...ruleBase, kind: z.literal(ruleKind.kind), ...ruleKind.options } as RuleShape<Kind, Shape>).superRefine((rule, ctx) => {
    for (const message of ruleKind.check?.(rule) ?? []) ctx.addIssue({ code: 'custom', message });
  });
  return {
    ...ruleKind,
    schema,
    /** `observe` for a rule the registry has matched to this kind by its `kind` field. */
    observeMatched: (rule: { kind: string }, signals: RuleSignals, previous: RuleVerdict | undefined) => ruleKind.observe(rule as RuleOf<Kind, Shape>, signals, previous),
  };
}
