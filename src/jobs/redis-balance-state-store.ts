import type { Redis } from 'ioredis';
import type { BalanceState, BalanceStateStore, VersionedBalanceState } from './balance-state-store.js';

const KEY = 'balance:{state}';

/** KEYS: state hash. ARGV: expected revision, state JSON. */
const COMPARE_AND_SET = `
local rev = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if rev ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'revision', rev + 1, 'state', ARGV[2])
return 1
`;

/**
 * Balance alert state in Redis, so "already alerted for this crossing" survives restarts and is
 * shared by replicas. One hash holds a revision and the state JSON; writes are compare-and-set.
 */
export class RedisBalanceStateStore implements BalanceStateStore {
  constructor(private readonly redis: Redis) {}

  async get(): Promise<VersionedBalanceState> {
    const [revision, json] = await this.redis.hmget(KEY, 'revision', 'state');
    return {
      revision: Number(revision ?? 0),
      state: json ? (JSON.parse(json) as BalanceState) : undefined,
    };
  }

  async compareAndSet(revision: number, next: BalanceState): Promise<boolean> {
    const ok = await this.redis.eval(COMPARE_AND_SET, 1, KEY, String(revision), JSON.stringify(next));
    return Number(ok) === 1;
  }
}
