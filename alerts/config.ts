import { z } from 'zod';
import type { ProbesHostConfig } from '../probes/index.ts';
import { duration } from '../core/config/duration.ts';
import { construct, schemasOf } from './construct.ts';
import { matchersSchema } from './matchers.ts';
import { RECEIVERS } from './receivers/index.ts';
import { ruleSchema } from './rules/index.ts';

/** Label matchers: `{ service: 'api' }` is equality; a value `/regex/` matches by regular expression. */
const matchers = matchersSchema;

export const receiverSchema = z.discriminatedUnion('type', schemasOf(RECEIVERS));

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

export const inhibitRuleSchema = z.strictObject({ source: matchers, target: matchers, equal: z.array(z.string()).default([]) });

export const alertsConfigSchema = z
  .strictObject({
    evaluationInterval: duration().default(5000),
    /** An incident still firing after this long escalates to EMERGENCY. */
    escalateAfter: duration().default(3_600_000),
    rules: z.array(construct(ruleSchema)).default([]),
    receivers: z.record(z.string(), construct(receiverSchema)).default({}),
    routes: z.array(construct(routeSchema)).default([]),
    inhibit: z.array(inhibitRuleSchema).default([]),
    flapping: z.strictObject({ changes: z.number().int().min(2).default(4), window: duration().default(10 * 60_000) }).default({ changes: 4, window: 600_000 }),
    outbox: z
      .strictObject({
        pollInterval: duration().default(30_000),
        maxAge: duration().default(30 * 60_000),
        retryInitial: duration().default(5000),
        retryMax: duration().default(5 * 60_000),
        /** One delivery taking longer counts as failed, in doubt. */
        timeout: duration().default(30_000),
      })
      .default({ pollInterval: 30_000, maxAge: 1_800_000, retryInitial: 5000, retryMax: 300_000, timeout: 30_000 }),
    /** Leader lease for running several alerts processes on one PostgreSQL. */
    lease: z.strictObject({ ttl: duration().default(15_000), renewEvery: duration().default(5000) }).default({ ttl: 15_000, renewEvery: 5000 }),
    slackMinInterval: duration().default(1000),
    /** How long the store may be unreachable before alerts are raised from memory and sent straight to the out-of-band receivers. */
    storeOutageGrace: duration().default(30_000),
    /** Resolved incidents with their notifications and hook attempts, ended silences and windows, and audit rows are kept this long. */
    retention: duration().default(90 * 86_400_000),
    /** An outward dead-man's switch (healthchecks.io, Dead Man's Snitch, another Vigil): GET `url` every `every` while evaluating is healthy. */
    heartbeat: z.strictObject({ url: z.url(), every: duration().default(60_000) }).optional(),
  })
  // Runs even when an entry is invalid, so one load reports every problem (entries that failed are skipped).
  .superRefine((alerts, ctx) => {
    alerts.routes.forEach((route, index) => {
      for (const name of route?.receivers ? [...route.receivers, ...(route.fallback ? [route.fallback] : [])] : []) {
        if (!alerts.receivers?.[name]) ctx.addIssue({ code: 'custom', path: ['routes', index, 'receivers'], message: `unknown receiver "${name}" (declare it under alerts.receivers)` });
      }
    });
    const names = new Set<string>();
    alerts.rules.forEach((rule, index) => {
      if (!rule) return;
      if (names.has(rule.name)) ctx.addIssue({ code: 'custom', path: ['rules', index, 'name'], message: `rule "${rule.name}" is declared twice` });
      names.add(rule.name);
    });
  }, { when: () => true })
  .default({
    evaluationInterval: 5000,
    escalateAfter: 3_600_000,
    rules: [],
    receivers: {},
    routes: [],
    inhibit: [],
    flapping: { changes: 4, window: 600_000 },
    outbox: { pollInterval: 30_000, maxAge: 1_800_000, retryInitial: 5000, retryMax: 300_000, timeout: 30_000 },
    lease: { ttl: 15_000, renewEvery: 5000 },
    slackMinInterval: 1000,
    storeOutageGrace: 30_000,
    retention: 90 * 86_400_000,
  });

export type AlertsConfig = z.output<typeof alertsConfigSchema>;
export type AlertsConfigInput = z.input<typeof alertsConfigSchema>;
/** The configuration the alerts module reads: core's sections, its own, and the probes it watches. */
export type AlertsHostConfig = ProbesHostConfig & { alerts: AlertsConfig };
export type { Rule } from './rules/index.ts';
export type ReceiverConfig = z.output<typeof receiverSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type TimeWindow = z.output<typeof timeWindowSchema>;
export type InhibitRule = z.output<typeof inhibitRuleSchema>;
export type Labels = Record<string, string>;
