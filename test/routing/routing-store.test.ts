import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryRoutingStore } from '../../src/routing/memory-routing-store.js';
import { createRedisRoutingStore, HISTORY_AGENTS } from '../../src/routing/redis-routing-store.js';
import { redisUrl, testRedis, uniquePrefix } from '../setup/redis.js';
import { describeBackends } from '../support/describe-backends.js';
import { routingStoreSuite } from './routing-store-suite.js';

describeBackends('routing store', (backend) => {
  routingStoreSuite(backend.name, async (options) => {
    const [a, b] = backend.pair({
      memory: () => createMemoryRoutingStore(options),
      redis: (redis) => createRedisRoutingStore(redis, options),
    });
    return { a, b, close: async () => {} }; // describeBackends closes the clients
  });
});

// The app may create its client with RESP3 reply mapping (maps as objects, doubles as numbers).
routingStoreSuite('redis (replyMapping resp3)', async (options) => {
  const keyPrefix = uniquePrefix();
  const client = new Redis(redisUrl(), {
    keyPrefix,
    maxRetriesPerRequest: 1,
    protocol: 3,
    replyMapping: 'resp3',
  });
  const store = createRedisRoutingStore(client, options);
  return { a: store, b: store, close: async () => void (await client.quit()) };
});

describe('redis routing store, Redis specifics', () => {
  const clients: Redis[] = [];
  const client = (prefix: string) => {
    const redis = testRedis(prefix);
    clients.push(redis);
    return redis;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.quit()));
  });

  it('loads history, idle times, busy flags and the rotation in one command, whatever the roster size', async () => {
    const prefix = uniquePrefix();
    const redis = client(prefix);
    const store = createRedisRoutingStore(redis);
    const now = Date.now();
    for (let i = 0; i < 300; i++) await store.markIdle(`agent-${i}`, `leg-${i}`, now);
    for (let i = 0; i < 10; i++) await store.markBusy(`agent-${i}`, `leg-b${i}`, now);
    for (let i = 0; i < 40; i++) await store.recordAnswer(`call-${i}`, '+13125550100', `agent-${i}`);
    await store.load('+13125550100', { withRotation: true }); // the script is now cached on the connection

    const monitor = await client('').monitor();
    const seen: { args: string[]; source: string }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ args, source }));
    const mark = `${prefix}end-of-load`;
    const sawMark = new Promise<void>((resolve) =>
      monitor.on('monitor', (_t: string, args: string[]) => args[1] === mark && resolve()),
    );

    const state = await store.load('+13125550100', { withRotation: true });
    await client('').get(mark);
    await sawMark;
    monitor.disconnect();

    expect(Object.keys(state.idle)).toHaveLength(300);
    // 40 agents answered once each; the history keeps HISTORY_AGENTS of them.
    expect(Object.keys(state.history)).toHaveLength(HISTORY_AGENTS);
    const sent = seen.filter(
      (e) => e.source !== 'lua' && e.args.some((a) => a.startsWith(prefix)) && e.args[1] !== mark,
    );
    expect(sent.map((e) => e.args[0]?.toLowerCase())).toEqual(['evalsha']);
  });

  it('keeps the agents a caller talked to most, trims a longer history on read, and expires it after historyDays', async () => {
    const prefix = uniquePrefix();
    const redis = client(prefix);
    const store = createRedisRoutingStore(redis, { historyDays: 2 });
    for (let i = 0; i < 3; i++) await store.recordAnswer(`call-top-${i}`, '+13125550100', 'top');
    for (let i = 0; i < HISTORY_AGENTS + 5; i++)
      await store.recordAnswer(`call-${i}`, '+13125550100', `agent-${i}`);
    const kept = (await store.load('+13125550100')).history;
    expect(Object.keys(kept)).toHaveLength(HISTORY_AGENTS);
    expect(kept.top).toBe(3);
    // The newest answer is never the one dropped.
    expect(kept[`agent-${HISTORY_AGENTS + 4}`]).toBe(1);
    expect(await redis.ttl('{routing}:history:+13125550100')).toBeGreaterThan(2 * 86_400 - 100);
    // A history written before the cap (1,000 agents) is trimmed by the first load.
    const fields: string[] = [];
    for (let i = 0; i < 1000; i++) fields.push(`old-${i}`, String(i % 7 === 0 ? 2 : 1));
    await redis.hset('{routing}:history:+13125550199', ...fields);
    expect(Object.keys((await store.load('+13125550199')).history)).toHaveLength(HISTORY_AGENTS);
    expect(await redis.hlen('{routing}:history:+13125550199')).toBe(HISTORY_AGENTS);
    expect(Object.values((await store.load('+13125550199')).history).every((n) => n === 2)).toBe(true);
  });

  it('a replica reads only the agents changed since its last load, and sees every change', async () => {
    const prefix = uniquePrefix();
    const a = createRedisRoutingStore(client(prefix));
    const b = createRedisRoutingStore(client(prefix));
    const now = Date.now();
    for (let i = 0; i < 50; i++) await b.markIdle(`agent-${i}`, `leg-${i}`, now + i);
    const first = await a.load(undefined);
    expect(Object.keys(first.idle)).toHaveLength(50);
    await b.markBusy('agent-7', 'leg-x', now + 100);
    await b.markIdle('agent-9', 'leg-y', now + 200);
    const held = first.presence!.version;
    const second = await a.load(undefined);
    expect(second.idle['agent-9']).toBe(now + 200);
    expect([...second.busy]).toEqual(['agent-7']);
    expect([...(second.presence!.changedSince(held) ?? [])].sort()).toEqual(['agent-7', 'agent-9']);
    expect(second.presence!.changedSince(second.presence!.version)).toEqual([]);
    expect(second.presence!.changedSince('another-epoch:1')).toBeNull();
    // A flushed Redis (a new presence epoch) is read whole again.
    await client(prefix).del('{routing}:presence', '{routing}:changed', '{routing}:idle', '{routing}:busy');
    await b.markIdle('agent-1', 'leg-z', now + 300);
    const third = await a.load(undefined);
    expect({ ...third.idle }).toEqual({ 'agent-1': now + 300 });
    expect([...third.busy]).toEqual([]);
  });

  it('puts every key under one hash tag (Redis Cluster), behind the client keyPrefix', async () => {
    const prefix = uniquePrefix();
    const store = createRedisRoutingStore(client(prefix));
    await store.recordAnswer('call-1', '+13125550100', 'alice');
    await store.markBusy('alice', 'leg-1', Date.now());
    await store.markIdle('alice', 'leg-1', Date.now());
    await store.load('+13125550100', { withRotation: true });

    const keys = await client('').keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThanOrEqual(5);
    for (const key of keys) expect(key.startsWith(`${prefix}{routing}:`), key).toBe(true);
  });

  it('expires the counted marker and the ended marker, and writes nothing for a withheld caller', async () => {
    const prefix = uniquePrefix();
    const raw = client(prefix);
    const store = createRedisRoutingStore(raw, { countedTtlSeconds: 120, busyMaxMs: 90_000 });
    await store.recordAnswer('call-1', '+13125550100', 'alice');
    await store.markIdle('alice', 'leg-1', Date.now());
    expect(await raw.ttl('{routing}:counted:call-1')).toBeGreaterThan(100);
    expect(await raw.pttl('{routing}:ended:leg-1')).toBeGreaterThan(80_000);
    // ROUTING_HISTORY_DAYS (default 365) after the caller's last answered call.
    expect(await raw.ttl('{routing}:history:+13125550100')).toBeGreaterThan(365 * 86_400 - 100);
    expect(await raw.ttl('{routing}:history:+13125550100')).toBeLessThanOrEqual(365 * 86_400);

    // A withheld caller: the call counts for the agent's day (and is marked), never as history.
    await store.recordAnswer('call-2', 'Anonymous', 'alice');
    expect(await raw.exists('{routing}:history:anonymous', '{routing}:history:')).toBe(0);
    expect(await raw.exists('{routing}:counted:call-2')).toBe(1);
  });

  it("keeps each day's answered calls in its own hash under the hash tag, expiring two days after its last answer", async () => {
    const prefix = uniquePrefix();
    const raw = client(prefix);
    const at = Date.parse('2025-06-15T23:30:00Z'); // 16 June in Berlin
    const store = createRedisRoutingStore(raw, { now: () => at, timeZone: 'Europe/Berlin' });
    await store.recordAnswer('call-1', 'anonymous', 'alice');
    await store.recordAnswer('call-2', '+13125550100', 'alice');
    expect(await raw.hgetall('{routing}:answered:2025-06-16')).toEqual({ alice: '2' });
    const ttl = await raw.ttl('{routing}:answered:2025-06-16');
    expect(ttl).toBeGreaterThan(2 * 86_400 - 100);
    expect(ttl).toBeLessThanOrEqual(2 * 86_400);
    // Read in the load's one script, with the history and the presence.
    await store.load(undefined); // the script is now cached on the connection
    const monitor = await client('').monitor();
    const sent: string[][] = [];
    const mark = `${prefix}end`;
    // Everything up to the mark has been seen once the mark is (MONITOR keeps the server's order).
    const sawMark = new Promise<void>((resolve) =>
      monitor.on('monitor', (_t: string, args: string[], source: string) => {
        if (args[1] === mark) resolve();
        else if (source !== 'lua' && args.some((a) => a.startsWith(prefix))) sent.push(args);
      }),
    );
    const state = await store.load('+13125550100', { withAnsweredToday: true });
    await client('').get(mark);
    await sawMark;
    monitor.disconnect();
    expect({ ...state.answeredToday }).toEqual({ alice: 2 });
    expect(sent.map((args) => args[0]?.toLowerCase())).toEqual(['evalsha']);
  });
});

describe('memory routing store, bounded', () => {
  it('keeps at most maxEntries callers, forgetting the one answered longest ago, and caps the per-call markers', async () => {
    const store = createMemoryRoutingStore({ maxEntries: 2 });
    await store.recordAnswer('c1', '+13125550101', 'alice');
    await store.recordAnswer('c2', '+13125550102', 'alice');
    await store.recordAnswer('c3', '+13125550101', 'bob'); // caller 101 is the most recent again
    await store.recordAnswer('c4', '+13125550103', 'alice');
    expect((await store.load('+13125550102')).history).toEqual({});
    expect({ ...(await store.load('+13125550101')).history }).toEqual({ alice: 1, bob: 1 });
    expect({ ...(await store.load('+13125550103')).history }).toEqual({ alice: 1 });
    // The marker of c1 was dropped (two newer ones): a very late repeat counts again, the recent ones do not.
    expect(await store.recordAnswer('c4', '+13125550103', 'alice')).toBe(false);
    expect(await store.recordAnswer('c1', '+13125550101', 'alice')).toBe(true);
  });
});
