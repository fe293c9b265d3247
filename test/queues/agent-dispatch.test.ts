import { expect, it } from 'vitest';
import { type AgentStateStore, transitionAgent } from '../../src/agents/agent-state-store.js';
import { MemoryAgentStateStore } from '../../src/agents/memory-agent-state-store.js';
import { RedisAgentStateStore } from '../../src/agents/redis-agent-state-store.js';
import { endDueWrapUps, offerableAgents, offerNextCaller } from '../../src/queues/agent-dispatch.js';
import { MemoryQueueStore } from '../../src/queues/memory-queue-store.js';
import type { QueueStore } from '../../src/queues/queue-store.js';
import { RedisQueueStore } from '../../src/queues/redis-queue-store.js';
import { describeBackends, type Implementations } from '../support/describe-backends.js';

const T = Date.parse('2026-12-01T10:00:00Z');
const s = (seconds: number) => T + seconds * 1000;

interface Stores {
  agents: AgentStateStore;
  queues: QueueStore;
}
const impl: Implementations<Stores> = {
  memory: () => ({ agents: new MemoryAgentStateStore(), queues: new MemoryQueueStore() }),
  redis: (redis) => ({ agents: new RedisAgentStateStore(redis), queues: new RedisQueueStore(redis) }),
};

const join = (queues: QueueStore, callSid: string, at: number, queue = 'support') =>
  queues.enqueue({ callSid, queue, caller: '+13125550100' }, { now: at, maxWaiting: 50 });

/** Takes agent `id` through an answered call that ends at `endAt`, leaving them in wrap-up. */
async function busy(agents: AgentStateStore, id: string, callSid: string, endAt: number, wrapUpSeconds = 30) {
  await transitionAgent(agents, id, { type: 'offer', callSid, registered: true }, { now: endAt - 60_000 });
  await transitionAgent(agents, id, { type: 'offer-answered', callSid }, { now: endAt - 50_000 });
  await transitionAgent(agents, id, { type: 'call-ended', callSid }, { now: endAt, wrapUpSeconds });
}

