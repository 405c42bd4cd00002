// Typed view models for the templates in views/: every string is final text, escaped by the template engine.
import type { ComponentModel, MaintenanceModel, StatusModel } from './model.ts';
import { renderMarkdown } from './markdown.ts';
import { maintenanceId } from './statuspage-api.ts';
import type { ComponentStatus, Impact, Indicator } from './state.ts';
import type { PublicIncident } from './store.ts';
import { componentText, incidentText, indicatorText, maintenanceText, type Strings } from './strings.ts';

export interface Layout {
  lang: string;
  title: string;
  pageName: string;
  logoUrl: string | null;
  cssUrls: string[];
  strings: Strings;
  links: Array<{ label: string; url: string }>;
  footer: string;
  feeds: { atom: string; rss: string };
}

/** Consecutive days that read alike ("23 Aug – 20 Nov 2026: 100% uptime"): one focusable segment `days` wide. */
export interface DaysView {
  cls: string;
  label: string;
  days: number;
}

export interface ComponentView {
  id: string;
  name: string;
  description: string | null;
  status: ComponentStatus;
  statusText: string;
  uptimeText: string;
  barLabel: string;
  runs: DaysView[];
}

export interface UpdateView {
  statusText: string;
  /** Rendered by markdown-it with raw HTML off: the one field printed unescaped. */
  bodyHtml: string;
  at: string;
  atIso: string;
}

export interface EventView {
  id: string;
  url: string;
  name: string;
  impact: Impact | 'maintenance';
  statusText: string;
  when: string;
  affects: string;
  updates: UpdateView[];
  postmortemHtml: string | null;
}

export interface IndexView extends Layout {
  indicator: Indicator;
  indicatorText: string;
  groups: Array<{ name: string | null; components: ComponentView[] }>;
  active: EventView[];
  maintenances: EventView[];
  recent: EventView[];
}

export interface HistoryView extends Layout {
  months: Array<{ name: string; events: EventView[] }>;
  newer: string | null;
  older: string | null;
}

export interface UptimeTableView extends Layout {
  components: Array<{ id: string; name: string }>;
  rows: Array<{ day: string; cells: string[] }>;
}

const DAY_FORMAT = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

function dateTime(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone, timeZoneName: 'short' }).format(ms);
}

const percent = (ratio: number) => `${(Math.floor(ratio * 10000) / 100).toFixed(2).replace(/\.?0+$/, '')}%`;

function zoneLabel(ms: number, timeZone: string): string {
  const part = (style: 'short' | 'shortOffset') =>
    new Intl.DateTimeFormat('en-GB', { timeZone, timeZoneName: style }).formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
  const utc = part('shortOffset').replace(/^GMT/, 'UTC').replace(/^UTC[+-]0$/, 'UTC');
  const name = part('short');
  return name === utc || name.startsWith('GMT') || name.startsWith('UTC') ? utc : `${name} (${utc})`;
}

/** "Sat, 5 Dec 2026, from 22:00 till 23:30 CET (UTC+1)", in the maintenance's own time zone. */
export function windowText(startsAt: number, endsAt: number, timeZone: string): string {
  const day = (ms: number) => new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone }).format(ms);
  const time = (ms: number) => new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(ms);
  const sameDay = day(startsAt) === day(endsAt);
  return sameDay
    ? `${day(startsAt)}, from ${time(startsAt)} till ${time(endsAt)} ${zoneLabel(startsAt, timeZone)}`
    : `from ${day(startsAt)} ${time(startsAt)} till ${day(endsAt)} ${time(endsAt)} ${zoneLabel(startsAt, timeZone)}`;
}

/** A day's colour class and what it reads after its date ("99.2% uptime, 1 incident"). */
function dayState(day: ComponentModel['uptime'][number], strings: Strings): { cls: string; text: string } {
  const incidents = day.incidents === 0 ? '' : `, ${day.incidents} ${day.incidents === 1 ? strings.incident : strings.incidents}`;
  if (day.ratio === null) return { cls: day.incidents > 0 ? 'u2' : 'u0', text: `${strings.noData}${incidents}` };
  const cls = day.ratio >= 0.999 && day.incidents === 0 ? 'u1' : day.ratio >= 0.99 ? 'u2' : day.ratio >= 0.95 ? 'u3' : 'u4';
  return { cls, text: `${percent(day.ratio)} ${strings.uptime}${incidents}` };
}

