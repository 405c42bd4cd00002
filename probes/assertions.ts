import { z } from 'zod';
import { formatDuration } from '../core/config/duration.ts';

// Assertions on what a run observed, built in the config with `assert.*` (Checkly-style) and kept as plain data, so
// they validate like every other field and print in a reason: "status equals 200: got 503".

export const COMPARISONS = ['equals', 'notEquals', 'lessThan', 'greaterThan', 'contains', 'notContains', 'matches', 'isNull', 'isNotNull', 'oneOf'] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** What an assertion reads: the response status, a header, the body text, a JSONPath into the body, the run's response
 * time (ms), the certificate's days left, the redirects followed, the text a tcp server sent, the DNS answers or rcode,
 * and a browser page's title, address and visible text. */
export const SOURCES = ['status', 'header', 'body', 'json', 'responseTime', 'certDaysLeft', 'redirects', 'received', 'answers', 'rcode', 'title', 'pageUrl', 'text'] as const;
export type Source = (typeof SOURCES)[number];

export interface Assertion {
  source: Source;
  /** The header name or JSONPath. */
  property?: string;
  /** Compare the length of the value (string, array) instead of the value. */
  length?: true;
  comparison: Comparison;
  target?: unknown;
}

class Builder {
  readonly #base: Omit<Assertion, 'comparison' | 'target'>;
  constructor(base: Omit<Assertion, 'comparison' | 'target'>) {
    this.#base = base;
  }
  #make(comparison: Comparison, target?: unknown): Assertion {
    return { ...this.#base, comparison, ...(target === undefined ? {} : { target }) };
  }
  equals(target: unknown): Assertion {
    return this.#make('equals', target);
  }
  notEquals(target: unknown): Assertion {
    return this.#make('notEquals', target);
  }
  lessThan(target: number): Assertion {
    return this.#make('lessThan', target);
  }
  greaterThan(target: number): Assertion {
    return this.#make('greaterThan', target);
  }
  /** Text within a string, or an element of an array (`assert.jsonPath('$.items[*].id').contains(2)`). */
  contains(target: string | number | boolean): Assertion {
    return this.#make('contains', target);
  }
  notContains(target: string): Assertion {
    return this.#make('notContains', target);
  }
  /** A regular expression (its source is kept; flags given as a RegExp are kept too). */
  matches(target: RegExp | string): Assertion {
    return this.#make('matches', target instanceof RegExp ? { pattern: target.source, flags: target.flags } : { pattern: target, flags: '' });
  }
  oneOf(targets: readonly unknown[]): Assertion {
    return this.#make('oneOf', [...targets]);
  }
  isNull(): Assertion {
    return this.#make('isNull');
  }
  isNotNull(): Assertion {
    return this.#make('isNotNull');
  }
  /** Compare the length of the string or array instead: `assert.jsonPath('$.items').length().greaterThan(0)`. */
  length(): Builder {
    return new Builder({ ...this.#base, length: true });
  }
}

/** The assertion builder config files use: `assertions: [assert.status().equals(200), assert.jsonPath('$.items[*].id').length().greaterThan(0)]`. */
export const assert = {
  status: () => new Builder({ source: 'status' }),
  header: (name: string) => new Builder({ source: 'header', property: name.toLowerCase() }),
  body: () => new Builder({ source: 'body' }),
  jsonPath: (path: string) => new Builder({ source: 'json', property: path }),
  /** Milliseconds the attempt took. */
  responseTime: () => new Builder({ source: 'responseTime' }),
  certDaysLeft: () => new Builder({ source: 'certDaysLeft' }),
  redirects: () => new Builder({ source: 'redirects' }),
  /** The text a tcp server sent. */
  received: () => new Builder({ source: 'received' }),
  /** The DNS answers, as strings. */
  answers: () => new Builder({ source: 'answers' }),
  /** The DNS response code: NOERROR, NXDOMAIN, SERVFAIL, ... */
  rcode: () => new Builder({ source: 'rcode' }),
  /** A browser page's title once the flow ended. */
  title: () => new Builder({ source: 'title' }),
  /** A browser page's address once the flow ended (after redirects and navigation). */
  pageUrl: () => new Builder({ source: 'pageUrl' }),
  /** A browser page's visible text once the flow ended. */
  text: () => new Builder({ source: 'text' }),
};

/** The schema of an assertion list for a kind that observes `sources`; a JSONPath and a regex are compiled here, not at run time. */
export function assertionsSchema(sources: readonly Source[]) {
  return z
    .array(
      z
        .strictObject({
          source: z.enum(sources as [Source, ...Source[]]),
          property: z.string().min(1).optional(),
          length: z.literal(true).optional(),
          comparison: z.enum(COMPARISONS),
          target: z.unknown().optional(),
        })
        .superRefine((assertion, ctx) => {
          const problem = checkAssertion(assertion);
          if (problem) ctx.addIssue({ code: 'custom', message: `${describeAssertion(assertion)}: ${problem}` });
        }),
    )
    .default([]);
}

function checkAssertion(assertion: Assertion): string | undefined {
  if ((assertion.source === 'header' || assertion.source === 'json') && !assertion.property) return `a ${assertion.source} assertion names its ${assertion.source === 'json' ? 'JSONPath' : 'header'}`;
  if (assertion.source === 'json') {
    try {
      parseJsonPath(assertion.property!);
    } catch (error) {
      return (error as Error).message;
    }
  }
  const { comparison, target } = assertion;
  if ((comparison === 'isNull' || comparison === 'isNotNull') !== (target === undefined)) return comparison.startsWith('is') ? 'takes no value' : 'needs a value to compare with';
  if ((comparison === 'lessThan' || comparison === 'greaterThan') && typeof target !== 'number') return `${comparison} compares with a number, got ${JSON.stringify(target)}`;
  if (comparison === 'notContains' && typeof target !== 'string') return `notContains takes text, got ${JSON.stringify(target)}`;
  if (comparison === 'contains' && !['string', 'number', 'boolean'].includes(typeof target)) return `contains takes text, a number or a boolean, got ${JSON.stringify(target)}`;
  if (comparison === 'oneOf' && !Array.isArray(target)) return 'oneOf takes a list';
  if (comparison === 'matches') {
    const regex = target as { pattern?: unknown; flags?: unknown } | undefined;
    try {
      new RegExp(String(regex?.pattern), String(regex?.flags ?? ''));
    } catch (error) {
      return `not a regular expression: ${(error as Error).message}`;
    }
  }
  return undefined;
}

export function describeAssertion(assertion: Assertion): string {
  const subject = assertion.source === 'json' ? `json ${assertion.property}` : assertion.source === 'header' ? `header ${assertion.property}` : assertion.source;
  const target =
    assertion.comparison === 'matches' ? `/${(assertion.target as { pattern: string }).pattern}/${(assertion.target as { flags?: string }).flags ?? ''}` : assertion.target === undefined ? '' : show(assertion.source, assertion.target);
  return `${subject}${assertion.length ? ' length' : ''} ${assertion.comparison}${target ? ` ${target}` : ''}`;
}

function show(source: Source, value: unknown): string {
  if (source === 'responseTime' && typeof value === 'number') return formatDuration(Math.round(value));
  const text = JSON.stringify(value) ?? 'nothing';
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** The first assertion that fails, as a sentence naming the assertion, what it expected and what it got. */
export function firstFailure(assertions: readonly Assertion[], observe: (assertion: Assertion) => unknown): string | undefined {
  for (const assertion of assertions) {
    let actual = observe(assertion);
    if (assertion.length) actual = typeof actual === 'string' || Array.isArray(actual) ? actual.length : null;
    if (!holds(assertion, actual)) return `${describeAssertion(assertion)}: got ${actual === undefined || actual === null ? 'nothing' : show(assertion.source, actual)}`;
  }
  return undefined;
}

function holds({ comparison, target }: Assertion, actual: unknown): boolean {
  switch (comparison) {
    case 'isNull':
      return actual === null || actual === undefined;
    case 'isNotNull':
      return actual !== null && actual !== undefined;
    case 'equals':
      return sameValue(actual, target);
    case 'notEquals':
      return !sameValue(actual, target);
    case 'oneOf':
      return (target as unknown[]).some((candidate) => sameValue(actual, candidate));
    case 'lessThan':
      return typeof actual === 'number' && actual < (target as number);
    case 'greaterThan':
      return typeof actual === 'number' && actual > (target as number);
    case 'contains':
      return Array.isArray(actual) ? actual.some((item) => sameValue(item, target)) : typeof actual === 'string' && actual.includes(String(target));
    case 'notContains':
      return !(Array.isArray(actual) ? actual.some((item) => String(item).includes(target as string)) : typeof actual === 'string' && actual.includes(target as string));
    case 'matches': {
      const { pattern, flags } = target as { pattern: string; flags?: string };
      const regex = new RegExp(pattern, flags);
      return Array.isArray(actual) ? actual.some((item) => regex.test(String(item))) : actual !== null && actual !== undefined && regex.test(String(actual));
    }
  }
}

/** Typed equality: 200 equals 200 and "200" only when the value is text (a header), so a JSON number is not its string. */
function sameValue(actual: unknown, target: unknown): boolean {
  if (typeof actual === 'string' && typeof target === 'number') return actual === String(target);
  return JSON.stringify(actual) === JSON.stringify(target);
}

type PathStep = { key: string } | { index: number } | { all: true };

/** `$.a.b[0]['c d'][*].e` (the leading `$` optional). */
export function parseJsonPath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  const pattern = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[\*\]|\.\*|\['([^']*)'\]|\["([^"]*)"\]/y;
  let text = path.trim();
  if (text.startsWith('$')) text = text.slice(1);
  else text = `.${text}`;
  let at = 0;
  while (at < text.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) throw new Error(`"${path}" is not a JSONPath this probe reads (use $.a.b, $.items[0], $.items[*].id, $['a b'])`);
    if (match[1] !== undefined) steps.push({ key: match[1] });
    else if (match[2] !== undefined) steps.push({ index: Number(match[2]) });
    else if (match[3] !== undefined || match[4] !== undefined) steps.push({ key: (match[3] ?? match[4])! });
    else steps.push({ all: true });
    at = pattern.lastIndex;
  }
  return steps;
}

/** The value at `path`; after a `[*]` the values of every element, as an array. */
export function readJsonPath(document: unknown, path: string): unknown {
  let values: unknown[] = [document];
  let many = false;
  for (const step of parseJsonPath(path)) {
    values = values.flatMap((value): unknown[] => {
      if ('all' in step) return Array.isArray(value) ? value : value && typeof value === 'object' ? Object.values(value) : [];
      if ('index' in step) return Array.isArray(value) && step.index < value.length ? [value[step.index]] : many ? [] : [undefined];
      return value && typeof value === 'object' && step.key in value ? [(value as Record<string, unknown>)[step.key]] : many ? [] : [undefined];
    });
    if ('all' in step) many = true;
  }
  return many ? values : values[0];
}
