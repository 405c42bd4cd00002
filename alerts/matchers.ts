import { z } from 'zod';
import type { Labels } from './config.ts';

/** `{ service: 'api' }` matches equal values; `{ service: '/api|web/' }` matches a regular expression (anchored). */
export type Matchers = Record<string, string>;

const isRegex = (wanted: string) => wanted.length > 2 && wanted.startsWith('/') && wanted.endsWith('/');

/** The compiled form of a set of matchers; `problems` is empty when every matcher is usable. */
export interface CompiledMatchers {
  test(labels: Labels): boolean;
  problems: string[];
  /** True when it matches an alert with none of the labels named: a silence like that mutes (nearly) everything. */
  matchesEverything: boolean;
}

/**
 * Compiles matchers once. A regular expression that does not compile is a problem, never an exception: the
 * compiled form then matches nothing, so a bad stored silence can neither throw in an evaluation nor mute everything.
 */
export function compileMatchers(matchers: Matchers): CompiledMatchers {
  const problems: string[] = [];
  const tests = Object.entries(matchers).map(([name, wanted]): ((labels: Labels) => boolean) => {
    if (!isRegex(wanted)) return (labels) => (labels[name] ?? '') === wanted;
    try {
      const pattern = new RegExp(`^(?:${wanted.slice(1, -1)})$`);
      return (labels) => pattern.test(labels[name] ?? '');
    } catch (error) {
      problems.push(`${name}: ${wanted} is not a valid regular expression (${(error as Error).message.replace(/^Invalid regular expression: /, '')})`);
      return () => false;
    }
  });
  const test = (labels: Labels) => problems.length === 0 && tests.every((matches) => matches(labels));
  // As Alertmanager requires of silences: at least one matcher must not match the empty (absent) label.
  const matchesEverything = problems.length === 0 && test({});
  return { test, problems, matchesEverything };
}

export function matches(matchers: Matchers, labels: Labels): boolean {
  return compileMatchers(matchers).test(labels);
}

/** Problems with matchers an admin typed for a silence or maintenance window (each a sentence naming the matcher). */
export function windowMatcherProblems(matchers: Matchers, options: { force?: boolean } = {}): string[] {
  if (Object.keys(matchers).length === 0) return ['give at least one matcher, like service=api'];
  const compiled = compileMatchers(matchers);
  if (compiled.problems.length > 0) return compiled.problems;
  if (compiled.matchesEverything && !options.force) {
    return ['these matchers also match alerts without those labels, so they would mute nearly everything; to do that on purpose, force it (--force, or "force": true)'];
  }
  return [];
}

/** Matchers in config (routes, inhibition rules): every regular expression must compile. */
export const matchersSchema = z.record(z.string(), z.string()).superRefine((matchers, ctx) => {
  for (const [name, wanted] of Object.entries(matchers)) {
    for (const problem of compileMatchers({ [name]: wanted }).problems) ctx.addIssue({ code: 'custom', path: [name], message: problem.slice(name.length + 2) });
  }
});

/** Parses CLI/API matchers "service=api" into an object, naming what is wrong. */
export function parseMatchers(items: readonly string[]): Matchers {
  const result: Matchers = {};
  for (const item of items) {
    const at = item.indexOf('=');
    if (at <= 0) throw new Error(`matcher "${item}" must look like label=value (or label=/regex/)`);
    result[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  if (Object.keys(result).length === 0) throw new Error('give at least one matcher, like service=api');
  return result;
}

/** A stable identity for a set of labels. */
export function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${labels[name]}`)
    .join(',');
}
