// The status page's decisions, each a pure function of its inputs (table-tested).
import type { ProbeState } from '../probes/index.ts';

/** Statuspage's component states, best first (under_maintenance is shown but ranks by itself). */
export const COMPONENT_STATUSES = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'] as const;
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];

export const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved', 'postmortem'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export const IMPACTS = ['none', 'minor', 'major', 'critical'] as const;
export type Impact = (typeof IMPACTS)[number];

export type Indicator = Impact | 'maintenance';

export const MAINTENANCE_STATUSES = ['scheduled', 'in_progress', 'verifying', 'completed', 'cancelled'] as const;
export type MaintenanceStatus = (typeof MAINTENANCE_STATUSES)[number];

const OUTAGE_RANK: Record<Exclude<ComponentStatus, 'under_maintenance'>, number> = { operational: 0, degraded_performance: 1, partial_outage: 2, major_outage: 3 };

function worse(a: ComponentStatus, b: ComponentStatus): ComponentStatus {
  if (a === 'under_maintenance' || b === 'under_maintenance') return a === 'under_maintenance' ? b : a;
  return OUTAGE_RANK[b] > OUTAGE_RANK[a] ? b : a;
}

/** The worst of several components' states (a group's state); under_maintenance only when all are. */
export function worstComponentStatus(statuses: readonly ComponentStatus[]): ComponentStatus {
  if (statuses.length > 0 && statuses.every((status) => status === 'under_maintenance')) return 'under_maintenance';
  return statuses.reduce<ComponentStatus>((worst, status) => (status === 'under_maintenance' ? worst : worse(worst, status)), 'operational');
}

export interface ComponentInputs {
  /** The quorum state of each probe the component is made of. */
  probes: readonly ProbeState[];
  /** How many probes down make a major outage (fewer, at least one: partial outage); default all. */
  quorum?: number;
  /** Severities (the `severity` label) of the firing alert incidents of the component's rules and probes. */
  firingSeverities: readonly string[];
  /** Statuses that unresolved public incidents set for the component. */
  incidentStatuses: readonly ComponentStatus[];
  /** A maintenance of the component is in progress. */
  inMaintenance: boolean;
  /** An admin's override, which wins over everything. */
  override?: ComponentStatus | undefined;
}

/**
 * A component's state: the admin override if set; else under_maintenance while a maintenance of it is in progress;
 * else the worst of: probes down (at least `quorum` → major_outage, some → partial_outage), firing alert incidents
 * (critical → major_outage, any other severity → degraded_performance) and open public incidents' statuses.
 * Unknown probes (no result yet) count as nothing.
 */
export function componentState(inputs: ComponentInputs): ComponentStatus {
  if (inputs.override) return inputs.override;
  if (inputs.inMaintenance) return 'under_maintenance';
  let state: ComponentStatus = 'operational';
  const down = inputs.probes.filter((probe) => probe === 'down').length;
  if (down > 0) state = down >= (inputs.quorum ?? inputs.probes.length) ? 'major_outage' : 'partial_outage';
  for (const severity of inputs.firingSeverities) state = worse(state, severity === 'critical' ? 'major_outage' : 'degraded_performance');
  for (const status of inputs.incidentStatuses) state = worse(state, status === 'under_maintenance' ? 'operational' : status);
  return state;
}

const INDICATOR_OF: Record<ComponentStatus, Indicator> = { operational: 'none', degraded_performance: 'minor', partial_outage: 'major', major_outage: 'critical', under_maintenance: 'maintenance' };

const INDICATOR_RANK: Record<Indicator, number> = { none: 0, maintenance: 1, minor: 2, major: 3, critical: 4 };

/** The overall indicator: from the worst component and the highest impact of the unresolved incidents; maintenance only when nothing is worse. */
export function overallIndicator(components: readonly ComponentStatus[], openImpacts: readonly Impact[] = []): Indicator {
  let indicator: Indicator = 'none';
  for (const candidate of [...components.map((status) => INDICATOR_OF[status]), ...openImpacts]) {
    if (INDICATOR_RANK[candidate] > INDICATOR_RANK[indicator]) indicator = candidate;
  }
  return indicator;
}

/** The impact an incident gets from the worst state it sets on a component. */
export function impactOf(statuses: readonly ComponentStatus[]): Impact {
  const indicator = overallIndicator(statuses);
  return indicator === 'maintenance' ? 'none' : indicator;
}

export interface MaintenanceTimes {
  startsAt: number;
  endsAt: number;
  cancelledAt: number | null;
}

/**
 * Where a maintenance is on the clock: scheduled before its start, in_progress inside its window, verifying for
 * `verifyFor` after its end (the work is done, the team checks), then completed. Only a maintenance that has not
 * started can be cancelled; one cut short while running ends early and completes as usual.
 */
export function maintenanceStatus(maintenance: MaintenanceTimes, now: number, verifyFor: number): MaintenanceStatus {
  if (maintenance.cancelledAt !== null) return 'cancelled';
  if (now < maintenance.startsAt) return 'scheduled';
  if (now < maintenance.endsAt) return 'in_progress';
  if (now < maintenance.endsAt + verifyFor) return 'verifying';
  return 'completed';
}

/** The moments at which a maintenance changed (or will change) status, for its public updates. */
export function maintenanceTransitions(maintenance: MaintenanceTimes & { createdAt: number }, verifyFor: number): Array<{ status: MaintenanceStatus; at: number }> {
  if (maintenance.cancelledAt !== null) return [{ status: 'scheduled', at: maintenance.createdAt }, { status: 'cancelled', at: maintenance.cancelledAt }];
  return [
    { status: 'scheduled', at: maintenance.createdAt },
    { status: 'in_progress', at: maintenance.startsAt },
    ...(verifyFor > 0 ? [{ status: 'verifying' as const, at: maintenance.endsAt }] : []),
    { status: 'completed', at: maintenance.endsAt + verifyFor },
  ];
}

/** Whether a public incident opened from an alert should resolve: its alert recovered and the hold passed with no relapse. */
export function holdElapsed(incident: { status: IncidentStatus; monitoringAt: number | null }, now: number, hold: number): boolean {
  return incident.status === 'monitoring' && incident.monitoringAt !== null && now >= incident.monitoringAt + hold;
}
