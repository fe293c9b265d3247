import type { Redis } from 'ioredis';
import { MemoryOutbox, type MemoryOutboxOptions } from '../../src/alerts/memory-outbox.js';
import { RedisOutbox, type RedisOutboxOptions } from '../../src/alerts/redis-outbox.js';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { RedisJobStore } from '../../src/jobs/redis-job-store.js';

/**
 * Outboxes as src/stores.ts builds them: the deliverer's lease is the job store's run lease (in
 * memory, on the outbox's clock).
 */
export const memoryOutbox = (options: Omit<MemoryOutboxOptions, 'lease'> = {}): MemoryOutbox =>
  new MemoryOutbox({ ...options, lease: new MemoryJobStore(options.now) });

export const redisOutbox = (redis: Redis, options: Omit<RedisOutboxOptions, 'lease'> = {}): RedisOutbox =>
  new RedisOutbox(redis, { ...options, lease: new RedisJobStore(redis) });
