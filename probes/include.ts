import { globSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { callSite } from '../core/config/call-site.ts';
import { isProbeDefinition, type AnyProbeDefinition } from './define.ts';

/** One deployment the same probe files are run against, e.g. { name: 'beta', baseUrl: 'https://beta.example.com' }. */
export interface Environment {
  name: string;
  [setting: string]: string;
}

/** What a probe file exports: definitions, or a function of the environment that returns them. */
export type ProbeModuleExport = AnyProbeDefinition | readonly AnyProbeDefinition[] | ((environment: Environment) => AnyProbeDefinition | readonly AnyProbeDefinition[]);

export interface IncludeOptions {
  /**
   * Run every probe file once per environment: a file exporting a function gets each environment as its argument
   * (use it for URLs and names), and every definition gets the label environment=<name> unless it sets one.
   */
  environments?: readonly Environment[];
}

function definitionsOf(exported: unknown, file: string): AnyProbeDefinition[] {
  if (Array.isArray(exported)) return exported as AnyProbeDefinition[];
  if (exported === undefined) return [];
  if (!isProbeDefinition(exported)) throw new Error(`${file}: exports something that is not a probe definition; export http({ ... }) and the like, an array of them, or a function of the environment returning them`);
  return [exported];
}

function labelled(definition: AnyProbeDefinition, environment: string): AnyProbeDefinition {
  if (!isProbeDefinition(definition) || !definition.valid || definition.labels.environment) return definition;
  return { ...definition, labels: { ...definition.labels, environment } };
}

/**
 * The probe definitions exported by the files matching `pattern` (relative to the file that calls `include`), in
 * path order. Every export of a file counts. Definitions keep the file:line they were written at.
 */
export function include(pattern: string, options: IncludeOptions = {}): AnyProbeDefinition[] {
  const caller = callSite(include).replace(/:\d+$/, '');
  const base = caller.startsWith('<') ? process.cwd() : path.dirname(caller);
  const files = globSync(pattern, { cwd: base }).map((file) => path.resolve(base, file)).sort();
  const load = createRequire(path.join(base, 'noop.js'));
  return files.flatMap((file) => {
    // require() of an ES module returns its namespace, marked with __esModule; every other export counts.
    const exports = Object.entries(load(file) as Record<string, unknown>).filter(([name]) => name !== '__esModule').map(([, value]) => value);
    return exports.flatMap((exported) => {
      if (typeof exported !== 'function') return definitionsOf(exported, file);
      const environments = options.environments ?? [];
      if (environments.length === 0) throw new Error(`${file}: exports a function of the environment, but include() was given no environments`);
      return environments.flatMap((environment) => definitionsOf((exported as (environment: Environment) => unknown)(environment), file).map((definition) => labelled(definition, environment.name)));
    });
  });
}