/** The days as runs of equal state, oldest first: a bar of 90 alike days is one segment, each different day its own. */
export function dayRuns(uptime: ComponentModel['uptime'], strings: Strings): DaysView[] {
  const runs: Array<{ cls: string; text: string; first: string; last: string; days: number }> = [];
  for (const day of uptime) {
    const state = dayState(day, strings);
    const last = runs.at(-1);
    if (last && last.cls === state.cls && last.text === state.text) {
      last.last = day.day;
      last.days += 1;
    } else runs.push({ ...state, first: day.day, last: day.day, days: 1 });
  }
  const date = (day: string) => Date.parse(`${day}T00:00:00Z`);
  return runs.map((run) => ({
    cls: run.days > 1 ? `${run.cls} g${run.days}` : run.cls,
    label: `${run.days > 1 ? DAY_FORMAT.formatRange(date(run.first), date(run.last)) : DAY_FORMAT.format(date(run.first))}: ${run.text}`,
    days: run.days,
  }));
}

function componentView(component: ComponentModel, strings: Strings): ComponentView {
  return {
    id: component.id,
    name: component.name,
    description: component.description,
    status: component.status,
    statusText: componentText(strings, component.status),
    uptimeText: component.uptimeRatio === null ? '' : `${percent(component.uptimeRatio)} ${strings.uptime}`,
    barLabel: `${component.name}: ${strings.uptimeOver}`,
    runs: dayRuns(component.uptime, strings),
  };
}

const namesOf = (model: StatusModel, ids: readonly string[]) => ids.map((id) => model.components.find((component) => component.id === id)?.name ?? id).join(', ');

export function incidentView(model: StatusModel, incident: PublicIncident): EventView {
  const zone = model.branding.timeZone;
  return {
    id: String(incident.id),
    url: `/incidents/${incident.id}`,
    name: incident.name,
    impact: incident.impact,
    statusText: incidentText(model.strings, incident.status),
    when: dateTime(incident.createdAt, zone),
    affects: namesOf(model, Object.keys(incident.components)),
    updates: incident.updates.map((update) => ({
      statusText: incidentText(model.strings, update.status),
      bodyHtml: renderMarkdown(update.body),
      at: dateTime(update.createdAt, zone),
      atIso: new Date(update.createdAt).toISOString(),
    })),
    postmortemHtml: incident.postmortem ? renderMarkdown(incident.postmortem) : null,
  };
}

export function maintenanceView(model: StatusModel, maintenance: MaintenanceModel): EventView {
  const id = maintenanceId(maintenance);
  return {
    id,
    url: `/incidents/${id}`,
    name: maintenance.name,
    impact: 'maintenance',
    statusText: maintenanceText(model.strings, maintenance.status),
    when: windowText(maintenance.startsAt, maintenance.endsAt, maintenance.timeZone),
    affects: namesOf(model, maintenance.components),
    updates: maintenance.updates.map((update) => ({
      statusText: maintenanceText(model.strings, update.status),
      bodyHtml: update.status === 'scheduled' && maintenance.body ? renderMarkdown(maintenance.body) : '',
      at: dateTime(update.at, model.branding.timeZone),
      atIso: new Date(update.at).toISOString(),
    })),
    postmortemHtml: null,
  };
}

export function layoutOf(model: StatusModel, title: string, cssUrls: string[]): Layout {
  return {
    lang: 'en',
    title,
    pageName: model.branding.name,
    logoUrl: model.branding.logoUrl ?? null,
    cssUrls,
    strings: model.strings,
    links: model.branding.links,
    footer: model.branding.footer,
    feeds: { atom: '/history.atom', rss: '/history.rss' },
  };
}

