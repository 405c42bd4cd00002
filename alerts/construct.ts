import { z } from 'zod';
import { callSite } from '../core/config/call-site.ts';
import { formatIssues } from '../core/config/load.ts';

// Rules, receivers and routes are constructs like probes: the constructor vigil.config.ts calls records its file:line,
// and a bad field is reported with it and the field's path (by the config load and `vigil validate`).

const SOURCE = Symbol.for('vigil.config-source');

/** Marks a config value with the file:line of the constructor call that made it. */
export function located<T extends object>(value: T, constructor: (...args: never[]) => unknown): T {
  Object.defineProperty(value, SOURCE, { value: callSite(constructor), enumerable: false });
  return value;
}

const sourceOf = (value: unknown): string | undefined => (typeof value === 'object' && value !== null ? (value as Record<symbol, string | undefined>)[SOURCE] : undefined);

/** `schema`, reporting a bad entry as "<file:line>: <field>: <problem>" when a constructor made it. */
export function construct<S extends z.ZodType>(schema: S) {
  return z.custom<z.input<S>>().transform((value, ctx): z.output<S> => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const source = sourceOf(value);
    for (const problem of formatIssues(parsed.error)) ctx.addIssue({ code: 'custom', message: source ? `${source}: ${problem.replace(/^\(root\): /, '')}` : problem });
    return z.NEVER;
  });
}

interface Entry {
  constructorName: string;
  schema: z.ZodType;
}

type Constructors<Tag extends string, T extends readonly Entry[]> = { [E in T[number] as E['constructorName']]: (input: Omit<z.input<E['schema']>, Tag>) => z.input<E['schema']> };

/** The typed constructors of a registry, by name: `emailReceiver({ to })` makes `{ type: 'email', to }`, located. */
export function constructorsOf<Tag extends string, const T extends readonly (Entry & Record<Tag, string>)[]>(tag: Tag, entries: T): Constructors<Tag, T> {
  return Object.fromEntries(
    entries.map((entry) => {
      const make = (input: object): object => located({ ...input, [tag]: entry[tag] }, make);
      return [entry.constructorName, make];
    }),
  ) as Constructors<Tag, T>;
}

/** The schemas of a registry, as the tuple `z.discriminatedUnion` takes. */
export const schemasOf = <const T extends readonly { schema: z.ZodType }[]>(entries: T) => entries.map((entry) => entry.schema) as { -readonly [K in keyof T]: T[K]['schema'] };
