import type { Pool } from 'pg';

/**
 * The PostgreSQL schema of the call records (src/records/pg-record-writer.ts) and the call-center
 * event log (src/events/pg-event-writer.ts), as an ordered list of migrations. Applied at start
 * (and before the first flush) under an advisory lock, so replicas starting together apply each
 * migration once. Append new migrations; never edit an applied one.
 */
export const MIGRATIONS: ReadonlyArray<{ id: string; sql: string }> = [
  {
    id: '001-call-records',
    sql: `
CREATE TABLE IF NOT EXISTS call_records (
  sid           text PRIMARY KEY,
  direction     text NOT NULL,
  caller        text NOT NULL,
  callee        text NOT NULL,
  agent         text,
  agent_id      text,
  rung          text[] NOT NULL DEFAULT '{}',
  started_at    timestamptz NOT NULL,
  answered_at   timestamptz,
  ended_at      timestamptz NOT NULL,
  wait_seconds  integer NOT NULL,
  talk_seconds  integer NOT NULL,
  outcome       text NOT NULL,
  ring_rounds   integer NOT NULL,
  recording_url text,
  inserted_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS call_records_started_at_idx ON call_records (started_at);
CREATE INDEX IF NOT EXISTS call_records_agent_started_at_idx ON call_records (agent, started_at);
`,
  },
  {
    // The call-center event log (docs/interface.md §7), copied from the Redis stream by
    // src/events/pg-event-writer.ts. The stream id is the unique key: a batch written twice is
    // skipped the second time. (id_ms, id_seq) is the log order.
    id: '002-call-center-events',
    sql: `
CREATE TABLE IF NOT EXISTS call_center_events (
  stream_id   text PRIMARY KEY,
  id_ms       bigint NOT NULL,
  id_seq      bigint NOT NULL,
  at          timestamptz NOT NULL,
  type        text NOT NULL,
  queue       text,
  call_sid    text,
  agent       text,
  data        jsonb NOT NULL,
  inserted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS call_center_events_order_idx ON call_center_events (id_ms, id_seq);
CREATE INDEX IF NOT EXISTS call_center_events_at_idx ON call_center_events (at);
CREATE INDEX IF NOT EXISTS call_center_events_queue_at_idx ON call_center_events (queue, at);
CREATE INDEX IF NOT EXISTS call_center_events_agent_at_idx ON call_center_events (agent, at);
`,
  },
  {
    // The queue of an inbound call (docs/interface.md §7, §9): the menu's choice or the default
    // queue; NULL for outbound calls and for records written before queues existed.
    id: '003-call-records-queue',
    sql: `
ALTER TABLE call_records ADD COLUMN IF NOT EXISTS queue text;
CREATE INDEX IF NOT EXISTS call_records_queue_started_at_idx ON call_records (queue, started_at);
`,
  },
];

/** Any constant: the advisory lock that serializes migrations across replicas. */
const MIGRATION_LOCK = 7_153_412_001;

/** Applies the migrations not applied yet. Returns the ids applied by this call. */
export async function migrate(pool: Pool): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  let failed: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS switchboard_migrations (
         id text PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set(
      (await client.query<{ id: string }>('SELECT id FROM switchboard_migrations')).rows.map((r) => r.id),
    );
    for (const migration of MIGRATIONS) {
      if (done.has(migration.id)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO switchboard_migrations (id) VALUES ($1)', [migration.id]);
      applied.push(migration.id);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    failed = err as Error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    // A connection that failed mid-transaction is destroyed rather than reused.
    client.release(failed);
  }
}
