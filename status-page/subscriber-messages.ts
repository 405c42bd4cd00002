// What subscribers receive, worded by the page's run-time strings: each email as plain text and HTML (one view model,
// escaped by the template engine) with an unsubscribe link and the RFC 8058 one-click headers; each webhook call as JSON.
import path from 'node:path';
import { createPages } from '../core/http/pages.ts';
import { fillIn } from '../core/text.ts';
import { calendarOf } from './ics.ts';
import type { DeliveryMessage } from './store.ts';
import type { IncidentStatus } from './state.ts';
import { incidentText, type Strings } from './strings.ts';
import { windowText } from './views.ts';

const pages = createPages(path.join(import.meta.dirname, 'views'));

/** What every message needs to know about the page that sends it. */
export interface Sender {
  strings: Strings;
  pageName: string;
  /** The status page's address, without a trailing slash. */
  pageUrl: string;
  /** The calendar entries' organizer: the page, at the address mail comes from. */
  organizerEmail: string;
  /** Unique per installation, so Message-IDs of two Vigils never collide. */
  installation: string;
}

interface EmailModel {
  subject: string;
  heading: string;
  paragraphs: string[];
  facts: Array<{ label: string; value: string }>;
  action?: { text: string; url: string };
}

/** A delivery's Message-ID: the same on every retry of it, so a copy sent in doubt is recognised as one. */
const messageIdOf = (key: string, installation: string) => `<${key.replace(/[^a-zA-Z0-9.-]/g, '.')}.${installation}@vigil.status>`;

