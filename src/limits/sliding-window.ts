import type { Redis } from 'ioredis';

/**
 * Counts events per key over a sliding window (e.g. calls per agent per minute, failed logins per
 * client address per minute). With Redis the count is shared by every replica; without it, it
 * lives in this process.
 */
export interface SlidingWindow {
  /** Records one event unless `key` already has `max` in the window; else when to try again. */
  take(key: string): Promise<WindowResult>;
  /** Records one event whatever the count; resolves to the count including it. */
  add(key: string): Promise<number>;
  /** Whether `key` has reached `max` in the window (nothing is recorded). */
  check(key: string): Promise<WindowResult>;
}

export type WindowResult = { ok: true; count: number } | { ok: false; count: number; retryAfterMs: number };

export interface SlidingWindowOptions {
  /** Key namespace, e.g. `outbound:rate`. */
  name: string;
  max: number;
  windowMs: number;
  now?: () => number;
}

let unique = 0;
const member = (now: number) => `${now}-${process.pid}-${++unique}-${Math.random().toString(36).slice(2, 8)}`;

/*
 * One sorted set per key (score = event time), trimmed to the window on every call; one key per
 * script, so it is valid on Redis Cluster. Returns {allowed (1/0), count, oldest score}.
 */
const SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local mode = ARGV[5]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or ARGV[1]
if mode == 'check' then
  if n >= max then return {0, n, oldest} end
  return {1, n, oldest}
end
if mode == 'take' and n >= max then return {0, n, oldest} end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, n + 1, oldest}
`;

type WithScript = Redis & {
  slidingWindow(
    key: string,
    now: number,
    window: number,
    max: number,
    member: string,
    mode: string,
  ): Promise<[number, number, string]>;
};

export class RedisSlidingWindow implements SlidingWindow {
  private readonly redis: WithScript;
  constructor(
    redis: Redis,
    private readonly o: SlidingWindowOptions,
  ) {
    if (!('slidingWindow' in redis)) {
      redis.defineCommand('slidingWindow', { numberOfKeys: 1, lua: SCRIPT });
    }
    this.redis = redis as WithScript;
  }

  private async run(key: string, mode: 'take' | 'add' | 'check'): Promise<WindowResult> {
    const now = (this.o.now ?? Date.now)();
    const [allowed, count, oldest] = await this.redis.slidingWindow(
      `${this.o.name}:${key}`,
      now,
      this.o.windowMs,
      this.o.max,
      member(now),
      mode,
    );
    if (allowed === 1) return { ok: true, count };
    return { ok: false, count, retryAfterMs: Math.max(1, Number(oldest) + this.o.windowMs - now) };
  }

  take(key: string): Promise<WindowResult> {
    return this.run(key, 'take');
  }

  async add(key: string): Promise<number> {
    return (await this.run(key, 'add')).count;
  }

  check(key: string): Promise<WindowResult> {
    return this.run(key, 'check');
  }
}

/** The same in memory, bounded: keys whose events all left the window are dropped. */
export class MemorySlidingWindow implements SlidingWindow {
  private readonly events = new Map<string, number[]>();
  private sweeps = 0;
  constructor(
    private readonly o: SlidingWindowOptions,
    /** At most this many keys are tracked; the oldest key is dropped beyond it. */
    private readonly maxKeys = 10_000,
  ) {}

  private current(key: string, now: number): number[] {
    if (++this.sweeps % 1000 === 0) this.sweep(now);
    const list = (this.events.get(key) ?? []).filter((t) => t > now - this.o.windowMs);
    if (list.length) this.events.set(key, list);
    else this.events.delete(key);
    return list;
  }

  private sweep(now: number): void {
    for (const [key, list] of this.events) {
      if (!list.some((t) => t > now - this.o.windowMs)) this.events.delete(key);
    }
  }

  private record(key: string, list: number[], now: number): void {
    list.push(now);
    this.events.delete(key);
    this.events.set(key, list);
    if (this.events.size > this.maxKeys) {
      const first = this.events.keys().next().value;
      if (first !== undefined) this.events.delete(first);
    }
  }

  private refused(list: number[], now: number): WindowResult {
    return {
      ok: false,
      count: list.length,
      retryAfterMs: Math.max(1, (list[0] ?? now) + this.o.windowMs - now),
    };
  }

  async take(key: string): Promise<WindowResult> {
    const now = (this.o.now ?? Date.now)();
    const list = this.current(key, now);
    if (list.length >= this.o.max) return this.refused(list, now);
    this.record(key, list, now);
    return { ok: true, count: list.length };
  }

  async add(key: string): Promise<number> {
    const now = (this.o.now ?? Date.now)();
    const list = this.current(key, now);
    this.record(key, list, now);
    return list.length;
  }

  async check(key: string): Promise<WindowResult> {
    const now = (this.o.now ?? Date.now)();
    const list = this.current(key, now);
    return list.length >= this.o.max ? this.refused(list, now) : { ok: true, count: list.length };
  }
}
