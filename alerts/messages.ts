import type { NotificationEvent, Incident } from './types.ts';

const HEADLINES: Record<NotificationEvent, string> = {
  warning: 'WARNING',
  emergency: 'EMERGENCY',
  up: 'UP',
  flapping: 'FLAPPING',
  repeat: 'STILL DOWN',
  retry: 'RETRY',
};

export function headline(event: NotificationEvent): string {
  return HEADLINES[event];
}

/** The part a person triages from: which service, which component, what is wrong. */
export function subjectOf(event: NotificationEvent, incidents: readonly Incident[]): string {
  const first = incidents[0]!;
  const service = first.labels.service ?? first.rule;
  const more = incidents.length > 1 ? ` (+${incidents.length - 1} more)` : '';
  const tail = event === 'emergency' ? ' — permanently down, reset required' : event === 'up' ? ' — back up' : event === 'flapping' ? ' — flapping, notices paused until it settles' : '';
  return `[${headline(event)}] ${service}${first.labels.component ? `/${first.labels.component}` : ''}: ${first.summary}${more}${tail}`;
}

export function describeIncident(incident: Incident): string[] {
  const at = (ms: number | null) => (ms === null ? '—' : new Date(ms).toISOString());
  return [
    `Incident #${incident.id} (${incident.state}${incident.flapping ? ', flapping' : ''}), rule ${incident.rule}`,
    `Summary: ${incident.summary}`,
    `Labels: ${Object.entries(incident.labels).map(([name, value]) => `${name}=${value}`).join(', ')}`,
    `Started: ${at(incident.startedAt)}  Fired: ${at(incident.firedAt)}${incident.resolvedAt ? `  Resolved: ${at(incident.resolvedAt)}` : ''}`,
  ];
}

export function textOf(event: NotificationEvent, incidents: readonly Incident[]): string {
  const lead =
    event === 'emergency'
      ? 'Permanently down: automatic recovery has given up. A reset is required (vigil incident reset <id>) after fixing the cause.'
      : event === 'up'
        ? 'Resolved: the service is back up.'
        : event === 'flapping'
          ? 'This alert changes state too often; further notices are paused until it settles.'
          : event === 'repeat'
            ? 'Still firing.'
            : 'Firing.';
  return [subjectOf(event, incidents), '', lead, '', ...incidents.flatMap((incident) => [...describeIncident(incident), ''])].join('\n');
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

export function htmlOf(event: NotificationEvent, incidents: readonly Incident[]): string {
  const color = event === 'up' ? '#1a7f37' : event === 'emergency' ? '#b91c1c' : '#b45309';
  const items = incidents.map((incident) => `<li>${describeIncident(incident).map(escapeHtml).join('<br>')}</li>`).join('');
  return `<h2 style="color:${color}">${escapeHtml(subjectOf(event, incidents))}</h2><ul>${items}</ul>`;
}
