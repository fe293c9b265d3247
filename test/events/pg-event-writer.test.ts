import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallCenterEvent } from '../../src/events/call-center-event.js';
import type { EventFeed } from '../../src/events/event-log.js';
import { MemoryEventLog } from '../../src/events/memory-event-log.js';
import { PgEventWriter } from '../../src/events/pg-event-writer.js';
import { RedisEventLog } from '../../src/events/redis-event-log.js';
import { createPgPool } from '../../src/postgres/pool.js';
import { memoryLogger } from '../jobs/test-logger.js';
import { createTestSchema, type TestSchema } from '../records/pg-test-db.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';
import { startOutageProxy, viaPort } from '../support/outage-proxy.js';

const T = Date.parse('2026-12-01T09:00:00Z');

const events: CallCenterEvent[] = [
  { type: 'enter-queue', at: T, queue: 'support', callSid: 'C1', position: 1 },
  { type: 'offer', at: T + 1_000, queue: 'support', callSid: 'C1', agent: 'a1' },
  { type: 'connect', at: T + 5_000, queue: 'support', callSid: 'C1', agent: 'a1', wait: 5 },
  {
    type: 'status-change',
    at: T + 6_000,
    agent: 'a2',
    from: 'available',
    to: 'break',
    reason: 'lunch',
    by: 'ann',
  },
  { type: 'complete', at: T + 65_000, queue: 'support', callSid: 'C1', agent: 'a1', talk: 60 },
];

describe('PgEventWriter (real PostgreSQL)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  const schema = async (): Promise<TestSchema> => {
    const s = await createTestSchema();
    cleanups.push(() => s.drop());
    return s;
  };
  const pool = (url: string): Pool => {
    const p = createPgPool(url, memoryLogger('warn'), { connectionTimeoutMs: 2_000 });
    cleanups.push(() => p.end());
    return p;
  };
  const redis = (): Redis => {
    const r = testRedis(uniquePrefix());
    cleanups.push(() => r.quit());
    return r;
  };
  const rows = (db: TestSchema) =>
    db.query<{
      stream_id: string;
      type: string;
      queue: string | null;
      call_sid: string | null;
      agent: string | null;
      at: Date;
      data: unknown;
    }>(
      'SELECT stream_id, type, queue, call_sid, agent, at, data FROM call_center_events ORDER BY id_ms, id_seq',
    );

  it('copies the Redis stream in batches, each event once, in log order, every field', async () => {
    const db = await schema();
    const log = new RedisEventLog(redis());
    const ids = await log.appendMany(events);
    const writer = new PgEventWriter({
      pool: pool(db.url),
      feed: log,
      logger: memoryLogger(),
      batchSize: 2,
      maxBatches: 2,
    });
    expect(await writer.flush()).toEqual({ read: 4, written: 4, skipped: 0, more: true });
    expect(await writer.flush()).toEqual({ read: 1, written: 1, skipped: 0, more: false });
    expect(await writer.flush()).toEqual({ read: 0, written: 0, skipped: 0, more: false });
    const stored = await rows(db);
    expect(stored.map((r) => r.stream_id)).toEqual(ids);
    expect(stored[2]).toMatchObject({
      type: 'connect',
      queue: 'support',
      call_sid: 'C1',
      agent: 'a1',
      data: events[2],
    });
    expect(stored[2]?.at.getTime()).toBe(T + 5_000);
    expect(stored[3]).toMatchObject({ type: 'status-change', queue: null, call_sid: null, agent: 'a2' });
  });

  it('a batch written again (crash before the cursor moved) is skipped, not duplicated', async () => {
    const db = await schema();
    const log = new MemoryEventLog();
    await log.appendMany(events);
    // A feed whose cursor never moves: every flush re-reads everything, as after a crash.
    const stuck: EventFeed = {
      readAfter: (after, count) => log.readAfter(after, count),
      cursor: async () => undefined,
      advanceCursor: async () => false,
    };
    const p = pool(db.url);
    const writer = new PgEventWriter({ pool: p, feed: stuck, logger: memoryLogger() });
    expect((await writer.flush()).written).toBe(5);
    expect((await writer.flush()).written).toBe(0);
    expect(await rows(db)).toHaveLength(5);
  });

  it('during a database outage the events wait in the log and are written once it is back', async () => {
    const db = await schema();
    const proxy = await startOutageProxy(db.url, 5432);
    cleanups.push(() => proxy.close());
    const log = new RedisEventLog(redis());
    const writer = new PgEventWriter({
      pool: pool(viaPort(db.url, proxy.port)),
      feed: log,
      logger: memoryLogger(),
    });
    await log.appendMany(events.slice(0, 2));
    expect((await writer.flush()).written).toBe(2);
    proxy.down();
    await log.appendMany(events.slice(2));
    await expect(writer.flush()).rejects.toThrow();
    expect(await log.cursor('postgres')).toBeDefined();
    proxy.up();
    expect(await writer.flush()).toMatchObject({ read: 3, written: 3 });
    expect(await rows(db)).toHaveLength(5);
  });

  it('passes over an entry it cannot read, logging it', async () => {
    const db = await schema();
    const raw = redis();
    const log = new RedisEventLog(raw);
    await raw.xadd(log.streamKey, '*', 'e', 'not json');
    await log.append(events[0]!);
    const logger = memoryLogger();
    const writer = new PgEventWriter({ pool: pool(db.url), feed: log, logger });
    expect(await writer.flush()).toEqual({ read: 2, written: 1, skipped: 1, more: false });
    expect(logger.records.some((r) => r.msg === 'unreadable call-center event passed over')).toBe(true);
  });
});
