import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedis } from '../src/redis.js';
import { memoryLogger } from './jobs/test-logger.js';
import { redisUrl } from './setup/redis.js';
import { osWriteCounter } from './support/os-writes.js';

describe("the app's Redis client: one socket write per turn of the event loop", () => {
  const clients: Redis[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
  });
  const client = async () => {
    const redis = createRedis(redisUrl(), memoryLogger('info'));
    clients.push(redis);
    // No offline queue in the app's client: wait until it is connected.
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
    return redis;
  };
  const key = () => `coalesce:${randomUUID()}`;

  it('sends the commands of one turn in one write, in order, each with its own reply', async () => {
    const redis = await client();
    const k = key();
    const writes = osWriteCounter(redis);
    const replies = await Promise.all([
      redis.set(k, '1'),
      ...Array.from({ length: 20 }, () => redis.incr(k)),
      redis.get(k),
      redis.hget(k, 'x').catch((err: Error) => err.message), // WRONGTYPE: an error reply stays its own
      redis.del(k),
    ]);
    expect(writes()).toBe(1);
    expect(replies[0]).toBe('OK');
    expect(replies.slice(1, 21)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(replies[21]).toBe('21');
    expect(String(replies[22])).toMatch(/WRONGTYPE/);
    expect(replies[23]).toBe(1);
  });

  it('does not hold a command for a later turn: commands awaited one by one go out one by one', async () => {
    const redis = await client();
    const k = key();
    const writes = osWriteCounter(redis);
    for (let i = 0; i < 5; i++) await redis.incr(k);
    expect(writes()).toBe(5);
    expect(await redis.get(k)).toBe('5');
    await redis.del(k);
  });

  it('keeps coalescing after a reconnect (a new socket)', async () => {
    const redis = await client();
    const first = redis.stream;
    const killer = await client();
    const id = await redis.client('ID');
    await killer.client('KILL', 'ID', String(id));
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    expect(redis.stream).not.toBe(first);
    const k = key();
    const writes = osWriteCounter(redis);
    await Promise.all([redis.set(k, 'a'), redis.append(k, 'b'), redis.get(k), redis.del(k)]);
    expect(writes()).toBe(1);
  });
});
