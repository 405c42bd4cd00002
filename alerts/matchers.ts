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

/** A stable identity for a set of labels. */
export function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${labels[name]}`)
    .join(',');
}
