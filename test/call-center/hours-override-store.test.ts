import { expect, it } from 'vitest';
import {
  type HoursOverrideStore,
  MemoryHoursOverrideStore,
  overrideFor,
  RedisHoursOverrideStore,
} from '../../src/call-center/hours-override-store.js';
import { describeBackends, type Implementations } from '../support/describe-backends.js';

const impl: Implementations<HoursOverrideStore> = {
  memory: () => new MemoryHoursOverrideStore(),
  redis: (r) => new RedisHoursOverrideStore(r),
};

describeBackends('hours override store', (backend) => {
  it('keeps one override per queue plus one for all; shared by two replicas', async () => {
    const [a, b] = backend.pair(impl);
    await a.set({ queue: 'sales', closed: true, until: 5000, reason: 'meeting', setAt: 100 });
    await a.set({ closed: false, setAt: 200 });
    const seen = await b.list(1000);
    expect(seen).toHaveLength(2);
    expect(seen.find((o) => o.queue === 'sales')).toEqual({
      queue: 'sales',
      closed: true,
      until: 5000,
      reason: 'meeting',
      setAt: 100,
    });
    expect(seen.find((o) => o.queue === undefined)).toEqual({ closed: false, setAt: 200 });
    // Setting again replaces.
    await b.set({ queue: 'sales', closed: false, setAt: 300 });
    expect((await a.list(1000)).filter((o) => o.queue === 'sales')).toEqual([
      { queue: 'sales', closed: false, setAt: 300 },
    ]);
  });

  it('an override past its deadline is no longer listed', async () => {
    const store = backend.one(impl);
    await store.set({ queue: 'sales', closed: true, until: 5000, setAt: 0 });
    expect(await store.list(4999)).toHaveLength(1);
    expect(await store.list(5000)).toEqual([]);
    expect(await store.list(1000)).toEqual([]); // dropped, not just hidden
  });

  it('clear: one queue, or everything', async () => {
    const store = backend.one(impl);
    await store.set({ queue: 'sales', closed: true, setAt: 1 });
    await store.set({ queue: 'support', closed: true, setAt: 2 });
    await store.set({ closed: true, setAt: 3 });
    expect(await store.clear('sales')).toBe(1);
    expect(await store.clear('sales')).toBe(0);
    expect((await store.list(10)).map((o) => o.queue ?? '*').sort()).toEqual(['*', 'support']);
    expect(await store.clear()).toBe(2);
    expect(await store.list(10)).toEqual([]);
  });
});

it('overrideFor: the newer of the queue’s own and the all-queues override', () => {
  const all = { closed: true, setAt: 200 };
  const sales = { queue: 'sales', closed: false, setAt: 100 };
  expect(overrideFor([sales, all], 'sales')).toBe(all);
  expect(overrideFor([{ ...sales, setAt: 300 }, all], 'sales')).toMatchObject({ queue: 'sales' });
  expect(overrideFor([sales], 'support')).toBeUndefined();
  expect(overrideFor([sales, all], 'support')).toBe(all);
});
