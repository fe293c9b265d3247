import { plainCopy } from '../plain-copy.js';
import type { CallCenterEvent, LoggedEvent } from './call-center-event.js';
import {
  compareIds,
  DEFAULT_EVENT_RETENTION_DAYS,
  DEFAULT_MEMORY_EVENT_CAP,
  type EventFeedEntry,
  type EventLog,
  type EventLogOptions,
  type EventQuery,
  STREAM_ID,
} from './event-log.js';

/**
 * The event log in process memory: the embedded default (one replica), lost on restart, capped at
 * `maxEntries` and `retentionDays`. Ids are made like Redis stream ids (`<ms>-<seq>`, never going
 * back even if the clock does), so a client paging with `since` works the same on both.
 */
export class MemoryEventLog implements EventLog {
  readonly #entries: Array<{ id: string; ms: number; event: CallCenterEvent }> = [];
  readonly #cursors = new Map<string, string>();
  readonly #retentionMs: number;
  readonly #cap: number;
  readonly #now: () => number;
  #lastMs = 0;
  #lastSeq = 0;

  constructor(options: EventLogOptions = {}) {
    this.#retentionMs = Math.max(1, options.retentionDays ?? DEFAULT_EVENT_RETENTION_DAYS) * 86_400_000;
    this.#cap = Math.max(1, options.maxEntries ?? DEFAULT_MEMORY_EVENT_CAP);
    this.#now = options.now ?? Date.now;
  }

  async append(event: CallCenterEvent): Promise<string> {
    const [id] = await this.appendMany([event]);
    return id as string;
  }

  async appendMany(events: readonly CallCenterEvent[]): Promise<string[]> {
    const now = this.#now();
    const ids: string[] = [];
    for (const event of events) {
      if (now > this.#lastMs) {
        this.#lastMs = now;
        this.#lastSeq = 0;
      } else {
        this.#lastSeq += 1;
      }
      const id = `${this.#lastMs}-${this.#lastSeq}`;
      this.#entries.push({ id, ms: this.#lastMs, event: plainCopy(event) });
      ids.push(id);
    }
    this.#trim(now);
    return ids;
  }

  #trim(now: number): void {
    let drop = Math.max(0, this.#entries.length - this.#cap);
    while (drop < this.#entries.length && (this.#entries[drop]?.ms ?? 0) < now - this.#retentionMs) drop++;
    if (drop) this.#entries.splice(0, drop);
  }

  async read(query: EventQuery): Promise<LoggedEvent[]> {
    this.#trim(this.#now());
    const { since, until } = query;
    if (typeof since === 'string' && !STREAM_ID.test(since))
      throw new RangeError(`not an event id: ${since}`);
    const out: LoggedEvent[] = [];
    for (const e of this.#entries) {
      if (out.length >= Math.max(1, query.limit)) break;
      if (typeof since === 'string' && compareIds(e.id, since) <= 0) continue;
      if (typeof since === 'number' && e.ms < since) continue;
      if (until !== undefined && e.ms >= until) break;
      out.push({ ...plainCopy(e.event), id: e.id });
    }
    return out;
  }

  async readAfter(after: string | undefined, count: number): Promise<EventFeedEntry[]> {
    const events = await this.read({ ...(after === undefined ? {} : { since: after }), limit: count });
    return events.map(({ id, ...event }) => ({ id, event: event as CallCenterEvent }));
  }

  async cursor(name: string): Promise<string | undefined> {
    return this.#cursors.get(name);
  }

  async advanceCursor(name: string, id: string): Promise<boolean> {
    if (!STREAM_ID.test(id)) throw new RangeError(`not an event id: ${id}`);
    const current = this.#cursors.get(name);
    if (current !== undefined && compareIds(id, current) <= 0) return false;
    this.#cursors.set(name, id);
    return true;
  }
}
