import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

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
