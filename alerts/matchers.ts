import type { Labels } from './config.ts';

/** `{ service: 'api' }` matches equal values; `{ service: '/api|web/' }` matches a regular expression (anchored). */
export type Matchers = Record<string, string>;

export function matches(matchers: Matchers, labels: Labels): boolean {
  return Object.entries(matchers).every(([name, wanted]) => {
    const value = labels[name] ?? '';
    if (wanted.length > 2 && wanted.startsWith('/') && wanted.endsWith('/')) return new RegExp(`^(?:${wanted.slice(1, -1)})$`).test(value);
    return value === wanted;
  });
}

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
