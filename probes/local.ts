import type { Registry } from '../core/telemetry/metrics.ts';
import type { Recorded } from './results.ts';
import { nextLocationState, quorumState, type LocationState } from './state.ts';
import type { ProbeStatus } from './types.ts';

/**
 * What this process saw of its own probe runs, kept in memory: the state machine of probes/state.ts applied to the
 * runs it recorded, and how many of them still wait for the store. Alerting reads it while the store is unreachable.
 */
export interface LocalProbeView {
  observe(recorded: Recorded): void;
  /** Each probe as this process's locations see it (a quorum larger than they are never reads down). */
  statuses(now: number): ProbeStatus[];
  /** Results recorded here and not yet in the store. */
  pending(): number;
  setPending(count: number): void;
  /** The recorder wrote these runs to the store. */
  stored(results: readonly Recorded['result'][]): void;
  /** Calls `listener` once a run that changed its probe's state is in the store (alerting evaluates at once on it). */
  onDecided(listener: (probe: string) => void): void;
}

interface LocalLocation extends LocationState {
  location: string;
  silentAfter: number;
}

interface LocalProbe {
  kind: string;
  labels: Record<string, string>;
  quorum: number;
  lastResult: Recorded['result'];
  locations: Map<string, LocalLocation>;
}

const views = new WeakMap<Registry, LocalProbeView>();

/** The view of the process that owns `registry` (the probes module writes it, alerting reads it). */
export function localProbeView(registry: Registry): LocalProbeView {
  const existing = views.get(registry);
  if (existing) return existing;
  const probes = new Map<string, LocalProbe>();
  let pending = 0;
  /** Runs that changed their probe's state, until the store has them. */
  const deciding = new WeakSet<Recorded['result']>();
  const listeners: Array<(probe: string) => void> = [];
  const stateOf = (probe: LocalProbe, at: number) => quorumState([...probe.locations.values()], probe.quorum, at);
  const view: LocalProbeView = {
    observe({ result, thresholds }) {
      const probe = probes.get(result.probe) ?? { kind: result.kind, labels: thresholds.labels, quorum: thresholds.quorum, lastResult: result, locations: new Map() };
      const before = stateOf(probe, result.startedAt);
      const previous = probe.locations.get(result.location);
      const next = nextLocationState(previous, { success: result.success, degraded: result.degraded ?? false, at: result.startedAt }, thresholds);
      probe.locations.set(result.location, { ...next, location: result.location, silentAfter: result.startedAt + thresholds.silentAfterMs });
      Object.assign(probe, { kind: result.kind, labels: thresholds.labels, quorum: thresholds.quorum, lastResult: result });
      probes.set(result.probe, probe);
      if (stateOf(probe, result.startedAt) !== before) deciding.add(result);
    },
    stored(results) {
      for (const result of results) {
        if (!deciding.delete(result)) continue;
        for (const listener of listeners) listener(result.probe);
      }
    },
    onDecided(listener) {
      listeners.push(listener);
    },
    statuses(now) {
      return [...probes].map(([name, probe]) => {
        const locations = [...probe.locations.values()];
        const last = locations.find((location) => location.location === probe.lastResult.location)!;
        return {
          probe: name,
          kind: probe.kind,
          labels: probe.labels,
          state: quorumState(locations, probe.quorum, now),
          since: last.since,
          consecutiveFailures: last.consecutiveFailures,
          consecutiveSuccesses: last.consecutiveSuccesses,
          lastResult: probe.lastResult,
          locations: locations.map((location) => ({ location: location.location, state: location.state, ...(location.silentAfter < now ? { silent: true as const } : {}) })),
        };
      });
    },
    pending: () => pending,
    setPending(count) {
      pending = count;
    },
  };
  views.set(registry, view);
  return view;
}
