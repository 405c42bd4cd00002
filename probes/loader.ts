import { formatDuration } from '../core/config/duration.ts';
import { attemptBudget, describeSchedule, isProbeDefinition, throwSite, type ProbeKind } from './define.ts';
import { period } from './schedule.ts';
import { isKnownDefinition, KINDS, type KnownProbeDefinition } from './registry.ts';

export interface LoadedProbe {
  definition: KnownProbeDefinition;
  kind: ProbeKind;
}

export interface LoadedProbes {
  probes: LoadedProbe[];
  /** One line per definition that is skipped, naming the file, line, probe and field. */
  problems: string[];
  /** Definitions that run but probably not as meant (a run that can outlast its interval). */
  warnings: string[];
}

/** Sorts the config's `probes:` entries into runnable probes and reported problems (bad fields, unknown entries, duplicate names). */
export function loadProbes(entries: readonly unknown[]): LoadedProbes {
  const probes: LoadedProbe[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  const tokens = new Map<string, string>();
  entries.forEach((given, index) => {
    let entry = given;
    if (typeof given === 'function') {
      // A definition given as a function (`() => http(...)`) is built here, so one that throws is skipped, not the whole config.
      try {
        entry = (given as () => unknown)();
      } catch (error) {
        const { entry: at, thrown } = throwSite(error);
        problems.push(`${at}: probes[${index}] threw while it was built${thrown === at ? '' : ` (at ${thrown})`}: ${(error as Error).message}`);
        return;
      }
    }
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
    if (entry.kind === 'heartbeat') {
      const token = entry.options.token.reveal();
      const other = tokens.get(token);
      if (other) {
        problems.push(`${label}: token: the same token as heartbeat probe "${other}"; each heartbeat needs its own`);
        return;
      }
      tokens.set(token, entry.name);
    }
    seen.set(entry.name, entry.source);
    const budget = attemptBudget(entry);
    if (budget > period(entry.schedule)) {
      warnings.push(`${label}: a run can take ${formatDuration(budget)} (timeout × attempts + retry delays), longer than its ${describeSchedule(entry.schedule)}; slots that come while it runs are skipped`);
    }
    probes.push({ definition: entry, kind });
  });
  return { probes, problems, warnings };
}
