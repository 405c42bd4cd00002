// What the on-call engineer reads: one wording per event, shared by every receiver. The subject alone says severity,
// state, service, environment and what is wrong: "[CRITICAL] FIRING api (production): api-ready down — ...".
import { STORE_UNAVAILABLE_RULE } from './decide.ts';
import type { Incident, NotificationEvent } from './types.ts';

export type Severity = 'critical' | 'warning' | 'info';

/** Where the engineer goes next; every link optional (no public URL, no admin token, no runbook label). */
export interface IncidentLinks {
  incident?: string;
  runbook?: string;
  acknowledge?: string;
  silence?: string;
}

export interface MessageContext {
  event: NotificationEvent;
  /** The incidents of one group; the first one leads the subject. */
  incidents: readonly Incident[];
  now: number;
  links?: (incident: Incident) => IncidentLinks;
}

export function severityOf(incident: Incident): Severity {
  const severity = incident.labels.severity;
  return severity === 'critical' || severity === 'info' ? severity : 'warning';
}

const STATE_WORDS: Record<NotificationEvent, string> = {
  warning: 'FIRING',
  emergency: 'EMERGENCY',
  up: 'RESOLVED',
  flapping: 'FLAPPING',
  repeat: 'STILL FIRING',
  retry: 'RETRY',
};

/** "[CRITICAL] FIRING"; an UP reads "[RESOLVED]" alone, whatever the severity was. */
export function headlineOf(event: NotificationEvent, incident: Incident): string {
  return event === 'up' ? '[RESOLVED]' : `[${severityOf(incident).toUpperCase()}] ${STATE_WORDS[event]}`;
}

