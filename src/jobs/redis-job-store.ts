import type { Redis } from 'ioredis';
import type {
  BalanceState,
  FailureStreak,
  JobHealth,
  JobStore,
  SlotClaim,
  VersionedBalanceState,
} from './job-store.js';

// The key names and formats are read by every version of a rolling deploy: never change them
// (test/jobs/job-store.test.ts pins them).
// `job:{<name>}:slot:<slot>` and `job:{<name>}:running` share the `{<name>}` hash tag, so the
// claim script may touch both in Redis Cluster.
const slotKey = (job: string, slot: string): string => `job:{${job}}:slot:${slot}`;
/** The run lease: the holder's token, with a TTL. */
const runKey = (job: string): string => `job:{${job}}:running`;
/** One hash per job: the fields of `JobHealth`. */
const healthKey = (job: string): string => `job:{${job}}:health`;
/** One hash: `revision` and `state` (the `BalanceState` JSON). */
const BALANCE_KEY = 'balance:{state}';

/** KEYS: slot, running. ARGV: token, slot ttl ms, run ttl ms. 1 = run, 0 = taken, -1 = busy. */
const CLAIM_SLOT = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[3]) then return -1 end
return 1
`;

/** KEYS: running. ARGV: token, ttl ms. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** KEYS: running. ARGV: token. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

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

/** KEYS: balance state hash. ARGV: expected revision, state JSON. */
const COMPARE_AND_SET_BALANCE = `
local rev = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if rev ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'revision', rev + 1, 'state', ARGV[2])
return 1
`;

/**
 * The job store in Redis, shared by replicas:
 * - leases: `SET NX PX` per slot (one replica runs each slot) plus a token-guarded run lease (no
 *   overlap across replicas; only its holder can renew or release it). See
 *   https://redis.io/docs/latest/commands/set/ for the NX/PX lock pattern;
 * - health: one hash per job, updated by single Lua scripts;
 * - balance: one hash with a revision and the state JSON, written by compare-and-set, so "already
 *   alerted for this crossing" survives restarts and is decided once across replicas.
 */
export class RedisJobStore implements JobStore {
  constructor(private readonly redis: Redis) {}

  async claimSlot(
    job: string,
    slot: string,
    slotTtlMs: number,
    token: string,
    runTtlMs: number,
  ): Promise<SlotClaim> {
    const result = Number(
      await this.redis.eval(
        CLAIM_SLOT,
        2,
        slotKey(job, slot),
        runKey(job),
        token,
        String(Math.max(1, Math.round(slotTtlMs))),
        String(Math.max(1, Math.round(runTtlMs))),
      ),
    );
    return result === 1 ? 'run' : result === 0 ? 'taken' : 'busy';
  }

  async acquireRun(job: string, token: string, runTtlMs: number): Promise<boolean> {
    const ok = await this.redis.set(runKey(job), token, 'PX', Math.max(1, Math.round(runTtlMs)), 'NX');
    return ok === 'OK';
  }

  async renewRun(job: string, token: string, runTtlMs: number): Promise<boolean> {
    return Number(await this.redis.eval(RENEW, 1, runKey(job), token, String(Math.round(runTtlMs)))) === 1;
  }

  async releaseRun(job: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, runKey(job), token);
  }

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

  async getHealth(job: string): Promise<JobHealth> {
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

  async getBalance(): Promise<VersionedBalanceState> {
    const [revision, json] = await this.redis.hmget(BALANCE_KEY, 'revision', 'state');
    return {
      revision: Number(revision ?? 0),
      state: json ? (JSON.parse(json) as BalanceState) : undefined,
    };
  }

  async compareAndSetBalance(revision: number, next: BalanceState): Promise<boolean> {
    const ok = await this.redis.eval(
      COMPARE_AND_SET_BALANCE,
      1,
      BALANCE_KEY,
      String(revision),
      JSON.stringify(next),
    );
    return Number(ok) === 1;
  }
}
