import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import type { Config } from '../../src/config.js';
import { createMemoryRoutingStore } from '../../src/routing/memory-routing-store.js';
import { createRedisRoutingStore } from '../../src/routing/redis-routing-store.js';
import { createRouter } from '../../src/routing/router.js';
import type { RoutingStore } from '../../src/routing/routing-store.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';

const CALLER = '+13125550100';

const roster: Agent[] = ['alice', 'bob', 'carol'].map((name) => ({
  id: `conn-${name}`,
  name,
  sip: `sip:${name}@sip.telnyx.com`,
  online: true,
  source: 'telnyx',
}));

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const settings = (over: Partial<Config['routing']> = {}): Config['routing'] => ({
  strategy: 'longest-idle',
  sticky: true,
  historyDays: 365,
  stickyThreshold: 0.6,
  dialTimeoutSeconds: 20,
  dialAttempts: 2,
  maxTargets: 10,
  stickyRingSeconds: 15,
  ...over,
});

const ids = (decision: { targets: { id: string }[] }) => decision.targets.map((a) => a.id);

describe('router', () => {
  const clients: Redis[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.quit()));
  });

  it("rings the caller's own agent first once they answered most of the caller's calls", async () => {
    const store = createMemoryRoutingStore();
    const router = createRouter({ store, settings: settings(), logger: capturingLogger().logger });
    const first = await router.route({ caller: CALLER, agents: roster, round: 1, alreadyRung: [] });
    expect(first).toMatchObject({ reason: 'strategy' });

    await store.recordAnswer('call-1', CALLER, 'conn-carol');
    await store.recordAnswer('call-2', CALLER, 'conn-carol');
    await store.recordAnswer('call-3', CALLER, 'conn-bob');
    const sticky = await router.route({ caller: CALLER, agents: roster, round: 1, alreadyRung: [] });
    expect({ ids: ids(sticky), reason: sticky.reason }).toEqual({ ids: ['conn-carol'], reason: 'sticky' });
    // The roster's own fields come back with the presence added.
    expect(sticky.targets[0]).toMatchObject({ name: 'carol', source: 'telnyx', busy: false });

    const next = await router.route({
      caller: CALLER,
      agents: roster,
      round: 2,
      alreadyRung: ['conn-carol'],
    });
    expect(next.reason).toBe('strategy');
    expect(ids(next)).not.toContain('conn-carol');
  });

  it("a queue's own strategy replaces ROUTING_STRATEGY for that request (docs/interface.md §9)", async () => {
    const store = createMemoryRoutingStore();
    const router = createRouter({
      store,
      settings: settings({ strategy: 'ring-all', sticky: false }),
      logger: capturingLogger().logger,
    });
    const all = await router.route({ caller: CALLER, agents: roster, round: 1, alreadyRung: [] });
    expect(ids(all)).toHaveLength(3);
    const now = Date.now();
    await store.markIdle('conn-alice', 'leg-a', now - 1000);
    await store.markIdle('conn-bob', 'leg-b', now - 9000);
    await store.markIdle('conn-carol', 'leg-c', now - 5000);
    const one = await router.route({
      caller: CALLER,
      agents: roster,
      round: 1,
      alreadyRung: [],
      strategy: 'longest-idle',
    });
    expect(ids(one)).toEqual(['conn-bob']);
  });

  it('waits for an engaged preferred agent only when told who is engaged (§5.1)', async () => {
    const store = createMemoryRoutingStore();
    const router = createRouter({ store, settings: settings(), logger: capturingLogger().logger });
    await store.recordAnswer('call-1', CALLER, 'conn-carol');
    await store.recordAnswer('call-2', CALLER, 'conn-carol');
    const offerable = new Set(['conn-alice', 'conn-bob']);
    // Carol is on a call but available: the caller is held for her, nobody else rings.
    const held = await router.route({
      caller: CALLER,
      agents: roster,
      round: 1,
      alreadyRung: [],
      offerable,
      engaged: new Set(['conn-carol']),
    });
    expect({ ids: ids(held), reason: held.reason, preferred: held.preferred?.id }).toEqual({
      ids: [],
      reason: 'preferred-busy',
      preferred: 'conn-carol',
    });
    // Carol on break (not engaged), or no engaged set at all: the strategy among the others.
    for (const engaged of [new Set<string>(), undefined]) {
      const other = await router.route({
        caller: CALLER,
        agents: roster,
        round: 1,
        alreadyRung: [],
        offerable,
        engaged,
      });
      expect(other.reason).toBe('strategy');
      expect(ids(other)).toHaveLength(1);
      expect(ids(other)).not.toContain('conn-carol');
    }
    // Carol free: she rings alone (the call flow gives the round STICKY_RING_SECONDS).
    const sticky = await router.route({
      caller: CALLER,
      agents: roster,
      round: 1,
      alreadyRung: [],
      offerable: new Set(['conn-alice', 'conn-carol']),
      engaged: new Set(['conn-bob']),
    });
    expect({ ids: ids(sticky), reason: sticky.reason }).toEqual({ ids: ['conn-carol'], reason: 'sticky' });
  });

  it('skips an agent who is on a call and prefers the one idle longest', async () => {
    const store = createMemoryRoutingStore();
    const router = createRouter({ store, settings: settings(), logger: capturingLogger().logger });
    const now = Date.now();
    await store.markIdle('conn-alice', 'leg-a', now - 1000);
    await store.markIdle('conn-bob', 'leg-b', now - 5000);
    await store.markIdle('conn-carol', 'leg-c', now - 9000);
    await store.markBusy('conn-carol', 'leg-c2', now);
    const decision = await router.route({ caller: CALLER, agents: roster, round: 1, alreadyRung: [] });
    expect(ids(decision)).toEqual(['conn-bob']);
  });

  it('rotates round-robin across calls and across replicas through the shared counter', async () => {
    const prefix = uniquePrefix();
    const [ra, rb] = [testRedis(prefix), testRedis(prefix)];
    clients.push(ra, rb);
    const { logger } = capturingLogger();
    const routers = [ra, rb].map((redis) =>
      createRouter({
        store: createRedisRoutingStore(redis),
        settings: settings({ strategy: 'round-robin' }),
        logger,
      }),
    );
    const picked: string[] = [];
    for (let call = 0; call < 6; call++) {
      const decision = await routers[call % 2]!.route({
        caller: CALLER,
        agents: roster,
        round: 1,
        alreadyRung: [],
      });
      picked.push(...ids(decision));
    }
    // Counter 1, 2, 3, … over the name-ordered ring alice, bob, carol.
    expect(picked).toEqual(['conn-bob', 'conn-carol', 'conn-alice', 'conn-bob', 'conn-carol', 'conn-alice']);
  });

  it('fewest-calls rings the agent with the fewest answered calls today, counted once per call across replicas', async () => {
    const prefix = uniquePrefix();
    const [ra, rb] = [testRedis(prefix), testRedis(prefix)];
    clients.push(ra, rb);
    const [sa, sb] = [createRedisRoutingStore(ra), createRedisRoutingStore(rb)];
    const { logger } = capturingLogger();
    const router = createRouter({
      store: sa,
      settings: settings({ strategy: 'fewest-calls', sticky: false }),
      logger,
    });
    const now = Date.now();
    // Alice has been idle longest (longest-idle would ring her), but she answered two calls today.
    await sb.markIdle('conn-alice', 'leg-a', now - 9000);
    await sa.markIdle('conn-bob', 'leg-b', now - 1000);
    await sb.markIdle('conn-carol', 'leg-c', now - 5000);
    for (const [sid, agent] of [
      ['call-1', 'conn-alice'],
      ['call-2', 'conn-alice'],
      ['call-3', 'conn-carol'],
    ] as const) {
      // Both replicas see each answer; it counts once.
      await sa.recordAnswer(sid, CALLER, agent);
      await sb.recordAnswer(sid, 'anonymous', agent);
    }
    const route = () => router.route({ caller: '+13125550177', agents: roster, round: 1, alreadyRung: [] });
    expect(ids(await route())).toEqual(['conn-bob']);
    await sb.recordAnswer('call-4', 'anonymous', 'conn-bob');
    // Bob and Carol have one each: the tie goes to the one idle longer.
    expect(ids(await route())).toEqual(['conn-carol']);
  });

  it('routes by the strategy alone, without failing, when the store is down', async () => {
    const down: RoutingStore = {
      load: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      },
      recordAnswer: async () => false,
      markBusy: async () => {},
      markIdle: async () => {},
      nextRotation: async () => {
        throw new Error('down');
      },
    };
    const { logger, lines } = capturingLogger();
    const ringAll = createRouter({
      store: down,
      settings: settings({ strategy: 'ring-all', maxTargets: 2 }),
      logger,
    });
    const decision = await ringAll.route({ caller: CALLER, agents: roster, round: 1, alreadyRung: [] });
    expect({ ids: ids(decision), reason: decision.reason }).toEqual({
      ids: ['conn-alice', 'conn-bob'],
      reason: 'strategy',
    });

    const roundRobin = createRouter({ store: down, settings: settings({ strategy: 'round-robin' }), logger });
    const picks = [];
    for (let i = 0; i < 3; i++) {
      picks.push(
        ...ids(await roundRobin.route({ caller: CALLER, agents: roster, round: 1, alreadyRung: [] })),
      );
    }
    expect(new Set(picks).size).toBe(3);

    expect(lines.filter((l) => l.level === 40 && /strategy alone/.test(String(l.msg)))).toHaveLength(4);
    expect(JSON.stringify(lines)).not.toContain('5550100');
  });

  it('does not wait on a store that never answers', async () => {
    const hanging: RoutingStore = { ...createMemoryRoutingStore(), load: () => new Promise(() => {}) };
    const { logger, lines } = capturingLogger();
    const router = createRouter({ store: hanging, settings: settings(), logger, loadTimeoutMs: 5 });
    const decision = await router.route({ caller: CALLER, agents: roster, round: 1, alreadyRung: [] });
    expect(decision.reason).toBe('strategy');
    expect(decision.targets).toHaveLength(1);
    expect(lines.some((l) => /did not answer in 5 ms/.test(JSON.stringify(l)))).toBe(true);
  });

  it('rings all online agents when the decision itself throws (a broken rng)', async () => {
    const { logger, lines } = capturingLogger();
    const router = createRouter({
      store: createMemoryRoutingStore(),
      settings: settings({ strategy: 'random', maxTargets: 2 }),
      logger,
      rng: () => {
        throw new Error('entropy exhausted');
      },
    });
    const decision = await router.route({ caller: CALLER, agents: roster, round: 1, alreadyRung: [] });
    expect(ids(decision)).toEqual(['conn-alice', 'conn-bob']);
    expect(lines.some((l) => l.level === 50)).toBe(true);
  });

  it('sends the caller to voicemail when nobody is online', async () => {
    const router = createRouter({
      store: createMemoryRoutingStore(),
      settings: settings(),
      logger: capturingLogger().logger,
    });
    const offline = roster.map((a) => ({ ...a, online: false }));
    expect(await router.route({ caller: CALLER, agents: offline, round: 1, alreadyRung: [] })).toEqual({
      targets: [],
      reason: 'no-agent-online',
    });
  });

  it('with a live offerable set, rebuilds only changed agents and decides as a fresh router would', async () => {
    const redis = testRedis(uniquePrefix());
    clients.push(redis);
    const store = createRedisRoutingStore(redis);
    const agents: Agent[] = Array.from({ length: 30 }, (_, i) => ({
      id: `a${i}`,
      name: `agent ${String(i).padStart(2, '0')}`,
      sip: `sip:a${i}@sip.telnyx.com`,
      online: i % 7 !== 3,
      source: 'static',
    }));
    // A live set as CallCenter.liveOfferable hands out: changed in place, with a change log.
    const log: { id: string; v: number }[] = [];
    const offerable = Object.assign(new Set(agents.map((a) => a.id)), {
      version: '0',
      changedSince: (held: string) => log.filter((e) => e.v > Number(held)).map((e) => e.id),
    });
    const cached = createRouter({
      store,
      settings: settings({ strategy: 'ring-all', maxTargets: 5 }),
      logger: capturingLogger().logger,
    });
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor(seed / 65_536) % n; // the high bits: an LCG's low bits cycle
    };
    for (let step = 1; step <= 60; step++) {
      const id = `a${rnd(30)}`;
      if (rnd(2)) {
        if (offerable.has(id)) offerable.delete(id);
        else offerable.add(id);
        log.push({ id, v: step });
        offerable.version = String(step);
      } else {
        await store.markIdle(id, `leg-${step}`, 1_000_000 + rnd(1_000_000));
      }
      const request = { caller: CALLER, agents, round: 1, alreadyRung: [] as string[], offerable };
      const got = await cached.route(request);
      const fresh = createRouter({
        store,
        settings: settings({ strategy: 'ring-all', maxTargets: 5 }),
        logger: capturingLogger().logger,
      });
      const want = await fresh.route({ ...request, offerable: new Set(offerable) });
      expect(got.targets.map((a) => [a.id, a.idleSince, a.busy])).toEqual(
        want.targets.map((a) => [a.id, a.idleSince, a.busy]),
      );
      expect(got.reason).toBe(want.reason);
    }
  });
});
