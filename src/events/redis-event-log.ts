import type { Redis } from 'ioredis';
import { ADVANCE_STREAM_CURSOR } from '../redis.js';
import { type CallCenterEvent, decodeEvent, encodeEvent, type LoggedEvent } from './call-center-event.js';
import {
  DEFAULT_EVENT_RETENTION_DAYS,
  type EventFeedEntry,
  type EventLog,
  type EventLogOptions,
  type EventQuery,
  STREAM_ID,
} from './event-log.js';

/**
 * Keys (under the client's `keyPrefix`), in the `{events}` hash tag:
 * - `events:{events}:log`            one STREAM of every event, field `e` = the event as JSON.
 *                                    Each XADD trims entries older than the retention
 *                                    (`MINID ~ <now - retention>`), so the stream is bounded by
 *                                    time without a TTL on the key.
 * - `events:{events}:cursor:<name>`  a feed cursor (the last id a sink copied); tiny, no TTL.
 *
 * One stream, not one per day: a stream id is the Redis server's append time, so ranges by time
 * (`since`, a day in any time zone) are plain XRANGEs over one key, and the order across replicas
 * and across midnight is exact. A stream per local day would tie the log to one time zone, and a
 * replica whose clock is a moment off at midnight would put an event in the wrong day's stream
 * and out of order. Trimming by MINID drops whole old days just as a per-day TTL would.
 * Needs Redis ≥ 6.2 (MINID), which ioredis 6 already requires.
 */

type ScriptCommands = {
  sbEventCursorAdvance: (key: string, id: string) => Promise<number>;
  sbEventAppend: (key: string, minId: number, ...events: string[]) => Promise<string[]>;
};

/**
 * Appends ARGV[2..] to the stream KEYS[1] in this order, each XADD trimming by `MINID ~ ARGV[1]`;
 * replies the ids. A script runs alone, so one transition's events stay adjacent, in one command
 * (a MULTI of N XADDs is N + 2 commands and an ioredis Pipeline object). Scripts replicate by
 * their effects (the default since Redis 5), so the `*` ids are safe.
 */
const APPEND_EVENTS = `
local ids = {}
for i = 2, #ARGV do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', 'e', ARGV[i])
end
return ids`;

export class RedisEventLog implements EventLog {
  readonly #redis: Redis;
  readonly #scripts: ScriptCommands;
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly #base = 'events:{events}:';

  constructor(redis: Redis, options: Omit<EventLogOptions, 'maxEntries'> = {}) {
    this.#redis = redis;
    if (typeof (redis as unknown as Record<string, unknown>).sbEventCursorAdvance !== 'function') {
      redis.defineCommand('sbEventCursorAdvance', { numberOfKeys: 1, lua: ADVANCE_STREAM_CURSOR });
    }
    if (typeof (redis as unknown as Record<string, unknown>).sbEventAppend !== 'function') {
      redis.defineCommand('sbEventAppend', { numberOfKeys: 1, lua: APPEND_EVENTS });
    }
    this.#scripts = redis as unknown as ScriptCommands;
    this.#retentionMs = Math.max(1, options.retentionDays ?? DEFAULT_EVENT_RETENTION_DAYS) * 86_400_000;
    this.#now = options.now ?? Date.now;
  }

  /** The stream's key (without the client prefix), for operators and tests. */
  get streamKey(): string {
    return `${this.#base}log`;
  }

  async append(event: CallCenterEvent): Promise<string> {
    const [id] = await this.appendMany([event]);
    return id as string;
  }

  async appendMany(events: readonly CallCenterEvent[]): Promise<string[]> {
    if (!events.length) return [];
    const minId = Math.max(0, Math.floor(this.#now() - this.#retentionMs));
    // One event: a plain XADD. Several: one script, which keeps them adjacent and in order (a
    // MULTI would build an ioredis Pipeline object, ≈ 25–34 µs of CPU with the app's scripts
    // defined: bench/RESULTS.md, issue 18 wave 2).
    if (events.length === 1) {
      const id = await this.#redis.xadd(
        this.streamKey,
        'MINID',
        '~',
        minId,
        '*',
        'e',
        encodeEvent(events[0]!),
      );
      return [id as string];
    }
    return this.#scripts.sbEventAppend(this.streamKey, minId, ...events.map(encodeEvent));
  }

  async read(query: EventQuery): Promise<LoggedEvent[]> {
    const entries = await this.#range(query);
    const out: LoggedEvent[] = [];
    for (const { id, event } of entries) if (event) out.push({ ...event, id });
    return out;
  }

  async #range(query: EventQuery): Promise<EventFeedEntry[]> {
    const { since, until } = query;
    let start = '-';
    if (typeof since === 'string') {
      if (!STREAM_ID.test(since)) throw new RangeError(`not an event id: ${since}`);
      start = `(${since}`;
    } else if (typeof since === 'number') {
      start = String(Math.max(0, Math.floor(since)));
    }
    let end = '+';
    if (until !== undefined) {
      // An end of `<ms>` includes every entry of that millisecond: stop one before `until`.
      if (until <= 0) return [];
      end = String(Math.floor(until) - 1);
    }
    const raw = await this.#redis.xrange(this.streamKey, start, end, 'COUNT', Math.max(1, query.limit));
    return raw.map(([id, fields]) => {
      const at = fields.indexOf('e');
      const value = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
      return { id, event: value === undefined ? undefined : decodeEvent(value) };
    });
  }

  async readAfter(after: string | undefined, count: number): Promise<EventFeedEntry[]> {
    return this.#range({ ...(after === undefined ? {} : { since: after }), limit: count });
  }

  async cursor(name: string): Promise<string | undefined> {
    return (await this.#redis.get(this.#cursorKey(name))) ?? undefined;
  }

  async advanceCursor(name: string, id: string): Promise<boolean> {
    if (!STREAM_ID.test(id)) throw new RangeError(`not an event id: ${id}`);
    return Number(await this.#scripts.sbEventCursorAdvance(this.#cursorKey(name), id)) === 1;
  }

  #cursorKey(name: string): string {
    if (!name || /[{}]/.test(name)) throw new RangeError('cursor name must be non-empty and free of { }');
    return `${this.#base}cursor:${name}`;
  }
}
