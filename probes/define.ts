import { validateDetailed } from 'node-cron';
import { z } from 'zod';
import { duration, formatDuration, parseDuration } from '../core/config/duration.ts';
import { formatIssues } from '../core/config/load.ts';
import type { KindContext, KindOutcome } from './types.ts';

const PROBE = Symbol.for('vigil.probe-definition');

export type Schedule = { every: number } | { cron: string };

/** A kind of probe: its own options and how one attempt runs. Every file under kinds/ exports one. */
export interface ProbeKind<Options extends z.ZodObject = z.ZodObject> {
  kind: string;
  options: Options;
  /** Shared services the kind needs beyond the database (the CLI starts them only then). */
  uses?: ReadonlyArray<'queue'>;
  run(options: z.output<Options>, context: KindContext): Promise<KindOutcome>;
}

const schedule = () =>
  z.string().transform((value, ctx): Schedule => {
    const text = value.trim();
    if (/^\d/.test(text) && !/\s/.test(text)) {
      try {
        const every = parseDuration(text);
        if (every >= 1000) return { every };
        ctx.addIssue({ code: 'custom', message: `an interval must be at least 1s, got ${text}` });
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
  timeout: duration().default(10_000),
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
  /** Largest start offset after the scheduled time, chosen per probe name (default: the whole interval; 30s for cron). */
  jitter: duration().optional(),
};

const commonSchema = z.strictObject(commonShape);
export type CommonInput = z.input<typeof commonSchema>;
type Common = z.output<typeof commonSchema>;

export interface ProbeDefinition<Options = Record<string, unknown>> extends Common {
  readonly [PROBE]: true;
  readonly valid: true;
  kind: string;
  options: Options;
  /** file:line of the constructor call in the config. */
  source: string;
}

export interface InvalidProbeDefinition {
  readonly [PROBE]: true;
  readonly valid: false;
  kind: string;
  name?: string;
  source: string;
  issues: string[];
}

export type AnyProbeDefinition = ProbeDefinition | InvalidProbeDefinition;

export function isProbeDefinition(value: unknown): value is AnyProbeDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PROBE] === true;
}

/** The typed constructor config files call, e.g. `http({ name, url })`. It never throws: a bad field gives an invalid definition naming the file, line and field. */
export function constructorFor<Options extends z.ZodObject>(kind: ProbeKind<Options>) {
  const schema = commonSchema.extend(kind.options.shape).strict();
  const commonKeys = new Set(Object.keys(commonShape));
  const construct = (input: CommonInput & z.input<Options>): ProbeDefinition<z.output<Options>> | InvalidProbeDefinition => {
    const source = callSite(construct);
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      const name = typeof (input as { name?: unknown } | undefined)?.name === 'string' ? (input as { name: string }).name : undefined;
      return { [PROBE]: true, valid: false, kind: kind.kind, ...(name ? { name } : {}), source, issues: formatIssues(parsed.error) };
    }
    const data = parsed.data as Record<string, unknown>;
    const common: Record<string, unknown> = {};
    const options: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(data)) (commonKeys.has(key) ? common : options)[key] = value;
    const definition = { ...(common as Common), [PROBE]: true as const, valid: true as const, kind: kind.kind, options: options as z.output<Options>, source };
    if (definition.locations && definition.quorum > definition.locations.length) {
      return { [PROBE]: true, valid: false, kind: kind.kind, name: definition.name, source, issues: [`quorum: ${definition.quorum} is more than the ${definition.locations.length} location(s) listed`] };
    }
    return definition;
  };
  return construct;
}

/** file:line of the code that called `below`. */
export function callSite(below: (...args: never[]) => unknown): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, below);
  const frame = holder.stack?.split('\n')[1] ?? '';
  const location = /\(?((?:file:\/\/)?[^\s()]+):(\d+):\d+\)?\s*$/.exec(frame);
  return location ? `${location[1]!.replace(/^file:\/\//, '')}:${location[2]}` : '<unknown location>';
}

export function describeSchedule(schedule: Schedule): string {
  return 'every' in schedule ? `every ${formatDuration(schedule.every)}` : `cron ${schedule.cron}`;
}
