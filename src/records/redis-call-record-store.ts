import type { Redis } from 'ioredis';
import { ADVANCE_STREAM_CURSOR } from '../redis.js';
import { type CallRecord, decodeRecord, encodeRecord } from './call-record.js';
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

/**
 * Keys (under the client's `keyPrefix`), all in the `{records}` hash tag so the append script runs
 * on one Redis Cluster slot:
 * - `records:{records}:seen:<sid>`        dedupe marker, `SET NX EX` (retention)
 * - `records:{records}:stream`            STREAM of every record in append order, `MAXLEN ~` capped:
 *                                         the log, and the buffer PostgreSQL catches up from
 * - `records:{records}:started:<YYYY-MM-DD>` ZSET of the records of calls that started that UTC
 *                                         day, scored by start time (ms): the KPI index. A stream
 *                                         is ordered by append (≈ end) time, not by the call's
 *                                         start, so the KPIs read this index instead.
 * - `records:{records}:cursor:<name>`     a feed cursor (last stream id a sink has written)
 */

/** Dedupe, log and index in one step: a crash between them cannot leave a call half-recorded. */
const APPEND = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4]) then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'sid', ARGV[2], 'record', ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[6])
return 1`;

const COMMANDS = {
  sbRecordAppend: { numberOfKeys: 3, lua: APPEND },
  sbRecordAdvance: { numberOfKeys: 1, lua: ADVANCE_STREAM_CURSOR },
} as const;

type ScriptCommands = {
  [K in keyof typeof COMMANDS]: (...args: Array<string | number>) => Promise<number>;
};

const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const STREAM_ID = /^\d+-\d+$/;

/**
 * Call records in Redis, shared by all replicas. Takes the app's ioredis client (with its
 * `keyPrefix`); the Lua scripts are registered with `defineCommand`, so they run by SHA and reload
 * themselves after a Redis restart.
 */
export class RedisCallRecordStore implements CallRecordStore, RecordFeed {
  readonly #redis: Redis;
  readonly #scripts: ScriptCommands;
  readonly #retentionSeconds: number;
  readonly #feedMaxLength: number;
  readonly #base = 'records:{records}:';

  constructor(redis: Redis, options: Omit<CallRecordStoreOptions, 'now'> = {}) {
    this.#redis = redis;
    for (const [command, definition] of Object.entries(COMMANDS)) {
      if (typeof (redis as unknown as Record<string, unknown>)[command] !== 'function') {
        redis.defineCommand(command, definition);
      }
    }
    this.#scripts = redis as unknown as ScriptCommands;
    this.#retentionSeconds = Math.max(1, options.retentionDays ?? DEFAULT_RETENTION_DAYS) * 86_400;
    this.#feedMaxLength = Math.max(1, options.feedMaxLength ?? DEFAULT_FEED_MAX_LENGTH);
  }

  /** The stream's key (without the client prefix), for operators and tests. */
  get streamKey(): string {
    return `${this.#base}stream`;
  }

  async append(record: CallRecord): Promise<boolean> {
    const startedMs = Date.parse(record.startedAt);
    if (!Number.isFinite(startedMs)) throw new RangeError(`record ${record.sid} has no valid startedAt`);
    const added = await this.#scripts.sbRecordAppend(
      `${this.#base}seen:${record.sid}`,
      this.streamKey,
      `${this.#base}started:${utcDay(startedMs)}`,
      encodeRecord(record),
      record.sid,
      startedMs,
      this.#retentionSeconds,
      this.#feedMaxLength,
      // The day's calls keep arriving for a few hours after it ends: count retention from then.
      this.#retentionSeconds + 86_400,
    );
    return Number(added) === 1;
  }

  async range(fromMs: number, toMs: number): Promise<CallRecord[]> {
    checkRange(fromMs, toMs);
    if (toMs === fromMs) return [];
    const pipeline = this.#redis.pipeline();
    const firstDay = Math.floor(fromMs / DAY_MS);
    const lastDay = Math.floor((toMs - 1) / DAY_MS);
    for (let day = firstDay; day <= lastDay; day++) {
      pipeline.zrangebyscore(`${this.#base}started:${utcDay(day * DAY_MS)}`, fromMs, `(${toMs}`);
    }
    const replies = (await pipeline.exec()) ?? [];
    const out: CallRecord[] = [];
    for (const [err, members] of replies) {
      if (err) throw err;
      for (const raw of members as string[]) {
        const record = decodeRecord(raw);
        if (record) out.push(record);
      }
    }
    return out;
  }

  async readAfter(after: string | undefined, count: number): Promise<FeedEntry[]> {
    if (after !== undefined && !STREAM_ID.test(after)) throw new RangeError(`not a stream id: ${after}`);
    const entries = await this.#redis.xrange(
      this.streamKey,
      after === undefined ? '-' : `(${after}`,
      '+',
      'COUNT',
      Math.max(1, count),
    );
    return entries.map(([id, fields]) => {
      const at = fields.indexOf('record');
      const raw = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
      return { id, record: raw === undefined ? undefined : decodeRecord(raw) };
    });
  }

  async cursor(name: string): Promise<string | undefined> {
    return (await this.#redis.get(this.#cursorKey(name))) ?? undefined;
  }

  async advanceCursor(name: string, id: string): Promise<boolean> {
    if (!STREAM_ID.test(id)) throw new RangeError(`not a stream id: ${id}`);
    return Number(await this.#scripts.sbRecordAdvance(this.#cursorKey(name), id)) === 1;
  }

  #cursorKey(name: string): string {
    if (/[{}]/.test(name)) throw new Error('cursor name must not contain { or }');
    return `${this.#base}cursor:${name}`;
  }
}
