import type { Closure, Holiday, Prompt, QueueHours } from './call-center-file.js';
import {
  addDays,
  firstInstantAtOrAfter,
  formatLocalDate,
  instantsOf,
  type LocalDate,
  offsetChanges,
  parseLocalDateTime,
  wallTime,
  weekdayOf,
} from './wall-time.js';

/**
 * Opening hours (docs/interface.md §9), as a pure function of the queue's hours, a manual
 * override and the instant: no clock is read here. Times in the file are wall-clock times in the
 * hours' time zone, so "09:00" means nine on the office clock in winter and in summer; on the
 * night the clocks change a range simply opens or closes when the wall clock says so (a range
 * starting inside a skipped hour opens when the clocks jump).
 */

export type HoursReason = 'open' | 'after-hours' | 'holiday' | 'closure' | 'manual';

/** A close or open by hand (`PUT /api/hours/override`), in force from `setAt` until `until`. */
export interface ManualOverride {
  /** The queue, or undefined for every queue. */
  queue?: string;
  closed: boolean;
  /** ms epoch; undefined: until cleared. */
  until?: number;
  reason?: string;
  /** ms epoch of the request: of two overrides for one queue, the newer wins. */
  setAt: number;
}

export interface HoursState {
  open: boolean;
  /** Why: `open` (in the weekly hours, or no hours at all), `after-hours`, `holiday`, `closure`, `manual`. */
  reason: HoursReason;
  /** The one-off closure or holiday in force (its reason and prompt), when `reason` says so. */
  closure?: { reason?: string; prompt?: Prompt };
  /** The manual override in force, when `reason` is `manual`. */
  override?: ManualOverride;
  /** ms epoch of the next time `open` flips; null when it never does within a year. */
  nextChange: number | null;
}

const MINUTE = 60_000;
/** How far ahead `nextChange` looks before saying "never". */
const HORIZON_DAYS = 400;
const CHUNK_DAYS = 7;

/**
 * Whether a queue is open at `at` (ms epoch), why, and when that next changes. `hours`
 * undefined: the queue is always open (unless overridden by hand). An `override` whose `until` has
 * passed is ignored.
 */
export function isOpen(hours: QueueHours | undefined, at: number, override?: ManualOverride): HoursState {
  const now = stateAt(hours, at, override);
  return { ...now, nextChange: nextChange(hours, at, override, now.open) };
}

/** The state at `at` without `nextChange` (cheaper: no look-ahead). */
export function stateAt(
  hours: QueueHours | undefined,
  at: number,
  override?: ManualOverride,
): Omit<HoursState, 'nextChange'> {
  if (override && (override.until === undefined || at < override.until)) {
    return {
      open: !override.closed,
      reason: 'manual',
      override,
      ...(override.reason ? { closure: { reason: override.reason } } : {}),
    };
  }
  if (!hours) return { open: true, reason: 'open' };
  const w = wallTime(at, hours.timeZone);
  const key = naiveKey(w, w.minutes);
  const closure = hours.closures.find((c) => closureKey(c.from) <= key && key < closureKey(c.to));
  if (closure)
    return { open: false, reason: 'closure', closure: { reason: closure.reason, prompt: closure.prompt } };
  const today = formatLocalDate(w);
  const holiday = hours.holidays.find((h) => h.date === today);
  if (holiday) return { open: false, reason: 'holiday', closure: holidayInfo(holiday) };
  return inWeekly(hours, w, w.minutes)
    ? { open: true, reason: 'open' }
    : { open: false, reason: 'after-hours' };
}

function holidayInfo(h: Holiday): { reason?: string; prompt?: Prompt } {
  return { ...(h.reason ? { reason: h.reason } : {}), ...(h.prompt ? { prompt: h.prompt } : {}) };
}

function inWeekly(hours: QueueHours, day: LocalDate, minutes: number): boolean {
  const wd = weekdayOf(day);
  for (const r of hours.weekly[wd] ?? []) {
    if (r.end > r.start ? r.start <= minutes && minutes < r.end : r.start <= minutes) return true;
  }
  // A range of yesterday that crosses midnight ("22:00-02:00") is still running.
  for (const r of hours.weekly[(wd + 6) % 7] ?? []) {
    if (r.end <= r.start && minutes < r.end) return true;
  }
  return false;
}

const naiveKey = (d: LocalDate, minutes: number) => Date.UTC(d.year, d.month - 1, d.day) + minutes * MINUTE;

const closureKeys = new Map<string, number>();
function closureKey(local: string): number {
  let k = closureKeys.get(local);
  if (k === undefined) {
    const p = parseLocalDateTime(local)!;
    k = naiveKey(p, p.minutes);
    if (closureKeys.size > 10_000) closureKeys.clear();
    closureKeys.set(local, k);
  }
  return k;
}

/** Instants where the schedule might flip during the local day `d`. */
function dayCandidates(hours: QueueHours, d: LocalDate): number[] {
  const tz = hours.timeZone;
  const out = [firstInstantAtOrAfter(d, 0, tz)];
  for (const r of hours.weekly[weekdayOf(d)] ?? []) {
    out.push(firstInstantAtOrAfter(d, r.start, tz), ...instantsOf(d, r.start, tz));
    if (r.end > r.start) {
      out.push(firstInstantAtOrAfter(d, r.end, tz));
      if (r.end < 1440) out.push(...instantsOf(d, r.end, tz));
    } else {
      const next = addDays(d, 1);
      out.push(firstInstantAtOrAfter(next, r.end, tz), ...instantsOf(next, r.end, tz));
    }
  }
  return out;
}

function closureCandidates(hours: QueueHours, c: Closure): number[] {
  const out: number[] = [];
  for (const local of [c.from, c.to]) {
    const p = parseLocalDateTime(local)!;
    out.push(firstInstantAtOrAfter(p, p.minutes, hours.timeZone));
    if (p.minutes < 1440) out.push(...instantsOf(p, p.minutes, hours.timeZone));
  }
  return out;
}

function nextChange(
  hours: QueueHours | undefined,
  at: number,
  override: ManualOverride | undefined,
  openNow: boolean,
): number | null {
  const overrideActive = override && (override.until === undefined || at < override.until);
  if (overrideActive && override.until === undefined) return null;
  if (!hours) {
    // Always open by schedule: only the end of a manual override can change anything.
    return overrideActive && override.until !== undefined && override.closed ? override.until : null;
  }
  const tz = hours.timeZone;
  let pending: number[] = [];
  for (const c of hours.closures) pending.push(...closureCandidates(hours, c));
  if (overrideActive && override.until !== undefined) pending.push(override.until);
  const start = wallTime(at, tz);
  let day: LocalDate = addDays(start, -1);
  const end = at + HORIZON_DAYS * 86_400_000;
  let from = at;
  while (from < end) {
    const chunkEndDay = addDays(day, CHUNK_DAYS);
    for (let d = day; naiveKey(d, 0) < naiveKey(chunkEndDay, 0); d = addDays(d, 1)) {
      pending.push(...dayCandidates(hours, d));
    }
    const windowEnd = firstInstantAtOrAfter(chunkEndDay, 0, tz);
    pending.push(...offsetChanges(from, windowEnd, tz));
    const due = [...new Set(pending.filter((t) => t > at && t < windowEnd))].sort((a, b) => a - b);
    pending = pending.filter((t) => t >= windowEnd);
    for (const t of due) {
      if (stateAt(hours, t, override).open !== openNow) return t;
    }
    day = chunkEndDay;
    from = windowEnd;
  }
  return null;
}