const RECENT_MS = 7 * 86_400_000;

export function indexView(model: StatusModel, cssUrls: string[]): IndexView {
  const shown = model.components.filter((component) => !component.onlyShowIfDegraded || component.status !== 'operational');
  const groups: IndexView['groups'] = [];
  for (const component of shown) {
    const last = groups.at(-1);
    const group = groups.find((candidate) => candidate.name === component.group && component.group !== null);
    if (group) group.components.push(componentView(component, model.strings));
    else if (last && last.name === null && component.group === null) last.components.push(componentView(component, model.strings));
    else groups.push({ name: component.group, components: [componentView(component, model.strings)] });
  }
  const open = (incident: PublicIncident) => incident.status !== 'resolved' && incident.status !== 'postmortem';
  return {
    ...layoutOf(model, `${model.branding.name}: ${indicatorText(model.strings, model.indicator)}`, cssUrls),
    indicator: model.indicator,
    indicatorText: indicatorText(model.strings, model.indicator),
    groups,
    active: model.incidents.filter(open).map((incident) => incidentView(model, incident)),
    maintenances: model.maintenances
      .filter((maintenance) => maintenance.status === 'scheduled' || maintenance.status === 'in_progress' || maintenance.status === 'verifying')
      .sort((a, b) => a.startsAt - b.startsAt)
      .map((maintenance) => maintenanceView(model, maintenance)),
    recent: model.incidents.filter((incident) => !open(incident) && incident.updatedAt >= model.now - RECENT_MS).map((incident) => incidentView(model, incident)),
  };
}

export const MONTHS_PER_PAGE = 3;

/** Past incidents and maintenances by month, newest first, MONTHS_PER_PAGE months a page; `page` counts from 1. */
export function historyView(model: StatusModel, page: number, cssUrls: string[]): HistoryView {
  const monthName = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: model.branding.timeZone });
  const now = new Date(model.now);
  const months: HistoryView['months'] = [];
  for (let i = 0; i < MONTHS_PER_PAGE; i++) {
    const offset = (page - 1) * MONTHS_PER_PAGE + i;
    const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - offset, 1);
    const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - offset + 1, 1);
    const events = [
      ...model.incidents.filter((incident) => incident.createdAt >= start && incident.createdAt < end).map((incident) => ({ at: incident.createdAt, view: incidentView(model, incident) })),
      ...model.maintenances.filter((maintenance) => maintenance.startsAt >= start && maintenance.startsAt < end && maintenance.startsAt <= model.now).map((maintenance) => ({ at: maintenance.startsAt, view: maintenanceView(model, maintenance) })),
    ]
      .sort((a, b) => b.at - a.at)
      .map((event) => event.view);
    months.push({ name: monthName.format(start), events });
  }
  return {
    ...layoutOf(model, `${model.branding.name}: ${model.strings.history}`, cssUrls),
    months,
    newer: page > 1 ? `/history?page=${page - 1}` : null,
    older: page < HISTORY_PAGES ? `/history?page=${page + 1}` : null,
  };
}

/** Twelve months of history: four pages. */
export const HISTORY_PAGES = 4;

export function uptimeTableView(model: StatusModel, cssUrls: string[]): UptimeTableView {
  const days = model.components[0]?.uptime.map((day) => day.day) ?? [];
  return {
    ...layoutOf(model, `${model.branding.name}: ${model.strings.uptimeTable}`, cssUrls),
    components: model.components.map((component) => ({ id: component.id, name: component.name })),
    rows: days
      .map((day, index) => ({
        day: DAY_FORMAT.format(Date.parse(`${day}T00:00:00Z`)),
        cells: model.components.map((component) => {
          const entry = component.uptime[index]!;
          const ratio = entry.ratio === null ? model.strings.noData : percent(entry.ratio);
          return entry.incidents > 0 ? `${ratio}, ${entry.incidents} ${entry.incidents === 1 ? model.strings.incident : model.strings.incidents}` : ratio;
        }),
      }))
      .reverse(),
  };
}
