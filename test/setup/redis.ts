import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { KEY_PREFIX } from '../../src/redis.js';

/** URL of the test Redis (REDIS_URL, or the private server started by the global setup). */
export const redisUrl = (): string => inject('redisUrl');

/**
 * A unique key prefix per test, so test files can share one Redis in parallel without seeing each
 * other's keys. Pass it as `keyPrefix` to everything that talks to Redis.
 */
export const uniquePrefix = (): string => `t${randomUUID().slice(0, 8)}:`;

/** An ioredis client on the test Redis; close it with `quit()` in afterEach/afterAll. */
export function testRedis(keyPrefix = uniquePrefix()): Redis {
  return new Redis(redisUrl(), { keyPrefix, lazyConnect: false, maxRetriesPerRequest: 1 });
}

/**
 * The test Redis's database `db` (`redis://…/<db>`): for apps that connect to REDIS_URL themselves
 * and so write under the fixed `sb:` prefix, each test file with such apps takes a database of its
 * own (sigterm 9, replicas 10, redis-down 11, outbound-limits 12).
 */
export function redisDatabaseUrl(db: number): string {
  const url = new URL(redisUrl());
  url.pathname = `/${db}`;
  return url.toString();
}

/** Deletes what an app wrote (the `sb:` keys) from the database `redis` is connected to. */
export async function deleteAppKeys(redis: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}
