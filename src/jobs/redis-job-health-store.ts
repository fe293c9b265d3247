import type { Redis } from 'ioredis';
import type { FailureStreak, JobHealth, JobHealthStore } from './job-health-store.js';

const healthKey = (job: string): string => `job:{${job}}:health`;

/** KEYS: health. ARGV: at, durationMs. Returns { failures of the ended streak, its start }. */
const RECORD_SUCCESS = `
local failures = tonumber(redis.call('HGET', KEYS[1], 'consecutiveFailures') or '0')
local since = redis.call('HGET', KEYS[1], 'failingSince') or ''
redis.call('HSET', KEYS[1], 'lastSuccessAt', ARGV[1], 'lastDurationMs', ARGV[2], 'consecutiveFailures', 0)
redis.call('HDEL', KEYS[1], 'failingSince')
redis.call('HINCRBY', KEYS[1], 'successes', 1)
return { failures, since }
`;

/** KEYS: health. ARGV: slot, at, error, durationMs. Returns { consecutive failures, streak start }. */
const RECORD_FAILURE = `
local failures = redis.call('HINCRBY', KEYS[1], 'consecutiveFailures', 1)
if failures == 1 then redis.call('HSET', KEYS[1], 'failingSince', ARGV[1]) end
redis.call('HSET', KEYS[1], 'lastFailureAt', ARGV[2], 'lastError', ARGV[3], 'lastDurationMs', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'failures', 1)
return { failures, redis.call('HGET', KEYS[1], 'failingSince') or ARGV[1] }
`;

/** Job health in Redis (one hash per job), shared by replicas; updates are single Lua scripts. */
export class RedisJobHealthStore implements JobHealthStore {
  constructor(private readonly redis: Redis) {}

  async recordSuccess(job: string, at: string, durationMs: number): Promise<{ recovered?: FailureStreak }> {
    const [failures, since] = (await this.redis.eval(
      RECORD_SUCCESS,
      1,
      healthKey(job),
      at,
      String(durationMs),
    )) as [number, string];
    return Number(failures) > 0
      ? { recovered: { consecutiveFailures: Number(failures), failingSince: String(since) } }
      : {};
  }

  async recordFailure(
    job: string,
    slot: string,
    at: string,
    error: string,
    durationMs: number,
  ): Promise<FailureStreak> {
    const [failures, since] = (await this.redis.eval(
      RECORD_FAILURE,
      1,
      healthKey(job),
      slot,
      at,
      error,
      String(durationMs),
    )) as [number, string];
    return { consecutiveFailures: Number(failures), failingSince: String(since) };
  }

  async get(job: string): Promise<JobHealth> {
    const h = (await this.redis.hgetall(healthKey(job))) as Record<string, string>;
    const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
    return {
      job,
      lastSuccessAt: h.lastSuccessAt,
      lastFailureAt: h.lastFailureAt,
      lastError: h.lastError,
      lastDurationMs: num(h.lastDurationMs),
      consecutiveFailures: num(h.consecutiveFailures) ?? 0,
      failingSince: h.failingSince,
      successes: num(h.successes) ?? 0,
      failures: num(h.failures) ?? 0,
    };
  }
}
