import type { Redis } from 'ioredis';
import type { ManualOverride } from './opening-hours.js';

/**
 * Manual closes and opens of the opening hours (`PUT /api/hours/override`, docs/interface.md §6,
 * §9), kept so they survive a restart and are shared by every replica: `RedisHoursOverrideStore`
 * with REDIS_URL, else `MemoryHoursOverrideStore` (one process). Both run through one test suite.
 *
 * One override per queue, plus one for every queue (`queue` undefined). For a queue the newer of
 * its own and the all-queues override wins, so "close everything" after "open sales" closes sales
 * too, and "open sales" after "close everything" opens just sales.
 */
export interface HoursOverrideStore {
  /** Sets (replaces) the override of `override.queue` (undefined: every queue). */
  set(override: ManualOverride): Promise<void>;
  /**
   * Removes the override of `queue`; without `queue`, every override (the all-queues one and
   * each queue's). Returns how many were removed.
   */
  clear(queue?: string): Promise<number>;
  /** Overrides in force at `now` (those whose `until` passed are left out and dropped). */
  list(now: number): Promise<ManualOverride[]>;
}

/** The override that applies to `queue`: the newer of its own and the all-queues one. */
export function overrideFor(overrides: readonly ManualOverride[], queue: string): ManualOverride | undefined {
  let best: ManualOverride | undefined;
  for (const o of overrides) {
    if (o.queue !== undefined && o.queue !== queue) continue;
    if (!best || o.setAt > best.setAt || (o.setAt === best.setAt && o.queue !== undefined)) best = o;
  }
  return best;
}

const ALL = '*';
const field = (queue: string | undefined) => queue ?? ALL;
const active = (o: ManualOverride, now: number) => o.until === undefined || now < o.until;

function decode(queueField: string, json: string): ManualOverride | undefined {
  try {
    const v = JSON.parse(json) as Partial<ManualOverride>;
    if (typeof v.closed !== 'boolean' || typeof v.setAt !== 'number') return undefined;
    return {
      ...(queueField === ALL ? {} : { queue: queueField }),
      closed: v.closed,
      ...(typeof v.until === 'number' ? { until: v.until } : {}),
      ...(typeof v.reason === 'string' ? { reason: v.reason } : {}),
      setAt: v.setAt,
    };
  } catch {
    return undefined;
  }
}

const encode = (o: ManualOverride) =>
  JSON.stringify({ closed: o.closed, until: o.until, reason: o.reason, setAt: o.setAt });

export class MemoryHoursOverrideStore implements HoursOverrideStore {
  private readonly overrides = new Map<string, ManualOverride>();

  async set(override: ManualOverride): Promise<void> {
    this.overrides.set(field(override.queue), { ...override });
  }

  async clear(queue?: string): Promise<number> {
    if (queue !== undefined) return this.overrides.delete(queue) ? 1 : 0;
    const n = this.overrides.size;
    this.overrides.clear();
    return n;
  }

  async list(now: number): Promise<ManualOverride[]> {
    const out: ManualOverride[] = [];
    for (const [k, o] of this.overrides) {
      if (active(o, now)) out.push({ ...o });
      else this.overrides.delete(k);
    }
    return out;
  }
}

/** One Redis hash, field = queue name (`*` for every queue), value = the override as JSON. */
export class RedisHoursOverrideStore implements HoursOverrideStore {
  static readonly KEY = 'hours:overrides';

  constructor(private readonly redis: Redis) {}

  async set(override: ManualOverride): Promise<void> {
    await this.redis.hset(RedisHoursOverrideStore.KEY, field(override.queue), encode(override));
  }

  async clear(queue?: string): Promise<number> {
    if (queue !== undefined) return this.redis.hdel(RedisHoursOverrideStore.KEY, queue);
    const [[, n]] = (await this.redis
      .multi()
      .hlen(RedisHoursOverrideStore.KEY)
      .del(RedisHoursOverrideStore.KEY)
      .exec()) as [[Error | null, number], [Error | null, number]];
    return n;
  }

  async list(now: number): Promise<ManualOverride[]> {
    const all = await this.redis.hgetall(RedisHoursOverrideStore.KEY);
    const out: ManualOverride[] = [];
    const expired: string[] = [];
    for (const [k, json] of Object.entries(all)) {
      const o = decode(k, json);
      if (o && active(o, now)) out.push(o);
      else expired.push(k);
    }
    // Only what is still the same (expired or unreadable) value is dropped: a replica that just
    // set a fresh override on the same field must not lose it to this clean-up.
    for (const k of expired) {
      await this.redis
        .eval(
          "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0",
          1,
          RedisHoursOverrideStore.KEY,
          k,
          all[k]!,
        )
        .catch(() => undefined);
    }
    return out;
  }
}
