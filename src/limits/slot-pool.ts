import type { Redis } from 'ioredis';

/**
 * At most `max` outbound calls in progress across all replicas. A slot is first held by a
 * pending request id (while Telnyx is asked), then bound to the call's sid. A bound slot is freed
 * as soon as the call store no longer has that call running (`isLive`), so no code path has to
 * remember to release it; every slot also has a lease, after which it is freed regardless.
 */
export interface SlotPool {
  /** Holds a slot for `id` until `leaseMs` from now, or false when all are taken. */
  reserve(id: string, leaseMs: number): Promise<boolean>;
  /** Moves the slot of pending `id` to the call `sid` for `leaseMs`. */
  bind(id: string, sid: string, leaseMs: number): Promise<void>;
  release(id: string): Promise<void>;
}

export interface SlotPoolOptions {
  max: number;
  /** Which of these call sids are still running (call state present and not ended). */
  isLive: (sids: string[]) => Promise<Set<string>>;
  now?: () => number;
}

/** Pending ids carry this prefix so they are never mistaken for a call sid. */
export const PENDING = 'pending:';

const KEY = 'outbound:slots';

/** ARGV: now, max, id, leaseUntil, then sids to drop (calls that ended). One key: Cluster-safe. */
const RESERVE = `
for i = 5, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
return 1
`;

type WithScript = Redis & {
  reserveSlot(key: string, ...args: Array<string | number>): Promise<number>;
};

export class RedisSlotPool implements SlotPool {
  private readonly redis: WithScript;
  constructor(
    redis: Redis,
    private readonly o: SlotPoolOptions,
  ) {
    if (!('reserveSlot' in redis)) {
      redis.defineCommand('reserveSlot', { numberOfKeys: 1, lua: RESERVE });
    }
    this.redis = redis as WithScript;
  }

  async reserve(id: string, leaseMs: number): Promise<boolean> {
    const now = (this.o.now ?? Date.now)();
    // Ended calls are found outside the script (their state lives in other Cluster slots); an
    // ended call never runs again, so dropping it a moment late is safe.
    const sids = (await (this.redis as Redis).zrange(KEY, '0', '-1')).filter((m) => !m.startsWith(PENDING));
    const live = sids.length ? await this.o.isLive(sids) : new Set<string>();
    const ended = sids.filter((s) => !live.has(s));
    const ok = await this.redis.reserveSlot(KEY, now, this.o.max, id, now + leaseMs, ...ended);
    return ok === 1;
  }

  async bind(id: string, sid: string, leaseMs: number): Promise<void> {
    const now = (this.o.now ?? Date.now)();
    await this.redis
      .multi()
      .zrem(KEY, id)
      .zadd(KEY, String(now + leaseMs), sid)
      .exec();
  }

  async release(id: string): Promise<void> {
    await this.redis.zrem(KEY, id);
  }
}

export class MemorySlotPool implements SlotPool {
  private readonly slots = new Map<string, number>();
  constructor(private readonly o: SlotPoolOptions) {}

  async reserve(id: string, leaseMs: number): Promise<boolean> {
    const now = (this.o.now ?? Date.now)();
    const sids = [...this.slots.keys()].filter((m) => !m.startsWith(PENDING));
    const live = sids.length ? await this.o.isLive(sids) : new Set<string>();
    for (const [member, until] of this.slots) {
      if (until <= now || (!member.startsWith(PENDING) && !live.has(member))) this.slots.delete(member);
    }
    if (this.slots.size >= this.o.max) return false;
    this.slots.set(id, now + leaseMs);
    return true;
  }

  async bind(id: string, sid: string, leaseMs: number): Promise<void> {
    this.slots.delete(id);
    this.slots.set(sid, (this.o.now ?? Date.now)() + leaseMs);
  }

  async release(id: string): Promise<void> {
    this.slots.delete(id);
  }
}
