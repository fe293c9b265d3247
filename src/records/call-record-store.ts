import type { CallRecord } from './call-record.js';

/**
 * Where call records live. Two implementations run through one test suite: `RedisCallRecordStore`
 * (shared by replicas, the buffer in front of PostgreSQL) and `MemoryCallRecordStore` (the
 * embedded default: one process, lost on restart).
 */
export interface CallRecordStore {
  /**
   * Stores the record unless one with the same sid was stored before (by any replica, within the
   * retention). True when this call stored it: the caller may then count it (metrics) knowing no
   * other replica will.
   */
  append(record: CallRecord): Promise<boolean>;
  /**
   * Records of calls that STARTED in `[fromMs, toMs)`, in no particular order. A call belongs to
   * the interval it started in (its wait began there), so a day's KPIs never change once its
   * calls have ended, whenever the records arrived.
   */
  range(fromMs: number, toMs: number): Promise<CallRecord[]>;
}

/** One record as the feed hands it out; `record` is undefined for an entry this version cannot read. */
export interface FeedEntry {
  /** Position in the feed; opaque, increasing in append order. */
  id: string;
  record: CallRecord | undefined;
}

/**
 * The records in append order, with named cursors: how `PgRecordWriter` (and any other sink)
 * catches up after an outage. A sink reads after its cursor, writes, then advances the cursor;
 * a crash in between re-reads the same entries, so sinks must be idempotent.
 */
export interface RecordFeed {
  /** Up to `count` entries appended after `after` (exclusive; undefined = from the oldest kept), oldest first. */
  readAfter(after: string | undefined, count: number): Promise<FeedEntry[]>;
  /** The cursor named `name`; undefined when it was never advanced. */
  cursor(name: string): Promise<string | undefined>;
  /**
   * Moves the cursor to `id` if that is further on; never moves it back, so two replicas flushing
   * at once cannot undo each other's progress. True when it moved.
   */
  advanceCursor(name: string, id: string): Promise<boolean>;
}

export interface CallRecordStoreOptions {
  /**
   * Days a record stays queryable for KPIs, counted from its last write to that day (and how long
   * a sid is remembered for deduplication). Default 35: last month's reports plus a margin.
   */
  retentionDays?: number;
  /**
   * Entries kept in the append-order feed (approximately: Redis trims whole nodes, `MAXLEN ~`).
   * The feed is the buffer in front of PostgreSQL: an outage longer than this many calls loses the
   * oldest unwritten ones from PostgreSQL (never from the KPIs). Default 100,000.
   */
  feedMaxLength?: number;
  now?: () => number;
}

export const DEFAULT_RETENTION_DAYS = 35;
export const DEFAULT_FEED_MAX_LENGTH = 100_000;
export const DAY_MS = 86_400_000;
/** The widest window `range` serves: enough for a month report, small enough to be cheap. */
export const MAX_RANGE_DAYS = 62;

export function checkRange(fromMs: number, toMs: number): void {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs < fromMs) {
    throw new RangeError(`invalid record range ${fromMs}..${toMs}`);
  }
  if (toMs - fromMs > MAX_RANGE_DAYS * DAY_MS) {
    throw new RangeError(`record range wider than ${MAX_RANGE_DAYS} days`);
  }
}
