import { plainCopy } from '../plain-copy.js';
import type { CallRecord } from './call-record.js';
import {
  type CallRecordStore,
  type CallRecordStoreOptions,
  checkRange,
  DAY_MS,
  DEFAULT_FEED_MAX_LENGTH,
  DEFAULT_RETENTION_DAYS,
  type FeedEntry,
  type RecordFeed,
} from './call-record-store.js';

interface Kept {
  record: CallRecord;
  startedMs: number;
  /** When it was appended, for retention. */
  storedAt: number;
}

/** Records kept in memory at most; past it the oldest are evicted. */
export const DEFAULT_MAX_MEMORY_RECORDS = 50_000;

export interface MemoryCallRecordStoreOptions extends CallRecordStoreOptions {
  /**
   * Records kept at most (default {@link DEFAULT_MAX_MEMORY_RECORDS}): past it the oldest are
   * evicted (from the KPIs and the deduplication of sids), so a busy month cannot grow the process
   * until its memory limit. Redis or PostgreSQL keep the full history.
   */
  maxRecords?: number;
}

/**
 * Call records in process memory: the embedded default without REDIS_URL. Same rules as the Redis
 * store (append once per sid, retention in days, a capped feed with cursors), for one replica,
 * plus a cap on the records kept.
 */
export class MemoryCallRecordStore implements CallRecordStore, RecordFeed {
  readonly #bySid = new Map<string, Kept>();
  readonly #feed: Array<{ seq: number; record: CallRecord }> = [];
  readonly #cursors = new Map<string, number>();
  readonly #retentionMs: number;
  readonly #feedMaxLength: number;
  readonly #maxRecords: number;
  readonly #now: () => number;
  #seq = 0;
  #appendsSincePrune = 0;

  constructor(options: MemoryCallRecordStoreOptions = {}) {
    this.#maxRecords = Math.max(1, options.maxRecords ?? DEFAULT_MAX_MEMORY_RECORDS);
    this.#retentionMs = Math.max(1, options.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
    this.#feedMaxLength = Math.max(1, options.feedMaxLength ?? DEFAULT_FEED_MAX_LENGTH);
    this.#now = options.now ?? Date.now;
  }

  async append(record: CallRecord): Promise<boolean> {
    const now = this.#now();
    const seen = this.#bySid.get(record.sid);
    if (seen && now - seen.storedAt < this.#retentionMs) return false;
    const copy = plainCopy(record);
    // Re-inserted at the end, so map order stays append order and the first entry is the oldest.
    this.#bySid.delete(record.sid);
    this.#bySid.set(record.sid, { record: copy, startedMs: Date.parse(record.startedAt), storedAt: now });
    this.#seq += 1;
    this.#feed.push({ seq: this.#seq, record: copy });
    if (this.#feed.length > this.#feedMaxLength)
      this.#feed.splice(0, this.#feed.length - this.#feedMaxLength);
    for (const sid of this.#bySid.keys()) {
      if (this.#bySid.size <= this.#maxRecords) break;
      this.#bySid.delete(sid);
    }
    // Pruning is O(n): do it now and then, not on every append.
    if (++this.#appendsSincePrune >= 1000) this.#prune(now);
    return true;
  }

  async range(fromMs: number, toMs: number): Promise<CallRecord[]> {
    checkRange(fromMs, toMs);
    this.#prune(this.#now());
    const out: CallRecord[] = [];
    for (const kept of this.#bySid.values()) {
      if (kept.startedMs >= fromMs && kept.startedMs < toMs) out.push(plainCopy(kept.record));
    }
    return out;
  }

  async readAfter(after: string | undefined, count: number): Promise<FeedEntry[]> {
    const from = after === undefined ? 0 : Number(after);
    const out: FeedEntry[] = [];
    for (const entry of this.#feed) {
      if (entry.seq <= from) continue;
      out.push({ id: String(entry.seq), record: plainCopy(entry.record) });
      if (out.length >= count) break;
    }
    return out;
  }

  async cursor(name: string): Promise<string | undefined> {
    const at = this.#cursors.get(name);
    return at === undefined ? undefined : String(at);
  }

  async advanceCursor(name: string, id: string): Promise<boolean> {
    const to = Number(id);
    if (!Number.isSafeInteger(to)) throw new RangeError(`not a feed id: ${id}`);
    if (to <= (this.#cursors.get(name) ?? 0)) return false;
    this.#cursors.set(name, to);
    return true;
  }

  #prune(now: number): void {
    this.#appendsSincePrune = 0;
    for (const [sid, kept] of this.#bySid) {
      if (now - kept.storedAt >= this.#retentionMs) this.#bySid.delete(sid);
    }
  }
}