function email(sender: Sender, to: { address: string; unsubscribeUrl: string }, key: string, model: EmailModel, attachments?: Array<{ filename: string; content: string; contentType: string }>): DeliveryMessage {
  const unsubscribe = { text: sender.strings['mail.unsubscribe'], url: to.unsubscribeUrl };
  const text = [
    model.heading,
    '',
    ...model.paragraphs.flatMap((paragraph) => [paragraph, '']),
    ...model.facts.map((fact) => `${fact.label}: ${fact.value}`),
    ...(model.facts.length > 0 ? [''] : []),
    ...(model.action ? [`${model.action.text}: ${model.action.url}`, ''] : []),
    '--',
    `${sender.pageName} · ${unsubscribe.text}: ${unsubscribe.url}`,
  ].join('\n');
  return {
    channel: 'email',
    to: to.address,
    subject: model.subject,
    text: `${text}\n`,
    html: pages.render('email', { ...model, lang: 'en', pageName: sender.pageName, unsubscribe }),
    headers: {
      'Message-ID': messageIdOf(key, sender.installation),
      'List-Unsubscribe': `<${to.unsubscribeUrl}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'Auto-Submitted': 'auto-generated',
    },
    ...(attachments ? { attachments } : {}),
  };
}

export interface Recipient {
  address: string;
  unsubscribeUrl: string;
}

/** The double opt-in message: nothing else reaches the address until its link is used. */
export function confirmationMessage(sender: Sender, to: Recipient, key: string, request: { confirmUrl: string; hours: number; components: string[] | null; incident?: string }): DeliveryMessage {
  const { strings } = sender;
  const values = { page: sender.pageName, incident: request.incident ?? '', what: request.components?.join(', ') ?? strings['mail.allComponents'], hours: String(request.hours) };
  const subject = fillIn(request.incident === undefined ? strings['mail.confirmSubject'] : strings['mail.confirmBackUpSubject'], values);
  const body = fillIn(request.incident === undefined ? strings['mail.confirmBody'] : strings['mail.confirmBackUpBody'], values);
  return email(sender, to, key, { subject, heading: subject, paragraphs: [body, strings['mail.ignore']], facts: [], action: { text: strings['mail.confirmLink'], url: request.confirmUrl } });
}

/** The one message of a one-shot subscription: the incident it followed is resolved. */
export function backUpMessage(sender: Sender, to: Recipient, key: string, incident: { id: number; name: string }): DeliveryMessage {
  const values = { page: sender.pageName, incident: incident.name };
  const subject = fillIn(sender.strings['mail.backUpSubject'], values);
  return email(sender, to, key, { subject, heading: subject, paragraphs: [fillIn(sender.strings['mail.backUpBody'], values)], facts: [], action: { text: sender.pageName, url: `${sender.pageUrl}/incidents/${incident.id}` } });
}

export interface IncidentFacts {
  id: number;
  name: string;
  impact: string;
  components: Array<{ id: string; name: string }>;
  update: { id: number; status: IncidentStatus; body: string; createdAt: number };
}

/** A public incident's opening, update or resolution, as its page shows it. */
export function incidentMessage(sender: Sender, to: Recipient, key: string, incident: IncidentFacts): DeliveryMessage {
  const { strings } = sender;
  const status = incidentText(strings, incident.update.status);
  const subject = fillIn(strings['mail.incident.subject'], { page: sender.pageName, status, incident: incident.name });
  return email(sender, to, key, {
    subject,
    heading: incident.name,
    paragraphs: [incident.update.body].filter(Boolean),
    facts: [
      { label: strings['mail.incident.status'], value: status },
      ...(incident.components.length > 0 ? [{ label: strings['mail.incident.affects'], value: incident.components.map((component) => component.name).join(', ') }] : []),
    ],
    action: { text: strings['mail.incident.details'], url: `${sender.pageUrl}/incidents/${incident.id}` },
  });
}

export function incidentWebhookFacts(incident: IncidentFacts, pageUrl: string): Record<string, unknown> {
  return {
    incident: { id: incident.id, name: incident.name, impact: incident.impact, components: incident.components.map((component) => component.id), url: `${pageUrl}/incidents/${incident.id}` },
    update: { id: incident.update.id, status: incident.update.status, body: incident.update.body, createdAt: new Date(incident.update.createdAt).toISOString() },
  };
}

export type MaintenanceMailKind = 'scheduled' | 'rescheduled' | 'reminder' | 'started' | 'ended' | 'cancelled';

export interface MaintenanceFacts {
  id: number;
  title: string;
  body: string;
  components: Array<{ id: string; name: string }>;
  startsAt: number;
  endsAt: number;
  timeZone: string;
  sequence: number;
}

export function maintenanceMessage(sender: Sender, to: Recipient, key: string, kind: MaintenanceMailKind, maintenance: MaintenanceFacts, now: number): DeliveryMessage {
  const { strings } = sender;
  const subject = fillIn(strings[`mail.maintenance.${kind}`], { page: sender.pageName, title: maintenance.title });
  const url = `${sender.pageUrl}/incidents/m${maintenance.id}`;
  const cancelled = kind === 'cancelled';
  const calendar = calendarOf({
    uid: `maintenance-${maintenance.id}@${new URL(sender.pageUrl).host}`,
    // A cancellation supersedes the version it cancels.
    sequence: maintenance.sequence + (cancelled ? 1 : 0),
    cancelled,
    startsAt: maintenance.startsAt,
    endsAt: maintenance.endsAt,
    stampedAt: now,
    summary: `${sender.pageName}: ${maintenance.title}`,
    description: [maintenance.body, url].filter(Boolean).join('\n\n'),
    url,
    organizer: { name: sender.pageName, email: sender.organizerEmail },
    ...(cancelled ? { attendee: to.address } : {}),
  });
  return email(
    sender,
    to,
    key,
    {
      subject,
      heading: subject,
      paragraphs: [maintenance.body, strings['mail.maintenance.calendar']].filter(Boolean),
      facts: [
        { label: strings['mail.maintenance.when'], value: windowText(maintenance.startsAt, maintenance.endsAt, maintenance.timeZone) },
        { label: strings['mail.maintenance.affects'], value: maintenance.components.map((component) => component.name).join(', ') },
      ],
      action: { text: strings['mail.maintenance.details'], url },
    },
    [{ filename: 'maintenance.ics', content: calendar, contentType: `text/calendar; charset=utf-8; method=${cancelled ? 'CANCEL' : 'PUBLISH'}` }],
  );
}

/** A webhook subscriber's call: the event and its facts as JSON, signed when sent. */
export function webhookMessage(url: string, key: string, event: string, sender: Sender, about: Record<string, unknown>): DeliveryMessage {
  return { channel: 'webhook', url, body: JSON.stringify({ version: 1, key, event, page: { name: sender.pageName, url: sender.pageUrl }, ...about }) };
}

export function maintenanceWebhookFacts(maintenance: MaintenanceFacts): Record<string, unknown> {
  return {
    maintenance: {
      id: maintenance.id,
      title: maintenance.title,
      body: maintenance.body,
      components: maintenance.components.map((component) => component.id),
      startsAt: new Date(maintenance.startsAt).toISOString(),
      endsAt: new Date(maintenance.endsAt).toISOString(),
      timeZone: maintenance.timeZone,
      sequence: maintenance.sequence,
    },
  };
}
