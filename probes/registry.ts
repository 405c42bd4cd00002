import type { z } from 'zod';
import type { ProbeConstructor, ProbeDefinition, ProbeKind } from './define.ts';
import * as constructors from './kinds/index.ts';

type Constructors = typeof constructors;

/** The kind names in the registry. */
export type KindName = Constructors[keyof Constructors]['kind']['kind'];

/** A valid definition of any registered kind; checking `kind` narrows its options. */
export type KnownProbeDefinition = {
  [K in keyof Constructors]: Constructors[K] extends ProbeConstructor<infer Options, infer Name> ? ProbeDefinition<z.output<Options>, Name> : never;
}[keyof Constructors];

/** Every registered kind by name. */
export const KINDS: ReadonlyMap<string, ProbeKind> = new Map(Object.values(constructors).map((construct): [string, ProbeKind] => [construct.kind.kind, construct.kind]));

export function isKnownDefinition(definition: ProbeDefinition): definition is KnownProbeDefinition {
  return KINDS.has(definition.kind);
}
