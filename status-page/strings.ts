import type { ComponentStatus, Indicator, IncidentStatus, MaintenanceStatus } from './state.ts';

/** Every public text of the page in English; `branding.strings` replaces any of them at run time. */
export const DEFAULT_STRINGS = {
  'indicator.none': 'All Systems Operational',
  'indicator.minor': 'Minor Service Outage',
  'indicator.major': 'Partial System Outage',
  'indicator.critical': 'Major System Outage',
  'indicator.maintenance': 'Service Under Maintenance',
  'component.operational': 'Operational',
  'component.degraded_performance': 'Degraded Performance',
  'component.partial_outage': 'Partial Outage',
  'component.major_outage': 'Major Outage',
  'component.under_maintenance': 'Under Maintenance',
  'incident.investigating': 'Investigating',
  'incident.identified': 'Identified',
  'incident.monitoring': 'Monitoring',
  'incident.resolved': 'Resolved',
  'incident.postmortem': 'Postmortem',
  'maintenance.scheduled': 'Scheduled',
  'maintenance.in_progress': 'In progress',
  'maintenance.verifying': 'Verifying',
  'maintenance.completed': 'Completed',
  'maintenance.cancelled': 'Cancelled',
  activeIncidents: 'Active incidents',
  maintenance: 'Scheduled maintenance',
  components: 'Components',
  uptimeOver: 'Uptime over the last 90 days',
  uptimeTable: 'Uptime as a table',
  pastIncidents: 'Past incidents',
  history: 'Incident history',
  noIncidents: 'No incidents reported.',
  older: 'Older',
  newer: 'Newer',
  affects: 'Affects',
  day: 'Day',
  noData: 'no data',
  uptime: 'uptime',
  incident: 'incident',
  incidents: 'incidents',
  postmortem: 'Postmortem',
  subscribe: 'Feeds',
  backToStatus: 'Current status',
  poweredBy: 'Powered by Vigil',
  'banner.automatic': '{components} is slower than usual; uploads are safe and will finish automatically.',
  'banner.automaticOutage': '{components} is not working at the moment; we are working on it.',
  'banner.someServices': 'Some of our services',
  'banner.maintenanceNow': '{title}: under way until {till} {zone}.',
  'banner.maintenanceSoon': '{title}: from {from} till {till} {zone}.',
  'banner.backUpLink': "Tell me when it's back up",
  'banner.statusLink': 'Status',
  'banner.dismiss': 'Dismiss',
} as const;

export type StringKey = keyof typeof DEFAULT_STRINGS;
export type Strings = Record<StringKey, string>;

export function stringsOf(overrides: Record<string, string>): Strings {
  const strings: Record<string, string> = { ...DEFAULT_STRINGS };
  for (const [key, value] of Object.entries(overrides)) if (key in strings && value.trim()) strings[key] = value;
  return strings as Strings;
}

export const indicatorText = (strings: Strings, indicator: Indicator) => strings[`indicator.${indicator}`];
export const componentText = (strings: Strings, status: ComponentStatus) => strings[`component.${status}`];
export const incidentText = (strings: Strings, status: IncidentStatus) => strings[`incident.${status}`];
export const maintenanceText = (strings: Strings, status: MaintenanceStatus) => strings[`maintenance.${status}`];
