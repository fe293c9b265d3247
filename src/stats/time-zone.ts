/**
 * Calendar days and hours in an IANA time zone, with `Intl` only. A local day is not always 24 h
 * (daylight-saving days have 23 or 25), so day windows are computed, never assumed.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallTime(ms: number, timeZone: string): WallTime {
  const out: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') out[part.type] = Number(part.value);
  }
  return out as unknown as WallTime;
}

/** True when `timeZone` is a zone `Intl` knows (`UTC`, `Europe/Berlin`, ...). */
export function isTimeZone(timeZone: string): boolean {
  if (!timeZone || timeZone.length > 64) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written `YYYY-MM-DD` (`2026-02-30` is not). */
export function isCalendarDate(date: string): boolean {
  const m = DATE.exec(date);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && y >= 1970;
}

/** Offset of the zone from UTC at instant `ms`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const w = wallTime(ms, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The local calendar date (`YYYY-MM-DD`) at instant `ms`. */
export function localDate(ms: number, timeZone: string): string {
  const w = wallTime(ms, timeZone);
  return `${String(w.year).padStart(4, '0')}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
}

/** The local hour (0–23) at instant `ms`. */
export function localHour(ms: number, timeZone: string): number {
  return wallTime(ms, timeZone).hour;
}

/** The date `days` calendar days after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  const m = DATE.exec(date);
  if (!m) throw new RangeError(`not a date: ${date}`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days)).toISOString().slice(0, 10);
}

/**
 * The first instant of local day `date`: local midnight, or the first time after it where a
 * daylight-saving jump skips midnight itself.
 */
export function startOfDay(date: string, timeZone: string): number {
  const m = DATE.exec(date);
  if (!m) throw new RangeError(`not a date: ${date}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Local midnight is `wall - offset`, with the offset in force at that instant: try the offsets
  // around it and keep the earliest instant that is already on `date` locally.
  const candidates = new Set<number>();
  for (const probe of [wall - 86_400_000, wall, wall + 86_400_000]) {
    candidates.add(wall - zoneOffsetMs(probe, timeZone));
  }
  let best: number | undefined;
  for (const t of candidates) {
    if (localDate(t, timeZone) === date && (best === undefined || t < best)) best = t;
  }
  if (best === undefined) throw new RangeError(`cannot place ${date} in ${timeZone}`);
  // A candidate may still be an hour late when midnight itself is skipped: step back while the
  // previous hour is the same date.
  while (localDate(best - 3_600_000, timeZone) === date) best -= 3_600_000;
  return best;
}

/** `[from, to)` in epoch ms of local day `date` in `timeZone`. */
export function dayWindow(date: string, timeZone: string): { fromMs: number; toMs: number } {
  return { fromMs: startOfDay(date, timeZone), toMs: startOfDay(addDays(date, 1), timeZone) };
}
