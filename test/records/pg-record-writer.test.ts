import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPgPool } from '../../src/postgres/pool.js';
import type { RecordFeed } from '../../src/records/call-record-store.js';
import { MemoryCallRecordStore } from '../../src/records/memory-call-record-store.js';
import { PgRecordWriter } from '../../src/records/pg-record-writer.js';
import { RedisCallRecordStore } from '../../src/records/redis-call-record-store.js';
import { memoryLogger } from '../jobs/test-logger.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';
import { type OutageProxy, startOutageProxy, viaPort } from '../support/outage-proxy.js';
import { record } from './call-record-store-suite.js';
import { createTestSchema, type TestSchema } from './pg-test-db.js';

const T = Date.parse('2026-11-19T09:00:00Z');

describe('PgRecordWriter (real PostgreSQL)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  const schema = async (): Promise<TestSchema> => {
    const s = await createTestSchema();
    cleanups.push(() => s.drop());
    return s;
  };
  const pool = (url: string, logger = memoryLogger('warn')): Pool => {
    const p = createPgPool(url, logger, { connectionTimeoutMs: 2_000 });
    cleanups.push(() => p.end());
    return p;
  };
  const redis = (prefix: string): Redis => {
    const r = testRedis(prefix);
    cleanups.push(() => r.quit());
    return r;
  };
  const proxy = async (url: string): Promise<OutageProxy> => {
    const p = await startOutageProxy(url, 5432);
    cleanups.push(() => p.close());
    return p;
  };
  const count = async (db: TestSchema) =>
    Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM call_records'))[0]?.n);

  it('migrates once, from two replicas at once, and again without harm', async () => {
    const db = await schema();
    const feed = new MemoryCallRecordStore();
    const logger = memoryLogger('info');
    const a = new PgRecordWriter({ pool: pool(db.url), feed, logger });
    const b = new PgRecordWriter({ pool: pool(db.url), feed, logger });
    await Promise.all([a.migrate(), b.migrate()]);
    await a.migrate();
    expect(await db.query('SELECT id FROM switchboard_migrations ORDER BY id')).toEqual([
      { id: '001-call-records' },
      { id: '002-call-center-events' },
      { id: '003-call-records-queue' },
    ]);
    const indexes = await db.query<{ indexname: string }>(
      'SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname',
      [db.schema, 'call_records'],
    );
    expect(indexes.map((i) => i.indexname)).toEqual([
      'call_records_agent_started_at_idx',
      'call_records_pkey',
      'call_records_queue_started_at_idx',
      'call_records_started_at_idx',
    ]);
    expect(logger.records.filter((r) => r.msg === 'postgres schema migrated')).toHaveLength(1);
  });

  it('writes the Redis stream in batches, each record once, every column', async () => {
    const db = await schema();
    const store = new RedisCallRecordStore(redis(uniquePrefix()));
    const writer = new PgRecordWriter({
      pool: pool(db.url),
      feed: store,
      logger: memoryLogger(),
      batchSize: 3,
      maxBatches: 2,
    });
    await store.append(
      record('VM', T, {
        outcome: 'voicemail',
        agent: undefined,
        agentId: undefined,
        answeredAt: undefined,
        talkSeconds: 0,
        waitSeconds: 40,
        ringRounds: 2,
        recordingUrl: 'https://api.telnyx.com/v2/recordings/VM.mp3',
        endedAt: new Date(T + 72_000).toISOString(),
        queue: 'sales',
      }),
    );
    for (let i = 1; i <= 6; i++) await store.append(record(`C${i}`, T + i * 60_000));

    expect(await writer.flush()).toEqual({ read: 6, written: 6, skipped: 0, more: true });
    expect(await writer.flush()).toEqual({ read: 1, written: 1, skipped: 0, more: false });
    expect(await writer.flush()).toEqual({ read: 0, written: 0, skipped: 0, more: false });
    expect(await count(db)).toBe(7);

    const [vm] = await db.query('SELECT * FROM call_records WHERE sid = $1', ['VM']);
    expect(vm).toMatchObject({
      sid: 'VM',
      direction: 'inbound',
      caller: '+13125550100',
      callee: '+18005550199',
      agent: null,
      agent_id: null,
      rung: ['Alice', 'Bob'],
      answered_at: null,
      wait_seconds: 40,
      talk_seconds: 0,
      outcome: 'voicemail',
      ring_rounds: 2,
      recording_url: 'https://api.telnyx.com/v2/recordings/VM.mp3',
      queue: 'sales',
    });
    expect((vm!.started_at as Date).toISOString()).toBe('2026-11-19T09:00:00.000Z');
    expect((vm!.ended_at as Date).toISOString()).toBe('2026-11-19T09:01:12.000Z');
    const [c1] = await db.query(
      'SELECT agent, agent_id, answered_at, talk_seconds, queue FROM call_records WHERE sid = $1',
      ['C1'],
    );
    expect(c1).toMatchObject({ agent: 'Alice', agent_id: 'a1', talk_seconds: 60, queue: null });
    expect((c1!.answered_at as Date).toISOString()).toBe('2026-11-19T09:01:10.000Z');
  });

  it('a database outage delays the writes and loses nothing; afterwards every record is there once', async () => {
    const db = await schema();
    const outage = await proxy(db.url);
    const logger = memoryLogger('warn');
    const url = viaPort(db.url, outage.port).replace('postgres@', 'postgres:pw-secret@');
    const store = new RedisCallRecordStore(redis(uniquePrefix()));
    const writer = new PgRecordWriter({ pool: pool(url, logger), feed: store, logger });

    for (let i = 1; i <= 3; i++) await store.append(record(`A${i}`, T + i));
    expect(await writer.flush()).toMatchObject({ written: 3 });
    const cursorBefore = await store.cursor('postgres');

    outage.down();
    for (let i = 1; i <= 4; i++) await store.append(record(`B${i}`, T + 100 + i));
    await expect(writer.flush()).rejects.toThrow();
    await expect(writer.flush()).rejects.toThrow();
    expect(await store.cursor('postgres')).toBe(cursorBefore);
    // A replica (re)starting during the outage cannot migrate either, and says so by throwing.
    const fresh = new PgRecordWriter({ pool: pool(url, logger), feed: store, logger });
    await expect(fresh.flush()).rejects.toThrow();

    outage.up();
    expect(await writer.flush()).toEqual({ read: 4, written: 4, skipped: 0, more: false });
    expect(await fresh.flush()).toEqual({ read: 0, written: 0, skipped: 0, more: false });
    const rows = await db.query<{ sid: string }>('SELECT sid FROM call_records ORDER BY sid');
    expect(rows.map((r) => r.sid)).toEqual(['A1', 'A2', 'A3', 'B1', 'B2', 'B3', 'B4']);

    // The dropped idle connection was reported, without the URL or its password.
    const logged = JSON.stringify(logger.records);
    expect(logger.records.some((r) => r.msg === 'postgres connection lost')).toBe(true);
    expect(logged).not.toContain('pw-secret');
    expect(logged).not.toContain(String(outage.port));
  });

  it('a crash between INSERT and cursor move re-reads the batch without doubling it', async () => {
    const db = await schema();
    const store = new MemoryCallRecordStore();
    let failNextAdvance = true;
    const feed: RecordFeed = {
      readAfter: (after, n) => store.readAfter(after, n),
      cursor: (name) => store.cursor(name),
      advanceCursor: async (name, id) => {
        if (failNextAdvance) {
          failNextAdvance = false;
          throw new Error('process died');
        }
        return store.advanceCursor(name, id);
      },
    };
    const writer = new PgRecordWriter({ pool: pool(db.url), feed, logger: memoryLogger() });
    for (let i = 1; i <= 5; i++) await store.append(record(`K${i}`, T + i));
    await expect(writer.flush()).rejects.toThrow('process died');
    expect(await count(db)).toBe(5);
    expect(await writer.flush()).toEqual({ read: 5, written: 0, skipped: 0, more: false });
    await store.append(record('K6', T + 6));
    expect(await writer.flush()).toEqual({ read: 1, written: 1, skipped: 0, more: false });
    expect(await count(db)).toBe(6);
  });

  it('two replicas flushing at once write every record exactly once', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    const storeA = new RedisCallRecordStore(redis(prefix));
    const storeB = new RedisCallRecordStore(redis(prefix));
    const a = new PgRecordWriter({ pool: pool(db.url), feed: storeA, logger: memoryLogger(), batchSize: 7 });
    const b = new PgRecordWriter({ pool: pool(db.url), feed: storeB, logger: memoryLogger(), batchSize: 7 });
    await Promise.all([a.migrate(), b.migrate()]);
    for (let i = 0; i < 50; i++) await (i % 2 ? storeA : storeB).append(record(`R${i}`, T + i));
    const [ra, rb] = await Promise.all([a.flush(), b.flush()]);
    // They may read the same batch (one INSERT skips it) or split the feed between them; either
    // way every entry up to the cursor is written, and each row is inserted once.
    expect(ra.read + rb.read).toBeGreaterThanOrEqual(50);
    expect(ra.written + rb.written).toBe(50);
    expect(await count(db)).toBe(50);
    const last = (await storeA.readAfter(undefined, 100)).at(-1)?.id;
    expect(await storeB.cursor('postgres')).toBe(last);
    expect(await b.flush()).toMatchObject({ read: 0 });
  });

  it('passes over an entry it cannot read, and says so', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    const raw = redis(prefix);
    const store = new RedisCallRecordStore(raw);
    const logger = memoryLogger('warn');
    await store.append(record('G1', T));
    await raw.xadd(store.streamKey, '*', 'sid', 'junk', 'record', '{');
    await store.append(record('G2', T + 1));
    const writer = new PgRecordWriter({ pool: pool(db.url), feed: store, logger });
    expect(await writer.flush()).toEqual({ read: 3, written: 2, skipped: 1, more: false });
    expect(logger.records.map((r) => r.msg)).toContain('unreadable call record passed over');
  });
});
