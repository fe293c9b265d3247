import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RoutingStore, RoutingStoreOptions } from '../../src/routing/routing-store.js';

/**
 * Two handles on the same routing state, as two replicas would have (the memory store is one
 * process, so both handles are the same store there).
 */
export interface StorePair {
  a: RoutingStore;
  b: RoutingStore;
  close(): Promise<void>;
}

export type StoreFactory = (options: RoutingStoreOptions) => Promise<StorePair>;

const T0 = 1_750_000_000_000;
const CALLER = '+13125550100';

/** The behaviour every RoutingStore must have; run once per implementation. */
export function routingStoreSuite(name: string, create: StoreFactory): void {
  describe(`${name} routing store`, () => {
    let clock = T0;
    let pair: StorePair;
    let store: RoutingStore;

    beforeEach(async () => {
      clock = T0;
      pair = await create({ now: () => clock, busyMaxMs: 60_000, countedTtlSeconds: 3600 });
      store = pair.a;
    });
    afterEach(async () => {
      await pair.close();
    });

    it('starts empty', async () => {
      const state = await store.load(CALLER);
      expect({ ...state.history }).toEqual({});
      expect({ ...state.idle }).toEqual({});
      expect([...state.busy]).toEqual([]);
      expect(state.rotation).toBeUndefined();
    });

    it('counts an answered call once per call, however often the callback repeats', async () => {
      expect(await store.recordAnswer('call-1', CALLER, 'alice')).toBe(true);
      expect(await store.recordAnswer('call-1', CALLER, 'alice')).toBe(false);
      expect(await store.recordAnswer('call-1', CALLER, 'bob')).toBe(false);
      expect(await store.recordAnswer('call-2', CALLER, 'alice')).toBe(true);
      expect(await store.recordAnswer('call-3', CALLER, 'bob')).toBe(true);
      expect({ ...(await store.load(CALLER)).history }).toEqual({ alice: 2, bob: 1 });
    });

    it('counts once when two replicas race on the same call', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? pair.a : pair.b).recordAnswer('call-race', CALLER, 'alice'),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect({ ...(await pair.b.load(CALLER)).history }).toEqual({ alice: 1 });
    });

    it("keeps each caller's history apart, with the number trimmed and case-folded", async () => {
      await store.recordAnswer('call-1', ` ${CALLER} `, 'alice');
      await store.recordAnswer('call-2', 'sip:Bob@example.com', 'bob');
      await store.recordAnswer('call-3', '+13125550199', 'carol');
      expect({ ...(await store.load(CALLER)).history }).toEqual({ alice: 1 });
      expect({ ...(await store.load('sip:bob@example.com')).history }).toEqual({ bob: 1 });
    });

    it('never reads or writes history for withheld callers, but counts their answered calls for the agent', async () => {
      const withheld = [undefined, '', 'anonymous', 'Restricted', 'PRIVATE', 'unknown'];
      for (const caller of withheld) {
        expect(await store.recordAnswer(`call-${caller}`, caller, 'alice')).toBe(true);
        expect({ ...(await store.load(caller)).history }).toEqual({});
      }
      // Counted once per call: a repeat (with a real number this time) counts nothing more.
      expect(await store.recordAnswer('call-anonymous', CALLER, 'alice')).toBe(false);
      expect({ ...(await store.load(CALLER)).history }).toEqual({});
      const today = await store.load(CALLER, { withAnsweredToday: true });
      expect({ ...today.answeredToday }).toEqual({ alice: withheld.length });
    });

    it("counts each agent's answered calls today once per call, shared by the replicas", async () => {
      expect((await store.load(CALLER)).answeredToday).toBeUndefined();
      expect({ ...(await store.load(CALLER, { withAnsweredToday: true })).answeredToday }).toEqual({});
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? pair.a : pair.b).recordAnswer('call-1', CALLER, 'alice'),
        ),
      );
      await pair.b.recordAnswer('call-2', '+13125550199', 'alice');
      await pair.a.recordAnswer('call-3', CALLER, 'bob');
      await pair.b.recordAnswer('call-3', CALLER, 'bob');
      const state = await pair.b.load('anonymous', { withAnsweredToday: true, withRotation: true });
      expect({ ...state.answeredToday }).toEqual({ alice: 2, bob: 1 });
      expect(typeof state.rotation).toBe('number');
    });

    it('starts every local day (TZ) from nothing', async () => {
      // T0 is 2025-06-15T15:06:40Z; it is 08:06:40 on 15 June in Los Angeles (UTC-7).
      const la = await create({ now: () => clock, timeZone: 'America/Los_Angeles' });
      try {
        await la.a.recordAnswer('call-1', CALLER, 'alice');
        clock = Date.parse('2025-06-16T06:59:59Z'); // 23:59:59 on 15 June in Los Angeles
        await la.b.recordAnswer('call-2', CALLER, 'alice');
        await la.b.recordAnswer('call-3', CALLER, 'bob');
        expect({ ...(await la.a.load(CALLER, { withAnsweredToday: true })).answeredToday }).toEqual({
          alice: 2,
          bob: 1,
        });
        clock = Date.parse('2025-06-16T07:00:00Z'); // midnight in Los Angeles, still 16 June in UTC
        expect({ ...(await la.b.load(CALLER, { withAnsweredToday: true })).answeredToday }).toEqual({});
        await la.a.recordAnswer('call-4', CALLER, 'bob');
        expect({ ...(await la.b.load(CALLER, { withAnsweredToday: true })).answeredToday }).toEqual({
          bob: 1,
        });
        // The caller's history is not per day.
        expect({ ...(await la.b.load(CALLER)).history }).toEqual({ alice: 2, bob: 2 });
      } finally {
        await la.close();
      }
    });

    it('moves idle-since forward only', async () => {
      await store.markIdle('alice', 'leg-1', T0 + 2000);
      await store.markIdle('alice', 'leg-0', T0 + 1000);
      await pair.b.markIdle('bob', 'leg-2', T0 + 500);
      expect({ ...(await store.load(CALLER)).idle }).toEqual({ alice: T0 + 2000, bob: T0 + 500 });
      await store.markIdle('alice', 'leg-3', T0 + 3000);
      expect((await pair.b.load(CALLER)).idle.alice).toBe(T0 + 3000);
    });

    it('marks an agent busy until the leg that made it busy ends', async () => {
      await store.markBusy('alice', 'leg-1', T0);
      await pair.b.markBusy('bob', 'leg-2', T0);
      expect([...(await store.load(CALLER)).busy].sort()).toEqual(['alice', 'bob']);

      // Another leg of alice (a canceled ring-all leg, say) ending does not free her.
      await store.markIdle('alice', 'leg-9', T0 + 100);
      expect([...(await store.load(CALLER)).busy].sort()).toEqual(['alice', 'bob']);

      await pair.b.markIdle('alice', 'leg-1', T0 + 200);
      const state = await store.load(CALLER);
      expect([...state.busy]).toEqual(['bob']);
      expect(state.idle.alice).toBe(T0 + 200);
    });

    it('ignores an "answered" callback that arrives after the leg ended', async () => {
      await store.markIdle('alice', 'leg-1', T0 + 100);
      await pair.b.markBusy('alice', 'leg-1', T0);
      expect([...(await store.load(CALLER)).busy]).toEqual([]);
    });

    it('forgets a busy flag older than busyMaxMs (a lost "completed" callback)', async () => {
      await store.markBusy('alice', 'leg-1', T0);
      clock = T0 + 60_000;
      expect([...(await store.load(CALLER)).busy]).toEqual(['alice']);
      clock = T0 + 60_001;
      expect([...(await store.load(CALLER)).busy]).toEqual([]);
    });

    it('rejects a time that is not a number', async () => {
      await expect(store.markIdle('alice', 'leg-1', Number.NaN)).rejects.toThrow(TypeError);
      await expect(store.markBusy('alice', 'leg-1', Number.POSITIVE_INFINITY)).rejects.toThrow(TypeError);
    });

    it('shares one round-robin counter, advanced by nextRotation and by load withRotation', async () => {
      const first = await pair.a.nextRotation();
      expect(await pair.b.nextRotation()).toBe(first + 1);
      expect((await pair.b.load(CALLER, { withRotation: true })).rotation).toBe(first + 2);
      expect((await pair.a.load(CALLER, { withRotation: true })).rotation).toBe(first + 3);
      expect((await pair.a.load(CALLER)).rotation).toBeUndefined();
      expect(await pair.a.nextRotation()).toBe(first + 4);
    });

    it('loads the idle times and busy flags of a large roster with one caller', async () => {
      for (let i = 0; i < 200; i++) await store.markIdle(`agent-${i}`, `leg-${i}`, T0 + i);
      for (let i = 0; i < 20; i++) await store.markBusy(`agent-${i}`, `leg-b${i}`, T0);
      for (let i = 0; i < 30; i++) await store.recordAnswer(`call-${i}`, CALLER, `agent-${i % 3}`);
      const state = await store.load(CALLER, { withRotation: true });
      expect(Object.keys(state.idle)).toHaveLength(200);
      expect(state.idle['agent-199']).toBe(T0 + 199);
      expect(state.busy.size).toBe(20);
      expect({ ...state.history }).toEqual({ 'agent-0': 10, 'agent-1': 10, 'agent-2': 10 });
      expect(typeof state.rotation).toBe('number');
    });

    it('keeps agent ids that look like object keys as data', async () => {
      await store.recordAnswer('call-1', CALLER, '__proto__');
      await store.markIdle('constructor', 'leg-1', T0);
      const state = await store.load(CALLER);
      expect(Object.keys(state.history)).toEqual(['__proto__']);
      expect(Object.entries(state.history)).toEqual([['__proto__', 1]]);
      expect(state.idle['constructor']).toBe(T0);
    });
  });
}
