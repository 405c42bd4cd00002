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
  'banner.maintenanceNow': '{title}: under way until {till} {zone}.',
  'banner.maintenanceSoon': '{title}: from {from} till {till} {zone}.',
  'banner.backUpLink': "Tell me when it's back up",
  'banner.statusLink': 'Status',
  'banner.dismiss': 'Dismiss',
  'subscribe.link': 'Subscribe to updates',
  'subscribe.title': 'Subscribe to updates',
  'subscribe.intro': 'Get an email when maintenance is scheduled for what you use, before it starts, and when it ends.',
  'subscribe.email': 'Email address',
  'subscribe.scope': 'What to hear about',
  'subscribe.all': 'Every component',
  'subscribe.some': 'Only the components ticked below',
  'subscribe.webhook': 'Webhook URL (optional): the same news as signed JSON POSTs to an https address',
  'subscribe.submit': 'Subscribe',
  'subscribe.backUpTitle': "Tell me when it's back up",
  'subscribe.backUpIntro': 'We will send you one email when "{incident}" is resolved, and nothing else.',
  'subscribe.backUpSubmit': 'Email me once it is back up',
  'subscribe.noIncident': 'That incident is over: what it affected works again.',
  'subscribe.checkInbox': 'Check your inbox. If the address can receive mail, a message with a confirmation link is on its way; nothing else is sent until you confirm.',
  'subscribe.invalidEmail': 'Enter an email address, like name@example.com.',
  'subscribe.invalidWebhook': 'Enter the webhook as an https URL, like https://example.com/hooks/status.',
  'subscribe.invalidComponents': 'Tick at least one component, or choose every component.',
  'subscribe.tooMany': 'Too many subscription requests. Please try again in {minutes} minutes.',
  'subscribe.confirmTitle': 'Confirm your subscription',
  'subscribe.confirmButton': 'Confirm',
  'subscribe.confirmed': 'Your subscription is confirmed.',
  'subscribe.confirmedBackUp': 'Confirmed: we will email you once when "{incident}" is resolved.',
  'subscribe.webhookSecret': 'The secret your webhook checks X-Vigil-Signature with (shown only now):',
  'subscribe.linkInvalid': 'This link has expired or was used already. Subscribe again to get a new one.',
  'subscribe.unsubscribeTitle': 'Unsubscribe',
  'subscribe.unsubscribeButton': 'Unsubscribe',
  'subscribe.unsubscribed': 'You are unsubscribed and will get no more messages from us.',
  'mail.unsubscribe': 'Unsubscribe',
  'mail.allComponents': 'every component',
  'mail.confirmSubject': '{page}: confirm your subscription',
  'mail.confirmBody': 'Someone, hopefully you, asked to get news from {page} about {what}. Confirm within {hours} hours with this link:',
  'mail.confirmBackUpSubject': '{page}: confirm, and we will tell you when it is back up',
  'mail.confirmBackUpBody': 'We have your request to hear when "{incident}" is resolved. Confirm it with this link and we will send you one email then:',
  'mail.confirmLink': 'Confirm',
  'mail.ignore': 'If you did not ask for this, ignore this message: nothing else will be sent.',
  'mail.backUpSubject': '{page}: {incident} is resolved',
  'mail.backUpBody': '"{incident}" is resolved, and what it affected works again. This was a one-time message: you will not hear from us again about it.',
  'mail.maintenance.scheduled': '{page}: maintenance scheduled: {title}',
  'mail.maintenance.rescheduled': '{page}: maintenance moved: {title}',
  'mail.maintenance.reminder': '{page}: reminder: maintenance {title}',
  'mail.maintenance.started': '{page}: maintenance under way: {title}',
  'mail.maintenance.ended': '{page}: maintenance over: {title}',
  'mail.maintenance.cancelled': '{page}: maintenance cancelled: {title}',
  'mail.maintenance.when': 'When',
  'mail.maintenance.affects': 'Affects',
  'mail.maintenance.details': 'Details',
  'mail.maintenance.calendar': 'The attached calendar entry keeps your calendar up to date.',
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

/** Puts values into a string's `{name}` placeholders. */
export const fillIn = (text: string, values: Record<string, string>) => text.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
