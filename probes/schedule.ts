import { parse, type ParsedFields } from 'node-cron';
import type { Schedule } from './define.ts';

const DEFAULT_CRON_JITTER_MS = 30_000;
const SEARCH_LIMIT_MS = 5 * 366 * 86_400_000;

/** When a probe runs: epoch-aligned slots shifted by an offset hashed from its name, so every agent and
 * every restart computes the same times, and probes sharing an interval spread across it. */
export interface Timetable {
  /** The first scheduled time strictly after `after` (epoch ms). */
  next(after: number): number;
}

export function timetable(name: string, schedule: Schedule, jitter?: number): Timetable {
  if ('every' in schedule) {
    const every = schedule.every;
    const offset = hash(name) % Math.max(1, Math.min(jitter ?? every, every));
    return { next: (after) => Math.floor((after - offset) / every) * every + every + offset };
  }
  const sets = toSets(parse(schedule.cron));
  const offset = hash(name) % Math.max(1, Math.min(jitter ?? DEFAULT_CRON_JITTER_MS, period(schedule)));
  return { next: (after) => nextCronMatch(sets, after - offset) + offset };
}

/** The time between two runs: the interval, or for a cron schedule the gap after its first match in 2026. */
export function period(schedule: Schedule): number {
  if ('every' in schedule) return schedule.every;
  const sets = toSets(parse(schedule.cron));
  const first = nextCronMatch(sets, Date.UTC(2026, 0, 1));
  return nextCronMatch(sets, first) - first;
}

/** FNV-1a: a stable 32-bit hash of the probe name. */
export function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    value ^= text.charCodeAt(i);
    value = Math.imul(value, 0x01000193);
  }
  return value >>> 0;
}

interface CronSets {
  second: Set<number>;
  minute: Set<number>;
  hour: Set<number>;
  dayOfMonth: Set<number | string>;
  month: Set<number>;
  dayOfWeek: Set<number | string>;
  /** Whether a day matches: with both day fields restricted, either one (as cron has always read "0 9 13 * 5"). */
  dayMatches(date: Date): boolean;
}

function toSets(fields: ParsedFields): CronSets {
  const dayOfMonth = new Set(fields.dayOfMonth);
  const dayOfWeek = new Set(fields.dayOfWeek.map((day) => (day === 7 ? 0 : day)));
  const bothRestricted = dayOfMonth.size < 31 && dayOfWeek.size < 7;
  return {
    second: new Set(fields.second),
    minute: new Set(fields.minute),
    hour: new Set(fields.hour),
    dayOfMonth,
    month: new Set(fields.month),
    dayOfWeek,
    dayMatches: (date) => {
      const [monthDay, weekDay] = [dayOfMonth.has(date.getUTCDate()), dayOfWeek.has(date.getUTCDay())];
      return bothRestricted ? monthDay || weekDay : monthDay && weekDay;
    },
  };
}

/** The first whole UTC second after `after` that the cron fields match, skipping whole months, days, hours and minutes that cannot. */
function nextCronMatch(sets: CronSets, after: number): number {
  let t = Math.floor(after / 1000) * 1000 + 1000;
  const limit = after + SEARCH_LIMIT_MS;
  while (t <= limit) {
    const d = new Date(t);
    if (!sets.month.has(d.getUTCMonth() + 1)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    } else if (!sets.dayMatches(d)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    } else if (!sets.hour.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
    } else if (!sets.minute.has(d.getUTCMinutes())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes() + 1);
    } else if (!sets.second.has(d.getUTCSeconds())) {
      t += 1000;
    } else {
      return t;
    }
  }
  throw new Error('the cron expression matches no time in the next five years');
}
