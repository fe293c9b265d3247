import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { migrate } from '../postgres/schema.js';
import type { CallRecord } from './call-record.js';
import type { RecordFeed } from './call-record-store.js';

export interface PgRecordWriterOptions {
  pool: Pool;
  /** The record store's feed (`RedisCallRecordStore` with Redis): the buffer the writer catches up from. */
  feed: RecordFeed;
  logger: Logger;
  /** Rows per INSERT (default 500). */
  batchSize?: number;
  /** Batches one `flush` writes at most, so a long backlog is spread over several runs (default 20). */
  maxBatches?: number;
  /** Name of the feed cursor (default `postgres`); one per database the records go to. */
  cursorName?: string;
}

export interface FlushResult {
  /** Feed entries read (and passed by the cursor). */
  read: number;
  /** Rows inserted; less than `read` when an earlier, interrupted flush already wrote some. */
  written: number;
  /** Entries that could not be decoded and were passed over (logged). */
  skipped: number;
  /** More entries were waiting when `maxBatches` was reached. */
  more: boolean;
}

/** All rows of a batch as one JSON parameter: one statement, whatever the batch size. */
const INSERT = `
INSERT INTO call_records (
  sid, direction, caller, callee, agent, agent_id, rung, started_at, answered_at, ended_at,
  wait_seconds, talk_seconds, outcome, ring_rounds, recording_url, queue
)
SELECT r.sid, r.direction, r.caller, r.callee, r.agent, r."agentId",
       ARRAY(SELECT jsonb_array_elements_text(r.rung)),
       r."startedAt", r."answeredAt", r."endedAt",
       r."waitSeconds", r."talkSeconds", r.outcome, r."ringRounds", r."recordingUrl", r.queue
FROM jsonb_to_recordset($1::jsonb) AS r(
  sid text, direction text, caller text, callee text, agent text, "agentId" text, rung jsonb,
  "startedAt" timestamptz, "answeredAt" timestamptz, "endedAt" timestamptz,
  "waitSeconds" integer, "talkSeconds" integer, outcome text, "ringRounds" integer, "recordingUrl" text,
  queue text
)
ON CONFLICT (sid) DO NOTHING`;

/**
 * Copies call records from the record feed into PostgreSQL's `call_records`, in batches, when
 * `flush` runs (the app schedules it). Exactly once per sid: the insert skips sids already
 * there, and the feed cursor moves past a batch only after its INSERT committed. So:
 * - a database outage makes `flush` throw and the records wait in the feed (the Redis stream);
 *   the next flush after the outage writes them all;
 * - a crash between INSERT and cursor move re-reads that batch, and the insert skips it;
 * - two replicas flushing at once write the same rows at worst twice into the same skip, and
 *   the cursor never moves back.
 */
export class PgRecordWriter {
  readonly #o: Required<Omit<PgRecordWriterOptions, 'logger'>> & { logger: Logger };
  #migrated = false;
  #running: Promise<FlushResult> | undefined;

  constructor(options: PgRecordWriterOptions) {
    this.#o = {
      batchSize: 500,
      maxBatches: 20,
      cursorName: 'postgres',
      ...options,
    };
    this.#o.batchSize = Math.max(1, this.#o.batchSize);
    this.#o.maxBatches = Math.max(1, this.#o.maxBatches);
  }

  /** Creates or upgrades the schema. Safe to call from every replica at once, and again. */
  async migrate(): Promise<void> {
    const applied = await migrate(this.#o.pool);
    if (applied.length) this.#o.logger.info({ migrations: applied }, 'postgres schema migrated');
    this.#migrated = true;
  }

  /**
   * Writes the records appended since the last flush. Throws when PostgreSQL (or the feed) is
   * unreachable, having lost nothing. A call while a flush runs in this process joins that flush.
   */
  flush(): Promise<FlushResult> {
    this.#running ??= this.#flush().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #flush(): Promise<FlushResult> {
    if (!this.#migrated) await this.migrate();
    const { feed, batchSize, maxBatches, cursorName, logger } = this.#o;
    const result: FlushResult = { read: 0, written: 0, skipped: 0, more: false };
    for (let batch = 0; batch < maxBatches; batch++) {
      const entries = await feed.readAfter(await feed.cursor(cursorName), batchSize);
      if (!entries.length) return result;
      const records: CallRecord[] = [];
      for (const entry of entries) {
        if (entry.record) records.push(entry.record);
        else {
          result.skipped += 1;
          logger.warn({ entry: entry.id }, 'unreadable call record passed over');
        }
      }
      if (records.length) result.written += await this.#insert(records);
      await feed.advanceCursor(cursorName, (entries.at(-1) as { id: string }).id);
      result.read += entries.length;
      if (entries.length < batchSize) return result;
    }
    result.more = true;
    return result;
  }

  async #insert(records: CallRecord[]): Promise<number> {
    const rows = records.map((r) => ({
      sid: r.sid,
      direction: r.direction,
      caller: r.caller,
      callee: r.callee,
      agent: r.agent ?? null,
      agentId: r.agentId ?? null,
      rung: r.rung,
      startedAt: r.startedAt,
      answeredAt: r.answeredAt ?? null,
      endedAt: r.endedAt,
      waitSeconds: r.waitSeconds,
      talkSeconds: r.talkSeconds,
      outcome: r.outcome,
      ringRounds: r.ringRounds,
      recordingUrl: r.recordingUrl ?? null,
      queue: r.queue ?? null,
    }));
    const res = await this.#o.pool.query(INSERT, [JSON.stringify(rows)]);
    return res.rowCount ?? 0;
  }
}
