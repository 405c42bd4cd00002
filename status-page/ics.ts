// The .ics attached to maintenance emails (RFC 5545): one VEVENT per maintenance, its UID stable, SEQUENCE bumped on
// each reschedule; METHOD:CANCEL tells calendars that kept it to drop it.

export interface CalendarEntry {
  uid: string;
  sequence: number;
  cancelled: boolean;
  startsAt: number;
  endsAt: number;
  /** When this version of the entry was made (DTSTAMP). */
  stampedAt: number;
  summary: string;
  description: string;
  url: string;
  organizer: { name: string; email: string };
  /** A cancellation names who it is for (RFC 5546 requires an attendee in CANCEL). */
  attendee?: string;
}

const utc = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const text = (value: string) => value.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
const param = (value: string) => `"${value.replace(/["\r\n]/g, '')}"`;

/** Content lines are at most 75 octets; longer ones continue on lines that start with a space. */
function fold(line: string): string {
  const parts: string[] = [];
  let current = '';
  let octets = 0;
  for (const char of line) {
    const size = Buffer.byteLength(char);
    if (octets + size > (parts.length === 0 ? 75 : 74)) {
      parts.push(current);
      current = '';
      octets = 0;
    }
    current += char;
    octets += size;
  }
  parts.push(current);
  return parts.join('\r\n ');
}

export function calendarOf(entry: CalendarEntry): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Vigil//Status page//EN',
    'CALSCALE:GREGORIAN',
    `METHOD:${entry.cancelled ? 'CANCEL' : 'PUBLISH'}`,
    'BEGIN:VEVENT',
    `UID:${entry.uid}`,
    `SEQUENCE:${entry.sequence}`,
    `DTSTAMP:${utc(entry.stampedAt)}`,
    `DTSTART:${utc(entry.startsAt)}`,
    `DTEND:${utc(entry.endsAt)}`,
    `SUMMARY:${text(entry.summary)}`,
    `DESCRIPTION:${text(entry.description)}`,
    `URL:${entry.url}`,
    `ORGANIZER;CN=${param(entry.organizer.name)}:mailto:${entry.organizer.email}`,
    ...(entry.attendee ? [`ATTENDEE:mailto:${entry.attendee}`] : []),
    `STATUS:${entry.cancelled ? 'CANCELLED' : 'CONFIRMED'}`,
    'TRANSP:OPAQUE',
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  return `${lines.map(fold).join('\r\n')}\r\n`;
}
