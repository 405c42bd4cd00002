import { z } from 'zod';
import type { ProbesHostConfig } from '../probes/index.ts';
import { duration } from '../core/config/duration.ts';
import { secret } from '../core/config/secret.ts';

const labels = z.record(z.string(), z.string());
/** Label matchers: `{ service: 'api' }` is equality; a value `/regex/` matches by regular expression. */
const matchers = z.record(z.string(), z.string());

const ruleBase = {
  name: z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'use letters, digits, "_", "." and "-"'),
  /** service, component, severity (warning | critical) and any others the routes match on. */
  labels: labels.default({}),
  /** How long the condition must hold before the incident fires (pending until then). */
  for: duration().default(0),
  summary: z.string().optional(),
};

const probeRule = z.strictObject({
  ...ruleBase,
  kind: z.literal('probe'),
  /** The probe's name; its own failure/success thresholds decide down and up. */
  probe: z.string().min(1),
});

const failureRateRule = z.strictObject({
  ...ruleBase,
  kind: z.literal('failure-rate'),
  window: duration().default(15 * 60_000),
  minSamples: z.number().int().min(1).default(10),
  /** Fires at or above this ratio of failed videos ... */
  trigger: z.number().min(0).max(1),
  /** ... and clears at or below this one (hysteresis). */
  clear: z.number().min(0).max(1),
});

const queueRule = z.strictObject({
  ...ruleBase,
  kind: z.literal('queue'),
  queue: z.string().min(1),
  maxDepth: z.number().int().min(0).optional(),
  maxOldestAge: duration().optional(),
});

const metricRule = z.strictObject({
  ...ruleBase,
  kind: z.literal('metric'),
  /** A metric of Vigil's own registry; `match` selects series by label, their values are summed. */
  metric: z.string().min(1),
  match: labels.default({}),
  above: z.number().optional(),
  below: z.number().optional(),
});

export const ruleSchema = z
  .discriminatedUnion('kind', [probeRule, failureRateRule, queueRule, metricRule])
  .superRefine((rule, ctx) => {
    if (rule.kind === 'failure-rate' && rule.clear > rule.trigger) ctx.addIssue({ code: 'custom', message: 'clear must not be above trigger' });
    if (rule.kind === 'queue' && rule.maxDepth === undefined && rule.maxOldestAge === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a queue rule needs maxDepth or maxOldestAge' });
    }
    if (rule.kind === 'metric' && (rule.above === undefined) === (rule.below === undefined)) ctx.addIssue({ code: 'custom', message: 'a metric rule needs exactly one of above or below' });
  });

const hookAction = z.union([
  z.strictObject({ command: z.array(z.string()).min(1) }),
  z.strictObject({ http: z.strictObject({ url: z.url(), method: z.enum(['POST', 'PUT', 'GET']).default('POST'), headers: z.record(z.string(), secret()).default({}) }) }),
]);

const hookBase = {
  /** The action per service label value. */
  services: z.record(z.string(), hookAction),
  timeout: duration().default(30_000),
  /** At most this many attempts per service in `budgetWindow`; then EMERGENCY and no more until reset. */
  budget: z.number().int().min(1).default(3),
  budgetWindow: duration().default(3_600_000),
  /** Wait before judging an attempt (the service needs time to come up); grows with jitter per attempt. */
  backoff: duration().default(5000),
};

export const receiverSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('email'), to: z.array(z.string().min(3)).min(1) }),
  z.strictObject({ type: z.literal('slack'), channel: z.string().min(1) }),
  z.strictObject({ type: z.literal('webhook'), url: z.url(), secret: secret(), timeout: duration().default(10_000) }),
  z.strictObject({ type: z.literal('restart'), ...hookBase }),
  z.strictObject({ type: z.literal('scale'), ...hookBase }),
  z.strictObject({ type: z.literal('statusPage') }),
]);

const weekdays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const clockTime = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'use HH:MM (00:00 to 24:00)');

