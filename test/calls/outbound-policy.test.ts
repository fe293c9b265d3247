import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkDestination,
  OutboundLimited,
  OutboundPolicy,
  OutboundRefused,
} from '../../src/calls/outbound-policy.js';
import { defaultDestinations, parseDestinations } from '../../src/config.js';
import {
  MemorySlidingWindow,
  RedisSlidingWindow,
  type SlidingWindow,
} from '../../src/limits/sliding-window.js';
import { MemorySlotPool, RedisSlotPool, type SlotPool } from '../../src/limits/slot-pool.js';
import { testRedis } from '../setup/redis.js';

const HOTLINE = '+18005550199';
const US = defaultDestinations(HOTLINE);

const refusal = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof OutboundRefused) return err.code;
    throw err;
  }
};

describe('outbound destinations', () => {
  it('defaults to the hotline country (not all of +1), and to nothing without a hotline', () => {
    expect(US).toEqual([{ country: 'US' }]);
    expect(defaultDestinations('+442071234567')).toEqual([{ country: 'GB' }]);
    expect(defaultDestinations(undefined)).toEqual([]);
    expect(refusal(() => checkDestination('+14155550123', { allowed: [] }))).toBe('destination');
  });

  it.each([
    ['+14155550123', undefined], // ordinary US number
    ['+18885550100', undefined], // toll-free
    ['+19005551234', 'special-rate'], // premium rate
    ['+15005550100', 'special-rate'], // personal (NANP 500)
    ['+18765551234', 'destination'], // Jamaica: +1 but another country
    ['+882123456789', 'destination'], // international networks
    ['+442071234567', 'destination'], // another country
    [HOTLINE, 'hotline'],
  ])('%s → %s with the default', (to, code) => {
    expect(refusal(() => checkDestination(to, { allowed: US, hotlineNumber: HOTLINE }))).toBe(code);
  });

  it('refuses special-rate types even inside an allowed prefix, and numbers the plan does not know', () => {
    const allowed = parseDestinations('+44, DE ,+882');
    expect(allowed).toEqual([{ prefix: '+44' }, { country: 'DE' }, { prefix: '+882' }]);
    const check = (to: string) => refusal(() => checkDestination(to, { allowed }));
    expect(check('+442071234567')).toBeUndefined();
    expect(check('+4915112345678')).toBeUndefined();
    expect(check('+449012345678')).toBe('special-rate'); // UK 09 premium
    expect(check('+448431234567')).toBe('special-rate'); // UK 084 special rate
    expect(check('+447012345678')).toBe('special-rate'); // UK 070 personal numbering
    expect(check('+882123456789')).toBe('invalid-number');
    expect(check('+4990012345678')).toBe('invalid-number');
    expect(check('+44 20 7123 4567')).toBe('invalid-number');
  });

  it('rejects malformed OUTBOUND_ALLOWED_PREFIXES entries', () => {
    expect(() => parseDestinations('+44,44')).toThrow(/"44"/);
    expect(() => parseDestinations('USA')).toThrow(/"USA"/);
    expect(parseDestinations(' , ')).toEqual([]);
  });
});

const redisClients: Redis[] = [];
afterAll(async () => {
  for (const r of redisClients) await r.quit();
});
const redis = () => {
  const r = testRedis();
  redisClients.push(r);
  return r;
};

describe.each([
  ['memory', (o: ConstructorParameters<typeof MemorySlidingWindow>[0]) => new MemorySlidingWindow(o)],
  ['redis', (o: ConstructorParameters<typeof MemorySlidingWindow>[0]) => new RedisSlidingWindow(redis(), o)],
] as const)('sliding window (%s)', (_name, make) => {
  it('allows max events per key in the window and says when the oldest leaves it', async () => {
    let now = 1_000_000;
    const w: SlidingWindow = make({ name: 'w', max: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) expect((await w.take('alice')).ok).toBe(true);
    now += 10_000;
    expect(await w.take('alice')).toEqual({ ok: false, count: 3, retryAfterMs: 50_000 });
    expect((await w.take('bob')).ok).toBe(true);
    now += 50_000;
    expect(await w.take('alice')).toEqual({ ok: true, count: 1 });
    expect(await w.check('bob')).toEqual({ ok: true, count: 1 });
    expect(await w.add('bob')).toBe(2);
    expect(await w.add('bob')).toBe(3);
    expect((await w.check('bob')).ok).toBe(false);
  });
});

describe.each([
  ['memory', (o: ConstructorParameters<typeof MemorySlotPool>[0]) => new MemorySlotPool(o)],
  ['redis', (o: ConstructorParameters<typeof MemorySlotPool>[0]) => new RedisSlotPool(redis(), o)],
] as const)('slot pool (%s)', (_name, make) => {
  it('holds max slots; a slot frees when its call ends, is released, or its lease runs out', async () => {
    let now = 1_000_000;
    const live = new Set<string>();
    const pool: SlotPool = make({
      max: 2,
      now: () => now,
      isLive: async (sids) => new Set(sids.filter((s) => live.has(s))),
    });
    expect(await pool.reserve('pending:a', 60_000)).toBe(true);
    expect(await pool.reserve('pending:b', 60_000)).toBe(true);
    expect(await pool.reserve('pending:c', 60_000)).toBe(false);
    live.add('v3:a');
    await pool.bind('pending:a', 'v3:a', 3_600_000);
    await pool.release('pending:b');
    expect(await pool.reserve('pending:c', 60_000)).toBe(true);
    expect(await pool.reserve('pending:d', 60_000)).toBe(false);
    live.delete('v3:a'); // the call ended
    expect(await pool.reserve('pending:d', 60_000)).toBe(true);
    expect(await pool.reserve('pending:e', 60_000)).toBe(false);
    now += 60_001; // c and d were never bound: their leases ran out
    expect(await pool.reserve('pending:e', 60_000)).toBe(true);
  });
});

describe('OutboundPolicy', () => {
  it('checks the number before counting, then the agent rate, then concurrency', async () => {
    const now = 1_000_000;
    const policy = new OutboundPolicy({
      allowed: US,
      hotlineNumber: HOTLINE,
      perAgent: new MemorySlidingWindow({ name: 'r', max: 2, windowMs: 60_000, now: () => now }),
      slots: new MemorySlotPool({ max: 3, now: () => now, isLive: async (s) => new Set(s) }),
    });
    await expect(policy.admit({ agentId: 'a', to: '+19005551234' })).rejects.toBeInstanceOf(OutboundRefused);
    const p1 = await policy.admit({ agentId: 'a', to: '+14155550123' });
    await p1.bind('v3:1');
    await policy.admit({ agentId: 'a', to: '+14155550123' });
    const limited = await policy.admit({ agentId: 'a', to: '+14155550123' }).catch((e) => e);
    expect(limited).toBeInstanceOf(OutboundLimited);
    expect(limited).toMatchObject({ code: 'agent-rate', retryAfterSeconds: 60 });
    await policy.admit({ agentId: 'b', to: '+14155550123' });
    const full = await policy.admit({ agentId: 'c', to: '+14155550123' }).catch((e) => e);
    expect(full).toMatchObject({ code: 'concurrency' });
  });
});
