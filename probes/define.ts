import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateDetailed } from 'node-cron';
import { z } from 'zod';
import { callSite, carriesBrand, type RefusedEntry } from '../core/config/call-site.ts';
import { duration, formatDuration, parseDuration } from '../core/config/duration.ts';
import { formatIssues } from '../core/config/load.ts';
import { secret, type Secret } from '../core/config/secret.ts';
import type { KindContext, KindOutcome } from './types.ts';

const PROBE = Symbol.for('vigil.probe-definition');
const MODULE_DIR = path.dirname(fileURLToPath(import.meta.url)) + path.sep;

export type Schedule = { every: number } | { cron: string };

/** A kind of probe: its own options and how one attempt runs. Every file under kinds/ defines one with `defineKind`. */
export interface ProbeKind<Options extends z.ZodObject = z.ZodObject, Name extends string = string> {
  kind: Name;
  options: Options;
  /** Shared services the kind needs beyond the database (the CLI starts them only then). */
  uses?: ReadonlyArray<'queue'>;
  /** What the run talks to ("host:port", a server), so the scheduler can budget runs per target; each probe is its own target when absent. */
  target?(options: z.output<Options>): string;
  run(options: z.output<Options>, context: KindContext): Promise<KindOutcome>;
  /** Problems between fields of valid options ("field: what is wrong"), which one field's schema cannot see. */
  problems?(options: z.output<Options>): string[];
}

/** Shortest interval and timeout a probe may have: below these a probe measures the scheduler more than its target. */
export const MIN_INTERVAL_MS = 1000;
export const MIN_TIMEOUT_MS = 100;

const schedule = () =>
  z.string().transform((value, ctx): Schedule => {
    const text = value.trim();
    if (/^\d/.test(text) && !/\s/.test(text)) {
      try {
        const every = parseDuration(text);
        if (every >= MIN_INTERVAL_MS) return { every };
        ctx.addIssue({ code: 'custom', message: `an interval must be at least ${formatDuration(MIN_INTERVAL_MS)}, got ${text}` });
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
      return z.NEVER;
    }
    const check = validateDetailed(text);
    if (check.valid) return { cron: text };
    ctx.addIssue({ code: 'custom', message: `"${text}" is neither an interval like 30s nor a cron expression (${check.errors.map((error) => error.message).join('; ')})` });
    return z.NEVER;
  });

const label = z.string().min(1).max(128);

const commonShape = {
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'use letters, digits and _ . : - (at most 128), starting with a letter or digit'),
  /** "30s", "5m" (interval) or a cron expression with optional seconds, evaluated in UTC. */
  schedule: schedule().default({ every: 60_000 }),
  /** Hard limit for one attempt; the attempt is aborted when it passes. */
  timeout: duration(MIN_TIMEOUT_MS).default(10_000),
  /** Attempts after the first inside one run before the run counts as failed. */
  retries: z.number().int().min(0).max(10).default(0),
  retryDelay: duration().default(1000),
  /** Consecutive failed runs before the probe is down. */
  failureThreshold: z.number().int().min(1).max(100).default(1),
  /** Consecutive successful runs before a down (or new) probe is up. */
  successThreshold: z.number().int().min(1).max(100).default(1),
  /** component, severity (critical, warning, info), environment (production, beta, staging) and any others. */
  labels: z
    .record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'label names are letters, digits and _'), label)
    .refine((labels) => labels.severity === undefined || ['critical', 'warning', 'info'].includes(labels.severity), {
      message: 'severity must be critical, warning or info',
      path: ['severity'],
    })
    .default({}),
  /** Where it runs (the --location of probe agents); every location when absent. */
  locations: z.array(label).min(1).optional(),
  /** How many locations must see it down for the probe to be down. */
  quorum: z.number().int().min(1).default(1),
  /** Also run once within the first 30 s after the scheduler starts, instead of waiting for the first slot. */
  runAtStart: z.boolean().default(false),
  /** A successful run slower than this makes the probe degraded (up, but slow) instead of up. */
  degradedAfter: duration(1).optional(),
  /** Largest start offset after the scheduled time, chosen per probe name (default: the whole interval; 30s for cron). */
  jitter: duration().optional(),
};

const commonSchema = z.strictObject(commonShape);
export type CommonInput = z.input<typeof commonSchema>;
type Common = z.output<typeof commonSchema>;

export interface ProbeDefinition<Options = Record<string, unknown>, Name extends string = string> extends Common {
  readonly [PROBE]: true;
  readonly valid: true;
  kind: Name;
  options: Options;
  /** file:line of the constructor call in the config. */
  source: string;
}

export interface InvalidProbeDefinition extends RefusedEntry {
  readonly [PROBE]: true;
  kind: string;
}

