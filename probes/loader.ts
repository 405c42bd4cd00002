import { isProbeDefinition, type ProbeKind } from './define.ts';
import { isKnownDefinition, KINDS, type KnownProbeDefinition } from './registry.ts';

export interface LoadedProbe {
  definition: KnownProbeDefinition;
  kind: ProbeKind;
}

export interface LoadedProbes {
  probes: LoadedProbe[];
  /** One line per definition that is skipped, naming the file, line, probe and field. */
  problems: string[];
}

/** Sorts the config's `probes:` entries into runnable probes and reported problems (bad fields, unknown entries, duplicate names). */
export function loadProbes(entries: readonly unknown[]): LoadedProbes {
  const probes: LoadedProbe[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  entries.forEach((entry, index) => {
    if (!isProbeDefinition(entry)) {
      problems.push(`probes[${index}]: not a probe definition; build each entry with a constructor such as http({ ... })`);
      return;
    }
    const label = `${entry.source}: ${entry.kind} probe${entry.name ? ` "${entry.name}"` : ''}`;
    if (!entry.valid) {
      problems.push(`${label}: ${entry.issues.join('; ')}`);
      return;
    }
    const kind = KINDS.get(entry.kind);
    if (!kind || !isKnownDefinition(entry)) {
      problems.push(`${label}: unknown kind "${entry.kind}"`);
      return;
    }
    const first = seen.get(entry.name);
    if (first) {
      problems.push(`${label}: name: duplicate probe name, already defined at ${first}`);
      return;
    }
    seen.set(entry.name, entry.source);
    probes.push({ definition: entry, kind });
  });
  return { probes, problems };
}
