import { z } from 'zod';
import { formatIssues } from '../core/config/load.ts';
import { callSite, carriesBrand, type RefusedEntry } from '../core/config/call-site.ts';

const COMPONENT = Symbol.for('vigil.status-component');

const componentSchema = z.strictObject({
  /** The public name; probe names, URLs and labels never reach the page. */
  name: z.string().trim().min(1).max(100),
  /** Stable id in URLs and the JSON API (`/components/:id/badge.svg`); derived from the name when absent. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use lowercase letters, digits and "-" (at most 63)').optional(),
  description: z.string().max(500).optional(),
  /** Components with the same group are shown together under it. */
  group: z.string().trim().min(1).max(100).optional(),
  /** "if-degraded": listed only while it is not operational. */
  show: z.enum(['always', 'if-degraded']).default('always'),
  from: z
    .strictObject({
      /** Probe names whose quorum state drives the component. */
      probes: z.array(z.string().min(1)).default([]),
      /** Alert rule names whose firing incidents drive the component (severity critical → major outage, else degraded). */
      rules: z.array(z.string().min(1)).default([]),
    })
    .refine((from) => from.probes.length + from.rules.length > 0, { message: 'name at least one probe or rule the component is made of' }),
  /** How many of its probes must be down for a major outage (fewer down: partial outage); default all of them. */
  quorum: z.number().int().min(1).optional(),
});

type ComponentFields = z.output<typeof componentSchema>;

export interface ComponentDefinition extends Omit<ComponentFields, 'id'> {
  readonly [COMPONENT]: true;
  readonly valid: true;
  id: string;
  /** file:line of the `component(...)` call. */
  source: string;
}

export interface InvalidComponentDefinition extends RefusedEntry {
  readonly [COMPONENT]: true;
}

export type AnyComponentDefinition = ComponentDefinition | InvalidComponentDefinition;

export function isComponentDefinition(value: unknown): value is AnyComponentDefinition {
  return carriesBrand(value, COMPONENT);
}

/** A URL-safe id from a public name: "Video Uploads" → "video-uploads". */
export const slugOf = (name: string) =>
  name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63) || 'component';

/** A public status-page component in vigil.config.ts. It never throws: a bad field gives an invalid definition naming the file, line and field. */
export function component(input: z.input<typeof componentSchema>): AnyComponentDefinition {
  const source = callSite(component);
  const parsed = componentSchema.safeParse(input);
  if (!parsed.success) {
    const name = typeof (input as { name?: unknown } | undefined)?.name === 'string' ? input.name : undefined;
    return { [COMPONENT]: true, valid: false, ...(name ? { name } : {}), source, issues: formatIssues(parsed.error) };
  }
  const { id, ...fields } = parsed.data;
  if (fields.quorum !== undefined && fields.quorum > fields.from.probes.length) {
    return { [COMPONENT]: true, valid: false, name: fields.name, source, issues: [`quorum: ${fields.quorum} is more than the ${fields.from.probes.length} probe(s) listed in from.probes`] };
  }
  return { ...fields, [COMPONENT]: true, valid: true, id: id ?? slugOf(fields.name), source };
}

export interface LoadedComponents {
  components: ComponentDefinition[];
  /** One line per skipped component, naming the file, line, component and field. */
  problems: string[];
}

/** Sorts `statusPage.components` into usable components and problems (bad fields, unknown probes or rules, duplicate ids). */
export function loadComponents(entries: readonly unknown[], known: { probes: ReadonlySet<string>; rules: ReadonlySet<string> }): LoadedComponents {
  const components: ComponentDefinition[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  entries.forEach((entry, index) => {
    if (!isComponentDefinition(entry)) {
      problems.push(`statusPage.components[${index}]: not a component; build each entry with component({ ... })`);
      return;
    }
    const label = `${entry.source}: component${entry.name ? ` "${entry.name}"` : ''}`;
    if (!entry.valid) {
      problems.push(`${label}: ${entry.issues.join('; ')}`);
      return;
    }
    const unknown = [
      ...entry.from.probes.filter((probe) => !known.probes.has(probe)).map((probe) => `from.probes: no probe named "${probe}" in probes`),
      ...entry.from.rules.filter((rule) => !known.rules.has(rule)).map((rule) => `from.rules: no rule named "${rule}" in alerts.rules`),
    ];
    if (unknown.length > 0) {
      problems.push(`${label}: ${unknown.join('; ')}`);
      return;
    }
    const first = seen.get(entry.id);
    if (first) {
      problems.push(`${label}: id: "${entry.id}" is already used by the component at ${first}`);
      return;
    }
    seen.set(entry.id, entry.source);
    components.push(entry);
  });
  return { components, problems };
}
