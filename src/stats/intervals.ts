/** Half-open time intervals `[from, to)` in epoch ms, for time-based KPIs (occupancy). */
export interface Interval {
  from: number;
  to: number;
}

/** The interval cut to `[from, to)`; undefined when nothing is left. */
export function clip(interval: Interval, from: number, to: number): Interval | undefined {
  const a = Math.max(interval.from, from);
  const b = Math.min(interval.to, to);
  return b > a ? { from: a, to: b } : undefined;
}

/** Overlapping or touching intervals merged, sorted. */
export function union(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.to > i.from).sort((x, y) => x.from - y.from);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out.at(-1);
    if (last && i.from <= last.to) last.to = Math.max(last.to, i.to);
    else out.push({ ...i });
  }
  return out;
}

/** Total length, ms, counting overlaps once. */
export function measure(intervals: readonly Interval[]): number {
  return union(intervals).reduce((sum, i) => sum + (i.to - i.from), 0);
}
