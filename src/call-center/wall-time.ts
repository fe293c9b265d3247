/**
 * Wall-clock time in an IANA time zone, with nothing but `Intl.DateTimeFormat`: what a clock on
 * the office wall shows at an instant, and the instants at which it shows a given time (none in
 * a spring-forward gap, two in a fall-back hour).
 */

export const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type WeekdayName = (typeof DAY_NAMES)[number];

export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

export interface WallTime extends LocalDate {
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
  /** Minutes after local midnight, with the seconds as a fraction. */
  minutes: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** `09:30` → 570; `24:00` → 1440; undefined when not a time of day. */
export function parseClock(v: string): number | undefined {
  const m = /^(\d{1,2}):(\d{2})$/.exec(v.trim());
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min !== 0)) return undefined;
  return h * 60 + min;
}

/** `2026-12-25` → its parts; undefined when not a real calendar date. */
export function parseLocalDate(v: string): LocalDate | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v.trim());
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day)
    return undefined;
  return { year, month, day };
}

/** `2026-12-31T12:00` (seconds not allowed) → date and minutes after midnight. */
export function parseLocalDateTime(v: string): (LocalDate & { minutes: number }) | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{1,2}:\d{2})$/.exec(v.trim());
  if (!m) return undefined;
  const date = parseLocalDate(m[1]!);
  const minutes = parseClock(m[2]!);
  if (!date || minutes === undefined) return undefined;
  return { ...date, minutes };
}

export function formatLocalDate(d: LocalDate): string {
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

/** The calendar day `n` days after `d`. */
export function addDays(d: LocalDate, n: number): LocalDate {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day) + n * DAY);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** 0 = Monday … 6 = Sunday. */
export function weekdayOf(d: LocalDate): number {
  return (new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay() + 6) % 7;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** What Intl says the wall clock shows (slow: a formatToParts call). */
function rawWallTime(at: number, timeZone: string): { key: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(at)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const ms = ((at % 1000) + 1000) % 1000;
  const key =
    Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) + ms;
  return { key };
}

const rawOffset = (at: number, timeZone: string) =>
  Math.round((rawWallTime(at, timeZone).key - at) / 1000) * 1000;

interface YearOffsets {
  /** Offset in force at the start of the span. */
  first: number;
  /** Instants the offset changes, with the offset from then on, in order. */
  changes: Array<{ at: number; offset: number }>;
}

const yearCache = new Map<string, YearOffsets>();
const PROBE = 12 * 3600_000;

/**
 * The offset changes of one UTC year (plus two days each side), found once by probing every
 * 12 hours and bisecting to the millisecond where the offset differs; then every wall-time
 * question of that year is arithmetic. (Zones change their offset at most a few times a year,
 * never twice within 12 hours.)
 */
function yearOffsets(year: number, timeZone: string): YearOffsets {
  const cacheKey = `${timeZone}|${year}`;
  let y = yearCache.get(cacheKey);
  if (y) return y;
  const from = Date.UTC(year, 0, 1) - 2 * DAY;
  const to = Date.UTC(year + 1, 0, 1) + 2 * DAY;
  const first = rawOffset(from, timeZone);
  const changes: YearOffsets['changes'] = [];
  let current = first;
  for (let a = from; a < to; a += PROBE) {
    const b = a + PROBE;
    const ob = rawOffset(b, timeZone);
    if (ob === current) continue;
    let lo = a;
    let hi = b;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (rawOffset(mid, timeZone) === current) lo = mid;
      else hi = mid;
    }
    changes.push({ at: hi, offset: ob });
    current = ob;
  }
  y = { first, changes };
  if (yearCache.size > 1000) yearCache.clear();
  yearCache.set(cacheKey, y);
  return y;
}

/** The zone's offset from UTC at `at`, in ms (Berlin in summer: +7 200 000). */
export function offsetAt(at: number, timeZone: string): number {
  const y = yearOffsets(new Date(at).getUTCFullYear(), timeZone);
  let offset = y.first;
  for (const c of y.changes) {
    if (at >= c.at) offset = c.offset;
    else break;
  }
  return offset;
}

/** The wall clock in `timeZone` at the instant `at` (ms epoch). */
export function wallTime(at: number, timeZone: string): WallTime {
  const local = new Date(at + offsetAt(at, timeZone));
  const date = { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate() };
  const msOfDay = local.getTime() - Date.UTC(date.year, date.month - 1, date.day);
  return { ...date, weekday: weekdayOf(date), minutes: msOfDay / MINUTE };
}

/**
 * Every instant at which the wall clock shows `minutes` on `date` (0 ≤ minutes < 1440): one
 * normally, none when the time falls in a spring-forward gap, two in the repeated hour of a
 * fall-back, earliest first.
 */
export function instantsOf(date: LocalDate, minutes: number, timeZone: string): number[] {
  const naive = Date.UTC(date.year, date.month - 1, date.day) + minutes * MINUTE;
  const offsets = new Set([
    offsetAt(naive - DAY, timeZone),
    offsetAt(naive, timeZone),
    offsetAt(naive + DAY, timeZone),
  ]);
  const out: number[] = [];
  for (const o of offsets) {
    const t = naive - o;
    const w = wallTime(t, timeZone);
    if (
      w.year === date.year &&
      w.month === date.month &&
      w.day === date.day &&
      Math.abs(w.minutes - minutes) < 1e-6
    ) {
      if (!out.includes(t)) out.push(t);
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * The first instant at which the wall clock shows `minutes` on `date` or later: in a
 * spring-forward gap, the moment the clocks jump. `minutes` may be 1440 (the next midnight).
 */
export function firstInstantAtOrAfter(date: LocalDate, minutes: number, timeZone: string): number {
  if (minutes >= 1440) return firstInstantAtOrAfter(addDays(date, 1), minutes - 1440, timeZone);
  const exact = instantsOf(date, minutes, timeZone);
  if (exact.length) return exact[0]!;
  // In a gap: the clocks jump over this time; find the jump by bisection (to the millisecond).
  const naive = Date.UTC(date.year, date.month - 1, date.day) + minutes * MINUTE;
  let lo = naive - offsetAt(naive - DAY, timeZone) - 6 * 3600_000;
  let hi = naive - offsetAt(naive + DAY, timeZone) + 6 * 3600_000;
  const before = (t: number) => {
    const w = wallTime(t, timeZone);
    const key = Date.UTC(w.year, w.month - 1, w.day) + w.minutes * MINUTE;
    return key < naive;
  };
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (before(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Instants in [from, to) at which the zone's offset changes (DST starts or ends). */
export function offsetChanges(from: number, to: number, timeZone: string): number[] {
  const out: number[] = [];
  for (let year = new Date(from).getUTCFullYear(); year <= new Date(to).getUTCFullYear(); year++) {
    for (const c of yearOffsets(year, timeZone).changes) {
      if (c.at >= from && c.at < to && !out.includes(c.at)) out.push(c.at);
    }
  }
  return out.sort((a, b) => a - b);
}