/** "4 m 12 s", "2 h 5 m", "3 d 4 h", "12 s". */
export function formatSpan(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const parts: Array<[number, string]> = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor((seconds % 86_400) / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [seconds % 60, 's'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  if (first === -1) return '0 s';
  return parts
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value} ${unit}`)
    .join(' ');
}

/** "api (production)": the service (or the rule) and the environment when labelled. */
export function serviceOf(incident: Incident): string {
  const service = incident.labels.service ?? incident.rule;
  return incident.labels.environment ? `${service} (${incident.labels.environment})` : service;
}

/** The check that is down or back: the probe, else the rule. */
const checkOf = (incident: Incident) => incident.labels.probe ?? incident.rule;

const outage = (incident: Incident, now: number) => formatSpan((incident.resolvedAt ?? now) - (incident.firedAt ?? incident.startedAt));

/** What happened, without the headline: "api-ready down — expected status 200, got 503" or "api-ready back up after 4 m 12 s". */
export function whatOf(event: NotificationEvent, incident: Incident, now: number): string {
  switch (event) {
    case 'up':
      // The store's own outage counts from its first failed answer, not from when the grace ran out.
      if (incident.rule === STORE_UNAVAILABLE_RULE) return `the store is reachable again after ${formatSpan((incident.resolvedAt ?? now) - incident.startedAt)} down`;
      return `${checkOf(incident)} back up after ${outage(incident, now)}`;
    case 'emergency':
      return `${incident.summary} — automatic recovery gave up, a person is needed`;
    case 'flapping':
      return `${incident.summary} — changes state too often; notices paused until it settles`;
    case 'repeat':
      return `${incident.summary} — for ${outage(incident, now)}`;
    case 'retry':
      return `${incident.summary} — hooks may try again after a reset`;
    case 'warning':
      return incident.summary;
  }
}

export function subjectOf(message: MessageContext): string {
  const [first, ...more] = message.incidents;
  const lead = first!;
  const others = more.length > 0 ? ` (+${more.length} more)` : '';
  return `${headlineOf(message.event, lead)} ${serviceOf(lead)}: ${whatOf(message.event, lead, message.now)}${others}`;
}

/** A Slack thread reply or chat line: the state word and what happened, no repeated tag. */
export function replyOf(message: MessageContext): string {
  const lead = message.incidents[0]!;
  return `${STATE_WORDS[message.event]}: ${whatOf(message.event, lead, message.now)}${message.incidents.length > 1 ? ` (+${message.incidents.length - 1} more)` : ''}`;
}

const LEADS: Record<NotificationEvent, string> = {
  warning: 'Firing: this needs a look.',
  emergency: 'Emergency: automatic recovery has given up. After fixing the cause, reset it (vigil incident reset <id>) so the hooks may act again.',
  up: 'Resolved: it is back up.',
  flapping: 'Flapping: this alert changes state too often; further notices are paused until it settles.',
  repeat: 'Still firing.',
  retry: 'Reset: hooks may try again.',
};

const isoMinute = (ms: number | null) => (ms === null ? '—' : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`);

/** The facts about one incident as label/value rows, in reading order (the email, Slack and webhook bodies use them). */
export function factsOf(incident: Incident, now: number): Array<[string, string]> {
  const { service, environment, severity: _severity, probe, target, location, ...others } = incident.labels;
  const facts: Array<[string, string]> = [
    // Id 0: raised from memory while the store is unreachable; it gets its id when the store returns.
    ['Incident', `${incident.id > 0 ? `#${incident.id}` : 'not recorded yet'} (${incident.state}${incident.flapping ? ', flapping' : ''}${incident.ackedBy ? `, acknowledged by ${incident.ackedBy}` : ''})`],
    ['What', incident.summary],
  ];
  if (incident.lastSummary && incident.lastSummary !== incident.summary) facts.push(['Latest', incident.lastSummary]);
  if (target ?? probe) facts.push(['Target', target ?? probe!]);
  facts.push(['Severity', severityOf(incident)]);
  facts.push(['Service', service ?? '—']);
  if (environment) facts.push(['Environment', environment]);
  if (location) facts.push(['Location', location]);
  facts.push(['Since', `${isoMinute(incident.firedAt ?? incident.startedAt)} (${outage(incident, now)}${incident.resolvedAt ? '' : ' so far'})`]);
  if (incident.resolvedAt) facts.push(['Resolved', isoMinute(incident.resolvedAt)]);
  const rest = Object.entries(others).filter(([name]) => name !== 'runbook');
  if (rest.length > 0) facts.push(['Labels', rest.map(([name, value]) => `${name}=${value}`).join(', ')]);
  facts.push(['Rule', incident.rule]);
  return facts;
}

const LINK_TITLES: Record<keyof IncidentLinks, string> = { incident: 'Open the incident', runbook: 'Runbook', acknowledge: 'Acknowledge', silence: 'Silence for 1 hour' };

export function linksOf(message: MessageContext, incident: Incident): Array<[string, string]> {
  const links: IncidentLinks = { ...(incident.labels.runbook ? { runbook: incident.labels.runbook } : {}), ...message.links?.(incident) };
  return (Object.keys(LINK_TITLES) as Array<keyof IncidentLinks>).flatMap((name) => (links[name] && (message.event !== 'up' || name === 'incident' || name === 'runbook') ? [[LINK_TITLES[name], links[name]!] as [string, string]] : []));
}

export function textOf(message: MessageContext): string {
  const lines = [subjectOf(message), '', LEADS[message.event], ''];
  for (const incident of message.incidents) {
    const rows = [...factsOf(incident, message.now), ...linksOf(message, incident)];
    const width = Math.max(...rows.map(([name]) => name.length)) + 2;
    lines.push(...rows.map(([name, value]) => `${`${name}:`.padEnd(width)}${value}`), '');
  }
  return lines.join('\n');
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const COLORS: Record<NotificationEvent, string> = { warning: '#9a3412', emergency: '#991b1b', up: '#166534', flapping: '#854d0e', repeat: '#9a3412', retry: '#1e40af' };

/** Semantic HTML that reads the same with CSS off: a heading, a paragraph, a table of facts and plain links. */
export function htmlOf(message: MessageContext): string {
  const sections = message.incidents.map((incident) => {
    const rows = factsOf(incident, message.now)
      .map(([name, value]) => `<tr><th scope="row" align="left" style="padding:2px 12px 2px 0;vertical-align:top">${escapeHtml(name)}</th><td style="padding:2px 0">${escapeHtml(value)}</td></tr>`)
      .join('');
    const links = linksOf(message, incident)
      .map(([title, url]) => `<a href="${escapeHtml(url)}" style="margin-right:16px">${escapeHtml(title)}</a>`)
      .join(' ');
    return `<table role="presentation" style="border-collapse:collapse;margin:12px 0">${rows}</table>${links ? `<p>${links}</p>` : ''}`;
  });
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>',
    escapeHtml(subjectOf(message)),
    '</title></head><body style="font-family:system-ui,sans-serif;font-size:15px;color:#111">',
    `<h1 style="font-size:20px;color:${COLORS[message.event]}">${escapeHtml(subjectOf(message))}</h1>`,
    `<p>${escapeHtml(LEADS[message.event])}</p>`,
    sections.join('<hr>'),
    '<p style="color:#555;font-size:13px">Sent by Vigil.</p></body></html>',
  ].join('');
}
