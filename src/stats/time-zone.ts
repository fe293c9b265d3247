import {
  firstInstantAtOrAfter,
  formatLocalDate,
  offsetAt,
  parseLocalDate,
  wallTime,
} from '../call-center/wall-time.js';

/**
 * Calendar days and hours in an IANA time zone, for the stats: the same wall clock as opening
 * hours (src/call-center/wall-time.ts), with dates written `YYYY-MM-DD`. A local day is not
 * always 24 h (daylight-saving days have 23 or 25), so day windows are computed, never assumed.
 */

/** True when `timeZone` is a zone `Intl` knows (`UTC`, `Europe/Berlin`, ...). */
export function isTimeZone(timeZone: string): boolean {
  if (!timeZone || timeZone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

function parse(date: string) {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(date) ? parseLocalDate(date) : undefined;
  if (!d) throw new RangeError(`not a date: ${date}`);
  return d;
}

/** True for a real calendar date written `YYYY-MM-DD` (`2026-02-30` is not). */
export function isCalendarDate(date: string): boolean {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(date) ? parseLocalDate(date) : undefined;
  return d !== undefined && d.year >= 1970;
}

/** Offset of the zone from UTC at instant `ms`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  return offsetAt(ms, timeZone);
}

/** The local calendar date (`YYYY-MM-DD`) at instant `ms`. */
export function localDate(ms: number, timeZone: string): string {
  return formatLocalDate(wallTime(ms, timeZone));
}

/** The local hour (0–23) at instant `ms`. */
export function localHour(ms: number, timeZone: string): number {
  return Math.floor(wallTime(ms, timeZone).minutes / 60);
}

/** The date `days` calendar days after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  const d = parse(date);
  return new Date(Date.UTC(d.year, d.month - 1, d.day + days)).toISOString().slice(0, 10);
}

/**
 * The first instant of local day `date`: local midnight, or the first time after it where a
 * daylight-saving jump skips midnight itself.
 */
export function startOfDay(date: string, timeZone: string): number {
  return firstInstantAtOrAfter(parse(date), 0, timeZone);
}

/** `[from, to)` in epoch ms of local day `date` in `timeZone`. */
export function dayWindow(date: string, timeZone: string): { fromMs: number; toMs: number } {
  return { fromMs: startOfDay(date, timeZone), toMs: startOfDay(addDays(date, 1), timeZone) };
}