describeBackends('agent dispatch', (backend) => {
  it('lists the offerable agents of a queue, longest idle first', async () => {
    const { agents } = backend.one(impl);
    await busy(agents, 'a1', 'X1', s(0), 0); // idle since s(0)
    await busy(agents, 'a2', 'X2', s(5)); // in wrap-up
    await transitionAgent(agents, 'a3', { type: 'status-set', status: 'break', by: 'a3' }, { now: s(0) });
    // a4 never seen: idle since ever (stateAt 0), a5 unregistered.
    const list = await offerableAgents(agents, ['a1', 'a2', 'a3', 'a4', 'a5'], (id) => id !== 'a5');
    expect(list.map((r) => r.agentId)).toEqual(['a4', 'a1']);
  });

  it('a free agent is offered the longest-waiting caller of their queues; both sides agree', async () => {
    const { agents, queues } = backend.one(impl);
    await join(queues, 'C1', s(0), 'sales');
    await join(queues, 'C2', s(1), 'support');
    const offered = await offerNextCaller(agents, queues, {
      agentId: 'a1',
      queues: ['support', 'sales'],
      registered: true,
      now: s(10),
    });
    expect(offered?.entry).toMatchObject({ callSid: 'C1', offeredTo: 'a1' });
    expect(offered?.agent).toMatchObject({
      outcome: 'applied',
      record: { state: 'offered', callSid: 'C1', queue: 'sales' },
    });
    expect(await agents.get('a1')).toMatchObject({ state: 'offered', callSid: 'C1' });
    // Busy now: nothing more for a1, and C2 stays unclaimed.
    expect(
      await offerNextCaller(agents, queues, {
        agentId: 'a1',
        queues: ['support'],
        registered: true,
        now: s(11),
      }),
    ).toBeUndefined();
    expect(await queues.get('C2')).not.toHaveProperty('offeredTo');
  });

  it('nobody is offered to an unregistered agent, or when nobody waits', async () => {
    const { agents, queues } = backend.one(impl);
    expect(
      await offerNextCaller(agents, queues, {
        agentId: 'a1',
        queues: ['support'],
        registered: true,
        now: s(0),
      }),
    ).toBeUndefined();
    await join(queues, 'C1', s(0));
    expect(
      await offerNextCaller(agents, queues, {
        agentId: 'a1',
        queues: ['support'],
        registered: false,
        now: s(1),
      }),
    ).toBeUndefined();
    expect(await queues.get('C1')).not.toHaveProperty('offeredTo');
  });

  it('two replicas freeing the same agent at once: one caller offered, the other released in place', async () => {
    const [r1, r2] = backend.pair(impl);
    await join(r1.queues, 'C1', s(0));
    await join(r1.queues, 'C2', s(1));
    const results = await Promise.all([
      offerNextCaller(r1.agents, r1.queues, {
        agentId: 'a1',
        queues: ['support'],
        registered: true,
        now: s(5),
      }),
      offerNextCaller(r2.agents, r2.queues, {
        agentId: 'a1',
        queues: ['support'],
        registered: true,
        now: s(5),
      }),
    ]);
    const won = results.filter(Boolean);
    expect(won).toHaveLength(1);
    const agent = await r1.agents.get('a1');
    expect(agent).toMatchObject({ state: 'offered', callSid: won[0]?.entry.callSid });
    const line = await r1.queues.list('support', s(6));
    expect(line.filter((e) => e.offeredTo).map((e) => e.callSid)).toEqual([agent.callSid]);
    expect(line.map((e) => e.callSid)).toEqual(['C1', 'C2']);
  });

  it('a second dispatch for a busy-claiming agent waits its turn: the earlier caller wins the agent', async () => {
    // Replica 1 claims C1 for a1 and is slow to commit the agent; replica 2 dispatches a1 meanwhile.
    // If replica 2 could claim C2 and commit first, C2 would jump ahead of C1 (issue #15).
    const [r1, r2] = backend.pair(impl);
    await join(r1.queues, 'C1', s(0));
    await join(r1.queues, 'C2', s(1));
    let commit!: () => void;
    const slow = gated(r1.agents, new Promise<void>((resolve) => (commit = resolve)));
    const request = { agentId: 'a1', queues: ['support'], registered: true, now: s(5) };
    const first = offerNextCaller(slow.store, r1.queues, request);
    await slow.reached;
    const second = await offerNextCaller(r2.agents, r2.queues, request);
    expect(second).toBeUndefined();
    commit();
    expect((await first)?.entry.callSid).toBe('C1');
    expect(await r1.agents.get('a1')).toMatchObject({ state: 'offered', callSid: 'C1' });
    const line = await r2.queues.list('support', s(6));
    expect(line.map((e) => [e.callSid, e.offeredTo])).toEqual([
      ['C1', 'a1'],
      ['C2', undefined],
    ]);
  });

  it('the wrap-up tick frees due agents once, who can then take the next caller', async () => {
    const [r1, r2] = backend.pair(impl);
    await busy(r1.agents, 'a1', 'X1', s(0), 30);
    await busy(r1.agents, 'a2', 'X2', s(0), 90);
    await join(r1.queues, 'C1', s(10));
    expect(await endDueWrapUps(r1.agents, s(29))).toEqual([]);
    const [t1, t2] = await Promise.all([endDueWrapUps(r1.agents, s(30)), endDueWrapUps(r2.agents, s(30))]);
    const freed = [...(t1 ?? []), ...(t2 ?? [])];
    expect(freed.map((t) => t.record.agentId)).toEqual(['a1']);
    expect(freed[0]?.events.map((e) => e.type)).toEqual(['wrap-up-end']);
    const offered = await offerNextCaller(r1.agents, r1.queues, {
      agentId: 'a1',
      queues: ['support'],
      registered: true,
      now: s(31),
    });
    expect(offered?.entry.callSid).toBe('C1');
  });
});

/**
 * `store`, whose first compare-and-set waits for `open` (a replica slow to commit); `reached`
 * resolves when that write is waiting.
 */
function gated(
  store: AgentStateStore,
  open: Promise<void>,
): { store: AgentStateStore; reached: Promise<void> } {
  let reachedResolve!: () => void;
  const reached = new Promise<void>((resolve) => (reachedResolve = resolve));
  let first = true;
  const compareAndSet: AgentStateStore['compareAndSet'] = async (next, expectedVersion) => {
    if (first) {
      first = false;
      reachedResolve();
      await open;
    }
    return store.compareAndSet(next, expectedVersion);
  };
  // Every other method is the store's own (bound: the stores keep private fields).
  const wrapped = new Proxy(store, {
    get(target, key) {
      if (key === 'compareAndSet') return compareAndSet;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: wrapped, reached };
}
