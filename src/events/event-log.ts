import type { CallCenterEvent, LoggedEvent } from './call-center-event.js';

/**
 * The call-center event log (docs/interface.md §7 "The event log"): every step, in the order the
 * replicas appended it, kept for `retentionDays` and copied to PostgreSQL. Two implementations
 * run through one test suite: `RedisEventLog` (shared by replicas) and `MemoryEventLog` (the
 * embedded default: one process, capped).
 *
 * Ids are Redis stream ids, `<ms>-<seq>`: the Redis server's clock at append time, so they order
 * events across replicas whatever their clocks, and `since=<id>` resumes an export exactly.
 * An event's `at` is the time it happened (the replica's clock); KPIs use `at` (see
 * `eventsBetween`), exports and the PostgreSQL copy use the id order.
 */
export interface EventLog extends EventFeed {
  /** Appends one event; returns its id. */
  append(event: CallCenterEvent): Promise<string>;
  /** Appends several events (one transition's) in this order, adjacent, in one round trip. */
  appendMany(events: readonly CallCenterEvent[]): Promise<string[]>;
  /** Events in log order, for `GET /api/events` (unreadable entries are passed over). */
  read(query: EventQuery): Promise<LoggedEvent[]>;
}

export interface EventQuery {
  /**
   * Where to start: a log id (exclusive: "after this one", to resume an export), or epoch ms
   * (inclusive: events appended at or after that instant). Default: the oldest kept.
   */
  since?: string | number;
  /** Epoch ms, exclusive: events appended before that instant. Default: up to now. */
  until?: number;
  /** At most this many events (the caller pages with `since` = the last id). */
  limit: number;
}

/** One entry as the feed hands it out; `event` is undefined for an entry this version cannot read. */
export interface EventFeedEntry {
  id: string;
  event: CallCenterEvent | undefined;
}

/**
 * The log in append order with named cursors: how `PgEventWriter` catches up after an outage.
 * A sink reads after its cursor, writes, then advances it; a crash in between re-reads the same
 * entries, so sinks must be idempotent (PostgreSQL's unique key on the id).
 */
export interface EventFeed {
  /** Up to `count` entries after `after` (exclusive; undefined = from the oldest kept), oldest first. */
  readAfter(after: string | undefined, count: number): Promise<EventFeedEntry[]>;
  cursor(name: string): Promise<string | undefined>;
  /** Moves the cursor forward to `id`; never back (two replicas flushing at once). True when it moved. */
  advanceCursor(name: string, id: string): Promise<boolean>;
}

export interface EventLogOptions {
  /**
   * Days an event stays in the log (Redis trims older ones as it appends). Default 40: last
   * month's KPIs plus a margin; PostgreSQL keeps the copy for longer.
   */
  retentionDays?: number;
  /** Memory log only: most events kept (oldest dropped first). Default 100,000. */
  maxEntries?: number;
  now?: () => number;
}

export const DEFAULT_EVENT_RETENTION_DAYS = 40;
export const DEFAULT_MEMORY_EVENT_CAP = 100_000;

export const STREAM_ID = /^\d+-\d+$/;

/** `a` before `b` in log order (ids `<ms>-<seq>`). */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/**
 * Every event that HAPPENED (`at`) in `[fromMs, toMs)`, in log order: what the KPIs of a day read.
 * The ids are the append time, which trails `at` by the time a replica took to log it (a clock
 * skew, a retry), so the read starts `marginMs` early and ends `marginMs` late and then filters
 * by `at`.
 */
export async function eventsBetween(
  log: Pick<EventLog, 'read'>,
  fromMs: number,
  toMs: number,
  options: { marginMs?: number; pageSize?: number } = {},
): Promise<LoggedEvent[]> {
  const margin = options.marginMs ?? 10 * 60_000;
  const pageSize = Math.max(1, options.pageSize ?? 5_000);
  const out: LoggedEvent[] = [];
  let since: string | number = Math.max(0, fromMs - margin);
  for (;;) {
    const page = await log.read({ since, until: toMs + margin, limit: pageSize });
    for (const e of page) if (e.at >= fromMs && e.at < toMs) out.push(e);
    const last = page.at(-1);
    if (page.length < pageSize || !last) return out;
    since = last.id;
  }
}