export const timeWindowSchema = z.strictObject({
  days: z.array(z.enum(weekdays)).default([...weekdays]),
  from: clockTime.default('00:00'),
  to: clockTime.default('24:00'),
  timezone: z.string().default('UTC'),
});

export const routeSchema = z.strictObject({
  match: matchers.default({}),
  receivers: z.array(z.string().min(1)).min(1),
  /** Takes over a notification that could not be delivered within outbox.maxAge (or failed permanently). */
  fallback: z.string().optional(),
  /** Keep matching the routes after this one. */
  continue: z.boolean().default(false),
  groupBy: z.array(z.string()).default([]),
  /** Waits this long after the first incident of a group so the ones that follow go out in the same message. */
  groupWait: duration().default(0),
  /** Reminders while firing: first after `repeatInterval`, each next one `repeatFactor` times later, at most `repeatMax` apart. */
  repeatInterval: duration().default(4 * 3_600_000),
  repeatFactor: z.number().min(1).default(2),
  repeatMax: duration().default(24 * 3_600_000),
  /** Notify only inside these windows (muted outside). */
  activeTimes: z.array(timeWindowSchema).optional(),
});

export const alertsConfigSchema = z
  .strictObject({
    evaluationInterval: duration().default(5000),
    /** An incident still firing after this long escalates to EMERGENCY. */
    escalateAfter: duration().default(3_600_000),
    rules: z.array(ruleSchema).default([]),
    receivers: z.record(z.string(), receiverSchema).default({}),
    routes: z.array(routeSchema).default([]),
    inhibit: z
      .array(z.strictObject({ source: matchers, target: matchers, equal: z.array(z.string()).default([]) }))
      .default([]),
    flapping: z.strictObject({ changes: z.number().int().min(2).default(4), window: duration().default(10 * 60_000) }).default({ changes: 4, window: 600_000 }),
    outbox: z
      .strictObject({
        pollInterval: duration().default(1000),
        maxAge: duration().default(30 * 60_000),
        retryInitial: duration().default(5000),
        retryMax: duration().default(5 * 60_000),
      })
      .default({ pollInterval: 1000, maxAge: 1_800_000, retryInitial: 5000, retryMax: 300_000 }),
    /** Leader lease for running several alerts processes on one PostgreSQL. */
    lease: z.strictObject({ ttl: duration().default(15_000), renewEvery: duration().default(5000) }).default({ ttl: 15_000, renewEvery: 5000 }),
    slackMinInterval: duration().default(1000),
  })
  .superRefine((alerts, ctx) => {
    alerts.routes.forEach((route, index) => {
      for (const name of [...route.receivers, ...(route.fallback ? [route.fallback] : [])]) {
        if (!alerts.receivers[name]) ctx.addIssue({ code: 'custom', path: ['routes', index, 'receivers'], message: `unknown receiver "${name}" (declare it under alerts.receivers)` });
      }
    });
    const names = new Set<string>();
    alerts.rules.forEach((rule, index) => {
      if (names.has(rule.name)) ctx.addIssue({ code: 'custom', path: ['rules', index, 'name'], message: `rule "${rule.name}" is declared twice` });
      names.add(rule.name);
    });
  })
  .default({
    evaluationInterval: 5000,
    escalateAfter: 3_600_000,
    rules: [],
    receivers: {},
    routes: [],
    inhibit: [],
    flapping: { changes: 4, window: 600_000 },
    outbox: { pollInterval: 1000, maxAge: 1_800_000, retryInitial: 5000, retryMax: 300_000 },
    lease: { ttl: 15_000, renewEvery: 5000 },
    slackMinInterval: 1000,
  });

export type AlertsConfig = z.output<typeof alertsConfigSchema>;
export type AlertsConfigInput = z.input<typeof alertsConfigSchema>;
/** The configuration the alerts module reads: core's sections, its own, and the probes it watches. */
export type AlertsHostConfig = ProbesHostConfig & { alerts: AlertsConfig };
export type Rule = z.output<typeof ruleSchema>;
export type ReceiverConfig = z.output<typeof receiverSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type TimeWindow = z.output<typeof timeWindowSchema>;
export type Labels = Record<string, string>;
