import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCallRecordStore } from '../../src/records/memory-call-record-store.js';
import { RedisCallRecordStore } from '../../src/records/redis-call-record-store.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';
import { describeBackends } from '../support/describe-backends.js';
import { callRecordStoreSuite, record, type Store } from './call-record-store-suite.js';

describeBackends('call record store', (backend) => {
  callRecordStoreSuite(backend.name, async (options) => {
    const [a, b] = backend.pair<Store>({
      memory: () => new MemoryCallRecordStore(options),
      redis: (redis) => new RedisCallRecordStore(redis, options),
    });
    return { a, b, close: async () => {} }; // describeBackends closes the clients
  });
});

const T = Date.parse('2026-11-19T10:00:00Z');

describe('memory call record store, retention', () => {
  it('forgets records (and their sids) after the retention days', async () => {
    let now = T;
    const store = new MemoryCallRecordStore({ retentionDays: 2, now: () => now });
    await store.append(record('old', T - 3_600_000));
    now = T + 2 * 86_400_000 - 1;
    expect(await store.range(T - 86_400_000, T)).toHaveLength(1);
    now = T + 2 * 86_400_000;
    expect(await store.range(T - 86_400_000, T)).toHaveLength(0);
    expect(await store.append(record('old', T - 3_600_000))).toBe(true);
  });

  it('caps the feed at feedMaxLength, oldest dropped', async () => {
    const store = new MemoryCallRecordStore({ feedMaxLength: 3 });
    for (let i = 1; i <= 5; i++) await store.append(record(`F${i}`, T + i));
    expect((await store.readAfter(undefined, 10)).map((e) => e.record?.sid)).toEqual(['F3', 'F4', 'F5']);
    expect(await store.range(T, T + 10)).toHaveLength(5);
  });

  it('keeps at most maxRecords records, the oldest evicted first', async () => {
    const store = new MemoryCallRecordStore({ maxRecords: 3 });
    for (let i = 1; i <= 5; i++) await store.append(record(`M${i}`, T + i));
    expect((await store.range(T, T + 10)).map((r) => r.sid).sort()).toEqual(['M3', 'M4', 'M5']);
  });
});

describe('redis call record store, Redis specifics', () => {
  const clients: Redis[] = [];
  const client = (prefix: string) => {
    const redis = testRedis(prefix);
    clients.push(redis);
    return redis;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.quit()));
  });

  it('puts every key under one hash tag (Redis Cluster), behind the client keyPrefix', async () => {
    const prefix = uniquePrefix();
    const store = new RedisCallRecordStore(client(prefix));
    await store.append(record('C1', T));
    await store.advanceCursor('postgres', '1-0');
    const keys = await client('').keys(`${prefix}*`);
    expect(keys.sort()).toEqual(
      [
        `${prefix}records:{records}:cursor:postgres`,
        `${prefix}records:{records}:seen:C1`,
        `${prefix}records:{records}:started:2026-11-19`,
        `${prefix}records:{records}:stream`,
      ].sort(),
    );
  });

  it('expires the dedupe marker and the day index after the retention; trims the stream', async () => {
    const prefix = uniquePrefix();
    const raw = client(prefix);
    const store = new RedisCallRecordStore(raw, { retentionDays: 3, feedMaxLength: 10 });
    for (let i = 0; i < 400; i++) await store.append(record(`S${i}`, T + i));
    const seenTtl = await raw.ttl('records:{records}:seen:S0');
    expect(seenTtl).toBeGreaterThan(3 * 86_400 - 10);
    expect(seenTtl).toBeLessThanOrEqual(3 * 86_400);
    expect(await raw.ttl('records:{records}:started:2026-11-19')).toBeGreaterThan(4 * 86_400 - 10);
    // MAXLEN ~ trims whole stream nodes (100 entries each by default), never below the cap.
    const length = await raw.xlen('records:{records}:stream');
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(400);
    expect(await store.range(T, T + 1000)).toHaveLength(400);
  });

  it('skips entries it cannot read instead of failing the day', async () => {
    const prefix = uniquePrefix();
    const raw = client(prefix);
    const store = new RedisCallRecordStore(raw);
    await store.append(record('good', T));
    await raw.zadd('records:{records}:started:2026-11-19', T + 1, '{"sid":"broken"');
    await raw.xadd('records:{records}:stream', '*', 'sid', 'junk', 'record', 'not json');
    expect((await store.range(T, T + 10)).map((r) => r.sid)).toEqual(['good']);
    const feed = await store.readAfter(undefined, 10);
    expect(feed.map((e) => e.record?.sid)).toEqual(['good', undefined]);
  });

  it('rejects cursors that are not stream ids', async () => {
    const store = new RedisCallRecordStore(client(uniquePrefix()));
    await expect(store.advanceCursor('pg', 'latest')).rejects.toThrow(RangeError);
    await expect(store.readAfter('0', 1)).rejects.toThrow(RangeError);
    expect(await store.advanceCursor('pg', '1700000000000-5')).toBe(true);
    expect(await store.advanceCursor('pg', '1700000000000-4')).toBe(false);
    expect(await store.advanceCursor('pg', '999999999999-9')).toBe(false);
    expect(await store.advanceCursor('pg', '1700000000001-0')).toBe(true);
  });
});
