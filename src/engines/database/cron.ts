import { BadRequestError } from '../../errors.js';

/**
 * A standard five-field cron schedule (minute, hour, day of month, month, day of week), read in
 * UTC. Fields take `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, and lists `a,b`. Month and
 * weekday names (`jan`, `mon`) and the shorthands `@hourly`, `@daily`, `@weekly`, `@monthly` and
 * `@yearly` are accepted too. As in cron, when both day fields are restricted, a day matching
 * either one counts.
 */
export interface CronSchedule {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  anyDayOfMonth: boolean;
  anyDayOfWeek: boolean;
}

const SHORTHANDS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** How far ahead `nextCronTime` searches: a schedule such as Feb 30 never matches. */
const MAX_SEARCH_DAYS = 5 * 366;

/** Parses a cron expression; throws a `BadRequestError` that names the bad field. */
export function parseCron(expression: string): CronSchedule {
  const text = SHORTHANDS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw cronError(expression, `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const schedule: CronSchedule = {
    minutes: parseField(expression, 'minute', parts[0], 0, 59, []),
    hours: parseField(expression, 'hour', parts[1], 0, 23, []),
    daysOfMonth: parseField(expression, 'day of month', parts[2], 1, 31, []),
    months: parseField(expression, 'month', parts[3], 1, 12, MONTH_NAMES, 1),
    daysOfWeek: parseField(expression, 'day of week', parts[4], 0, 7, DAY_NAMES),
    anyDayOfMonth: parts[2] === '*' || parts[2] === '?',
    anyDayOfWeek: parts[4] === '*' || parts[4] === '?',
  };
  // 7 is another name for Sunday.
  if (schedule.daysOfWeek.delete(7)) schedule.daysOfWeek.add(0);
  if (nextCronTime(schedule, Date.now()) === null) throw cronError(expression, 'the schedule never matches a real date');
  return schedule;
}

/** Returns the first whole minute strictly after `afterMs` that the schedule matches, or null. */
export function nextCronTime(schedule: CronSchedule, afterMs: number): number | null {
  const start = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  for (let i = 0; i < MAX_SEARCH_DAYS; i++, day.setUTCDate(day.getUTCDate() + 1)) {
    if (!dayMatches(schedule, day)) continue;
    const sameDay = i === 0;
    for (let hour = sameDay ? start.getUTCHours() : 0; hour < 24; hour++) {
      if (!schedule.hours.has(hour)) continue;
      const firstMinute = sameDay && hour === start.getUTCHours() ? start.getUTCMinutes() : 0;
      for (let minute = firstMinute; minute < 60; minute++) {
        if (schedule.minutes.has(minute)) return day.getTime() + hour * 3_600_000 + minute * 60_000;
      }
    }
  }
  return null;
}

function dayMatches(schedule: CronSchedule, day: Date): boolean {
  if (!schedule.months.has(day.getUTCMonth() + 1)) return false;
  const domMatches = schedule.daysOfMonth.has(day.getUTCDate());
  const dowMatches = schedule.daysOfWeek.has(day.getUTCDay());
  if (schedule.anyDayOfMonth && schedule.anyDayOfWeek) return true;
  if (schedule.anyDayOfMonth) return dowMatches;
  if (schedule.anyDayOfWeek) return domMatches;
  return domMatches || dowMatches;
}

function parseField(expression: string, name: string, text: string, min: number, max: number, names: string[], nameOffset = 0): Set<number> {
  const values = new Set<number>();
  for (const item of text.toLowerCase().split(',')) {
    const match = /^(\*|\?|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (match === null) throw cronError(expression, `invalid ${name} ${JSON.stringify(item)}`);
    const step = match[2] === undefined ? 1 : Number(match[2]);
    if (step < 1) throw cronError(expression, `invalid step in ${name} ${JSON.stringify(item)}`);

    let low = min;
    let high = max;
    if (match[1] !== '*' && match[1] !== '?') {
      const [first, last] = match[1].split('-');
      low = readValue(expression, name, first, names, nameOffset);
      if (last !== undefined) high = readValue(expression, name, last, names, nameOffset);
      else if (match[2] === undefined) high = low;
      // A single value with a step (`5/15`) runs from that value to the field's maximum.
    }
    if (low < min || high > max || low > high) throw cronError(expression, `${name} ${JSON.stringify(item)} is outside ${min}-${max}`);
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

function readValue(expression: string, name: string, text: string, names: string[], nameOffset: number): number {
  const index = names.indexOf(text);
  if (index !== -1) return index + nameOffset;
  if (!/^\d+$/.test(text)) throw cronError(expression, `invalid ${name} ${JSON.stringify(text)}`);
  return Number(text);
}

function cronError(expression: string, message: string): BadRequestError {
  return new BadRequestError(`invalid rotation_schedule ${JSON.stringify(expression.slice(0, 100))}: ${message}`);
}
