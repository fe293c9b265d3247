import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, Roster, RosterSnapshot } from '../../src/agents/agent.js';
import { StaticRoster } from '../../src/agents/static-roster.js';
import {
  BrowserAwareRoster,
  MemorySoftphonePresenceStore,
  RedisSoftphonePresenceStore,
  SOFTPHONE_LEASE_MS,
  type SoftphonePresenceStore,
} from '../../src/web/softphone-presence.js';
import { testRedis } from '../setup/redis.js';

/** Browser softphone registrations and the roster that rings the browser (docs/interface.md §8). */

let redis: Redis;
beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await redis.quit();
});

const stores: Array<[string, () => SoftphonePresenceStore]> = [
  ['memory', () => new MemorySoftphonePresenceStore()],
  ['redis', () => new RedisSoftphonePresenceStore(redis)],
];

describe.each(stores)('softphone presence (%s store)', (_name, make) => {
  let store: SoftphonePresenceStore;
  afterEach(async () => {
    await redis.del('web:softphones');
  });

  it('keeps a registration until its lease runs out or it is withdrawn', async () => {
    store = make();
    const t = 1_000_000;
    await store.set('2001', 'gencredAAAA', t + SOFTPHONE_LEASE_MS);
    await store.set('2002', 'gencredBBBB', t + 10);
    expect(await store.all(t)).toEqual({ '2001': 'gencredAAAA', '2002': 'gencredBBBB' });
    expect(await store.all(t + 10)).toEqual({ '2001': 'gencredAAAA' });
    await store.clear('2001');
    expect(await store.all(t)).toEqual({});
  });

  it('the browser-aware roster rings a registered browser at its own SIP user, and resolves it back', async () => {
    store = make();
    let now = 5_000_000;
    const inner: Roster = new StaticRoster([
      { name: 'Dana', sip: 'sip:dana2001@sip.telnyx.com' },
      { name: 'Eve', sip: 'sip:eve2002@sip.telnyx.com' },
    ]);
    const roster = new BrowserAwareRoster(inner, store, { now: () => now });
    await roster.refresh();
    expect(roster.current()).toBe(inner.current()); // nobody in a browser: the roster as it is

    await store.set('Dana', 'gencredDana1', now + SOFTPHONE_LEASE_MS);
    await roster.refresh();
    const snap: RosterSnapshot = roster.current();
    expect(snap.agents.map((a: Agent) => [a.name, a.sip, a.online])).toEqual([
      ['Dana', 'sip:gencredDana1@sip.telnyx.com', true],
      ['Eve', 'sip:eve2002@sip.telnyx.com', true],
    ]);
    expect(snap.version).not.toBe(inner.current().version);
    expect(roster.current()).toBe(snap); // no change, same snapshot
    expect(roster.bySip('sip:GenCredDana1@sip.telnyx.com;transport=wss')?.name).toBe('Dana');
    expect(roster.bySip('sip:eve2002@sip.telnyx.com')?.name).toBe('Eve');

    now += SOFTPHONE_LEASE_MS;
    await roster.refresh();
    expect(roster.current().agents[0]?.sip).toBe('sip:dana2001@sip.telnyx.com');
  });
});

describe('softphone presence in Redis', () => {
  afterEach(async () => {
    await redis.del('web:softphones');
  });

  it('the hash expires two leases after its last heartbeat', async () => {
    await new RedisSoftphonePresenceStore(redis).set('2001', 'gencredAAAA', Date.now() + SOFTPHONE_LEASE_MS);
    const ttl = await redis.pttl('web:softphones');
    expect(ttl).toBeGreaterThan(SOFTPHONE_LEASE_MS);
    expect(ttl).toBeLessThanOrEqual(2 * SOFTPHONE_LEASE_MS);
  });
});
