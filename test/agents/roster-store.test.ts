import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRosterStore } from '../../src/agents/memory-roster-store.js';
import { RedisRosterStore } from '../../src/agents/redis-roster-store.js';
import type { RosterStore } from '../../src/agents/roster-store.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';

/** Two handles on one shared roster (two replicas); the memory store can only share itself. */
interface Pair {
  a: RosterStore;
  b: RosterStore;
}

const clients: Redis[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.quit()));
});

const implementations: Array<[string, () => Pair]> = [
  [
    'memory',
    () => {
      const store = new MemoryRosterStore();
      return { a: store, b: store };
    },
  ],
  [
    'redis',
    () => {
      const prefix = uniquePrefix();
      const r1 = testRedis(prefix);
      const r2 = testRedis(prefix);
      clients.push(r1, r2);
      return { a: new RedisRosterStore(r1), b: new RedisRosterStore(r2) };
    },
  ],
];

const ann = { id: '1', name: 'Ann', sip: 'sip:ann1234@sip.telnyx.com' };
const bob = { id: '2', name: 'Bob', sip: 'sip:bob1234@sip.telnyx.com' };
const T1 = '2026-03-01T10:00:00.000Z';
const T2 = '2026-03-01T11:00:00.000Z';

describe.each(implementations)('%s roster store', (_name, make) => {
  it('starts empty at version 0', async () => {
    const { a } = make();
    expect(await a.load()).toEqual({ version: 0, agents: [], presence: {} });
  });

  it('replaces the agent list only from the version it was computed against', async () => {
    const { a, b } = make();
    expect(await a.replaceAgents(0, [ann, bob], T1)).toBe(1);
    expect(await b.replaceAgents(0, [ann], T1)).toBeNull();
    const loaded = await b.load();
    expect(loaded).toMatchObject({ version: 1, agents: [ann, bob], syncedAt: T1 });
  });

  it('lets exactly one of two concurrent writers of the same version win', async () => {
    const { a, b } = make();
    const results = await Promise.all([a.replaceAgents(0, [ann], T1), b.replaceAgents(0, [bob], T1)]);
    expect(results.filter((v) => v === 1)).toHaveLength(1);
    expect(results.filter((v) => v === null)).toHaveLength(1);
    expect((await a.load()).version).toBe(1);
  });

  it('bumps the version when presence changes, not when it is repeated', async () => {
    const { a, b } = make();
    await a.replaceAgents(0, [ann, bob], T1);
    // Never checked counts as offline: storing "offline" changes nothing a flow sees.
    expect(await a.setPresence({ '1': false, '2': false }, T1)).toBe(1);
    expect(await b.setPresence({ '1': true }, T2)).toBe(2);
    expect(await a.setPresence({ '1': true, '2': false }, T2)).toBe(2);
    const loaded = await b.load();
    expect(loaded.presence).toEqual({ '1': true, '2': false });
    expect(loaded.presenceCheckedAt).toBe(T2);
  });

  it('keeps presence of agents that stay and drops it for agents that leave', async () => {
    const { a } = make();
    await a.replaceAgents(0, [ann, bob], T1);
    const v = await a.setPresence({ '1': true, '2': true }, T1);
    await a.replaceAgents(v, [{ ...ann, name: 'Ann Lee' }], T2);
    const loaded = await a.load();
    expect(loaded.agents).toEqual([{ ...ann, name: 'Ann Lee' }]);
    expect(loaded.presence).toEqual({ '1': true });
  });

  it('moves syncedAt and presenceCheckedAt forward only', async () => {
    const { a } = make();
    await a.markSynced(T2);
    await a.markSynced(T1);
    await a.setPresence({}, T2);
    await a.setPresence({}, T1);
    const loaded = await a.load();
    expect(loaded.syncedAt).toBe(T2);
    expect(loaded.presenceCheckedAt).toBe(T2);
    expect(loaded.version).toBe(0);
  });

  it('hands out copies: changing a loaded value does not change the store', async () => {
    const { a } = make();
    await a.replaceAgents(0, [ann], T1);
    const loaded = await a.load();
    (loaded.agents[0] as { name: string }).name = 'Mallory';
    expect((await a.load()).agents[0]?.name).toBe('Ann');
  });
});