export type AnyProbeDefinition = ProbeDefinition | InvalidProbeDefinition;

export function isProbeDefinition(value: unknown): value is AnyProbeDefinition {
  return carriesBrand(value, PROBE);
}

/** The typed constructor config files call, e.g. `http({ name, url })`, carrying its kind. */
export interface ProbeConstructor<Options extends z.ZodObject = z.ZodObject, Name extends string = string> {
  (input: CommonInput & z.input<Options>): ProbeDefinition<z.output<Options>, Name> | InvalidProbeDefinition;
  readonly kind: ProbeKind<Options, Name>;
}

/** Declares a kind (its id, options schema and behaviour) and returns its constructor. The constructor never throws: a bad
 * field gives an invalid definition naming the file, line and field. */
export function defineKind<Options extends z.ZodObject, const Name extends string>(kind: ProbeKind<Options, Name>): ProbeConstructor<Options, Name> {
  const schema = commonSchema.extend(kind.options.shape).strict();
  const commonKeys = new Set(Object.keys(commonShape));
  const construct = (input: CommonInput & z.input<Options>): ProbeDefinition<z.output<Options>, Name> | InvalidProbeDefinition => {
    const source = callSite(construct);
    const name = typeof (input as { name?: unknown } | undefined)?.name === 'string' ? (input as { name: string }).name : undefined;
    const invalid = (issues: string[]): InvalidProbeDefinition => ({ [PROBE]: true, valid: false, kind: kind.kind, ...(name ? { name } : {}), source, issues });
    let parsed: ReturnType<typeof schema.safeParse>;
    try {
      parsed = schema.safeParse(input);
    } catch (error) {
      // A function given in the definition (a mailbox reader, a custom check) threw while it was validated.
      return invalid([`the definition threw while it was checked: ${(error as Error).message}`]);
    }
    if (!parsed.success) return invalid(formatIssues(new z.ZodError(closestBranches(parsed.error.issues))));
    const common: Record<string, unknown> = {};
    const options: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(parsed.data as Record<string, unknown>)) (commonKeys.has(key) ? common : options)[key] = value;
    const definition = { ...(common as Common), [PROBE]: true as const, valid: true as const, kind: kind.kind, options: options as z.output<Options>, source };
    const issues = [
      ...(definition.locations && definition.quorum > definition.locations.length ? [`quorum: ${definition.quorum} is more than the ${definition.locations.length} location(s) listed`] : []),
      ...(kind.problems?.(definition.options) ?? []),
    ];
    if (issues.length > 0) return { [PROBE]: true, valid: false, kind: kind.kind, name: definition.name, source, issues };
    return definition;
  };
  return Object.assign(construct, { kind });
}

/** A union's error names the branch that came closest (fewest problems) instead of a bare "Invalid input". */
function closestBranches(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
    const closest = issue.errors.reduce((best, branch) => (branch.length < best.length ? branch : best));
    return closestBranches(closest.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })));
  });
}

/** Where a config entry that threw was written (the last frame of the config before the probes loader called it) and,
 * when elsewhere, where it threw. Vigil's code is this folder, or the bundle this runs from (scripts/bundle.ts). */
export function throwSite(error: unknown): { entry: string; thrown: string } {
  const user: string[] = [];
  for (const frame of (error instanceof Error ? (error.stack ?? '') : '').split('\n').slice(1)) {
    const location = /\(?((?:file:\/\/)?[^\s()]+):(\d+):\d+\)?\s*$/.exec(frame);
    if (!location) continue;
    const file = location[1]!.replace(/^file:\/\//, '');
    if (file.startsWith(MODULE_DIR) || file === import.meta.filename) break;
    if (!file.includes('node_modules') && !file.startsWith('node:')) user.push(`${file}:${location[2]}`);
  }
  return { entry: user.at(-1) ?? '<unknown location>', thrown: user[0] ?? '<unknown location>' };
}

/** The longest one run can take: every attempt at its timeout, with the delays between them. */
export function attemptBudget(definition: Pick<Common, 'timeout' | 'retries' | 'retryDelay'>): number {
  return definition.timeout * (definition.retries + 1) + definition.retryDelay * definition.retries;
}

/** The target of a URL for the scheduler's budgets: its host and port, never its credentials or path. */
/** The options and target of a kind whose one option is a URL holding its credentials (a secret, never printed). */
export const secretUrlOnly = {
  options: z.strictObject({ url: secret() }),
  target: (config: { url: Secret }) => urlTarget(config.url.reveal()),
};

export function urlTarget(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an unparsable URL';
  }
}

export function describeSchedule(schedule: Schedule): string {
  return 'every' in schedule ? `every ${formatDuration(schedule.every)}` : `cron ${schedule.cron}`;
}
