import type { Redis } from 'ioredis';
import type { JobLease, SlotClaim } from './job-lease.js';

// `job:{<name>}:slot:<slot>` and `job:{<name>}:running` share the `{<name>}` hash tag, so the
// claim script may touch both in Redis Cluster.
const slotKey = (job: string, slot: string): string => `job:{${job}}:slot:${slot}`;
const runKey = (job: string): string => `job:{${job}}:running`;

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

/**
 * Job leases in Redis: `SET NX PX` per slot (one replica runs each slot) plus a token-guarded run
 * lease (no overlap across replicas; only its holder can renew or release it). See
 * https://redis.io/docs/latest/commands/set/ for the NX/PX lock pattern.
 */
export class RedisJobLease implements JobLease {
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
}
