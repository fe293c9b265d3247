import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { migrate } from '../postgres/schema.js';
import type { CallCenterEvent } from './call-center-event.js';
import type { EventFeed } from './event-log.js';

export interface PgEventWriterOptions {
  pool: Pool;
  /** The event log's feed (`RedisEventLog` with Redis): the buffer the writer catches up from. */
  feed: EventFeed;
  logger: Logger;
  /** Rows per INSERT (default 1,000). */
  batchSize?: number;
  /** Batches one `flush` writes at most, so a long backlog is spread over several runs (default 20). */
  maxBatches?: number;
  /** Name of the feed cursor (default `postgres`); one per database the events go to. */
  cursorName?: string;
}

export interface EventFlushResult {
  /** Feed entries read (and passed by the cursor). */
  read: number;
  /** Rows inserted; less than `read` when an interrupted flush already wrote some. */
  written: number;
  /** Entries that could not be decoded and were passed over (logged). */
  skipped: number;
  /** More entries were waiting when `maxBatches` was reached. */
  more: boolean;
}

/** All rows of a batch as one JSON parameter: one statement whatever the batch size. */
const INSERT = `
INSERT INTO call_center_events (stream_id, id_ms, id_seq, at, type, queue, call_sid, agent, data)
SELECT r.id, r.ms, r.seq, to_timestamp(r.at / 1000.0), r.type, r.queue, r."callSid", r.agent, r.data
FROM jsonb_to_recordset($1::jsonb) AS r(
  id text, ms bigint, seq bigint, at double precision, type text, queue text, "callSid" text,
  agent text, data jsonb
)
ON CONFLICT (stream_id) DO NOTHING`;

const field = (event: CallCenterEvent, name: 'queue' | 'callSid' | 'agent'): string | null => {
  const value = (event as unknown as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : null;
};

/**
 * Copies the call-center event log into PostgreSQL's `call_center_events` (docs/interface.md §7:
 * "kept in Redis and copied to PostgreSQL with the call records"), in batches, when `flush` runs
 * (the app schedules it next to the call-record writer). Exactly once per log id: the insert
 * skips ids already there, and the feed cursor moves past a batch only after its INSERT
 * committed. A database outage makes `flush` throw; the events wait in the Redis stream (for its
 * retention) and the next flush writes them. The event's own fields go to `data` whole, with the
 * columns reports filter on (`at`, `type`, `queue`, `call_sid`, `agent`) alongside.
 */
export class PgEventWriter {
  readonly #o: Required<Omit<PgEventWriterOptions, 'logger'>> & { logger: Logger };
  #migrated = false;
  #running: Promise<EventFlushResult> | undefined;

  constructor(options: PgEventWriterOptions) {
    this.#o = { batchSize: 1_000, maxBatches: 20, cursorName: 'postgres', ...options };
    this.#o.batchSize = Math.max(1, this.#o.batchSize);
    this.#o.maxBatches = Math.max(1, this.#o.maxBatches);
  }

  /** Creates or upgrades the schema (shared with the call records). Safe from every replica at once. */
  async migrate(): Promise<void> {
    const applied = await migrate(this.#o.pool);
    if (applied.length) this.#o.logger.info({ migrations: applied }, 'postgres schema migrated');
    this.#migrated = true;
  }

  /** Writes the events appended since the last flush. A call while a flush runs joins it. */
  flush(): Promise<EventFlushResult> {
    this.#running ??= this.#flush().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #flush(): Promise<EventFlushResult> {
    if (!this.#migrated) await this.migrate();
    const { feed, batchSize, maxBatches, cursorName, logger, pool } = this.#o;
    const result: EventFlushResult = { read: 0, written: 0, skipped: 0, more: false };
    for (let batch = 0; batch < maxBatches; batch++) {
      const entries = await feed.readAfter(await feed.cursor(cursorName), batchSize);
      if (!entries.length) return result;
      const rows = [];
      for (const { id, event } of entries) {
        if (!event) {
          result.skipped += 1;
          logger.warn({ entry: id }, 'unreadable call-center event passed over');
          continue;
        }
        const [ms, seq] = id.split('-');
        rows.push({
          id,
          ms: Number(ms),
          seq: Number(seq),
          at: event.at,
          type: event.type,
          queue: field(event, 'queue'),
          callSid: field(event, 'callSid'),
          agent: field(event, 'agent'),
          data: event,
        });
      }
      if (rows.length) result.written += (await pool.query(INSERT, [JSON.stringify(rows)])).rowCount ?? 0;
      await feed.advanceCursor(cursorName, (entries.at(-1) as { id: string }).id);
      result.read += entries.length;
      if (entries.length < batchSize) return result;
    }
    result.more = true;
    return result;
  }
}
