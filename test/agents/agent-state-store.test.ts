import { expect, it } from 'vitest';
import { isOfferable } from '../../src/agents/agent-state.js';
import {
  type AgentStateStore,
  type AgentStateView,
  transitionAgent,
} from '../../src/agents/agent-state-store.js';
import { MemoryAgentStateStore } from '../../src/agents/memory-agent-state-store.js';
import { RedisAgentStateStore } from '../../src/agents/redis-agent-state-store.js';
import { describeBackends, type Implementations } from '../support/describe-backends.js';

const NOW = Date.parse('2026-12-01T10:00:00Z');
const impl: Implementations<AgentStateStore> = {
  memory: () => new MemoryAgentStateStore(),
  redis: (redis) => new RedisAgentStateStore(redis),
};

describeBackends('agent state store', (backend) => {
  it('a never-seen agent is available and idle at version 0', async () => {
    const store = backend.one(impl);
    expect(await store.get('a1')).toMatchObject({
      agentId: 'a1',
      status: 'available',
      state: 'idle',
      version: 0,
    });
    expect(await store.all()).toEqual([]);
  });

  it('commits a transition, bumps the version, and a second replica reads it', async () => {
    const [a, b] = backend.pair(impl);
    const t = await transitionAgent(
      a,
      'a1',
      { type: 'status-set', status: 'break', reason: 'lunch', by: 'ann' },
      { now: NOW },
    );
    expect(t.outcome).toBe('applied');
    expect(t.record.version).toBe(1);
    expect(t.events).toHaveLength(1);
    expect(await b.get('a1')).toMatchObject({
      status: 'break',
      reason: 'lunch',
      statusBy: 'ann',
      version: 1,
    });
  });

  it('getMany returns every agent asked for in one read, new ones with defaults', async () => {
    const store = backend.one(impl);
    await transitionAgent(store, 'a2', { type: 'status-set', status: 'offline', by: 'ann' }, { now: NOW });
    const many = await store.getMany(['a1', 'a2', 'a3']);
    expect([...many.keys()]).toEqual(['a1', 'a2', 'a3']);
    expect(many.get('a1')).toMatchObject({ status: 'available', version: 0 });
    expect(many.get('a2')).toMatchObject({ status: 'offline', version: 1 });
    expect((await store.getMany([])).size).toBe(0);
    expect((await store.all()).map((r) => r.agentId)).toEqual(['a2']);
  });

  it('compare-and-set refuses a write computed from an old version', async () => {
    const [a, b] = backend.pair(impl);
    const base = await a.get('a1');
    expect(await a.compareAndSet({ ...base, status: 'offline' }, 0)).toMatchObject({ version: 1 });
    expect(await b.compareAndSet({ ...base, status: 'break' }, 0)).toBeUndefined();
    expect(await b.get('a1')).toMatchObject({ status: 'offline', version: 1 });
  });

  it('two replicas offering two callers to the same free agent: exactly one wins', async () => {
    for (let round = 0; round < 20; round++) {
      const [a, b] = backend.pair(impl);
      const agent = `race${round}`;
      const results = await Promise.all([
        transitionAgent(a, agent, { type: 'offer', callSid: 'C1', registered: true }, { now: NOW }),
        transitionAgent(b, agent, { type: 'offer', callSid: 'C2', registered: true }, { now: NOW }),
      ]);
      const won = results.filter((r) => r.outcome === 'applied');
      expect(won).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'refused').map((r) => r.refusal)).toEqual(['not-idle']);
      const stored = await a.get(agent);
      expect(stored.callSid).toBe(won[0]?.record.callSid);
      expect(stored.version).toBe(1);
    }
  });

  it('the same event from two replicas applies once (the other sees a duplicate)', async () => {
    const [a, b] = backend.pair(impl);
    await transitionAgent(a, 'a1', { type: 'offer', callSid: 'C1', registered: true }, { now: NOW });
    const results = await Promise.all([
      transitionAgent(a, 'a1', { type: 'offer-rang-out', callSid: 'C1' }, { now: NOW }),
      transitionAgent(b, 'a1', { type: 'offer-rang-out', callSid: 'C1' }, { now: NOW }),
    ]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['applied', 'ignored']);
    expect(await a.get('a1')).toMatchObject({ noAnswerStreak: 1, state: 'idle', version: 2 });
  });

  it('files wrap-up deadlines and lists the due ones, earliest first', async () => {
    const store = backend.one(impl);
    for (const [agent, wrapUpSeconds] of [
      ['a1', 30],
      ['a2', 10],
      ['a3', 60],
    ] as const) {
      await transitionAgent(
        store,
        agent,
        { type: 'offer', callSid: `C-${agent}`, registered: true },
        { now: NOW },
      );
      await transitionAgent(store, agent, { type: 'offer-answered', callSid: `C-${agent}` }, { now: NOW });
      await transitionAgent(
        store,
        agent,
        { type: 'call-ended', callSid: `C-${agent}` },
        { now: NOW, wrapUpSeconds },
      );
    }
    expect(await store.dueWrapUps(NOW + 9_999)).toEqual([]);
    expect(await store.dueWrapUps(NOW + 30_000)).toEqual(['a2', 'a1']);
    expect(await store.dueWrapUps(NOW + 60_000, 1)).toEqual(['a2']);

    // The tick ends the due ones; a person ends a3 early: all leave the due set.
    for (const agent of await store.dueWrapUps(NOW + 30_000)) {
      const t = await transitionAgent(
        store,
        agent,
        { type: 'wrap-up-ended', by: 'system' },
        { now: NOW + 30_000 },
      );
      expect(t.events.map((e) => e.type)).toEqual(['wrap-up-end']);
    }
    await transitionAgent(store, 'a3', { type: 'wrap-up-ended', by: 'ann' }, { now: NOW + 31_000 });
    expect(await store.dueWrapUps(NOW + 3_600_000)).toEqual([]);
    const all = await store.getMany(['a1', 'a2', 'a3']);
    expect([...all.values()].every((r) => isOfferable(r, true))).toBe(true);
  });

  it('forget drops an agent and its deadline', async () => {
    const store = backend.one(impl);
    await transitionAgent(store, 'a1', { type: 'offer', callSid: 'C1', registered: true }, { now: NOW });
    await transitionAgent(store, 'a1', { type: 'offer-answered', callSid: 'C1' }, { now: NOW });
    await transitionAgent(store, 'a1', { type: 'call-ended', callSid: 'C1' }, { now: NOW });
    await store.forget(['a1']);
    expect(await store.dueWrapUps(NOW + 3_600_000)).toEqual([]);
    expect(await store.get('a1')).toMatchObject({ state: 'idle', version: 0 });
  });

  it('a view brings the records changed since the last one, and names which agents changed', async () => {
    const [a, b] = backend.pair(impl);
    if (!a.view) throw new Error('both stores keep a view');
    await transitionAgent(b, 'a0', { type: 'status-set', status: 'offline', by: 'ann' }, { now: NOW });
    const first = await a.view();
    expect(first.record('a1')).toMatchObject({ state: 'idle', version: 0 });
    await transitionAgent(b, 'a1', { type: 'offer', callSid: 'C1', registered: true }, { now: NOW });
    await transitionAgent(b, 'a2', { type: 'status-set', status: 'break', by: 'ann' }, { now: NOW });
    const second = await a.view();
    expect(second.record('a1')).toMatchObject({ state: 'offered', callSid: 'C1', version: 1 });
    expect(second.record('a2')).toMatchObject({ status: 'break' });
    expect([...(second.changedSince(first.version) ?? [])].sort()).toEqual(['a1', 'a2']);
    expect(second.changedSince(second.version)).toEqual([]);
    await b.forget(['a1']);
    const third = await a.view();
    expect(third.record('a1')).toMatchObject({ state: 'idle', version: 0 });
    expect(third.changedSince(second.version)).toEqual(['a1']);
    expect(third.changedSince('another-epoch:3')).toBeNull();
  });

  it('commits from what the process saw only through the compare-and-set: a stale view is re-read', async () => {
    const [a, b] = backend.pair(impl);
    await a.view?.();
    // b offers the agent a call; a's memory still says idle.
    await transitionAgent(b, 'a1', { type: 'offer', callSid: 'C1', registered: true }, { now: NOW });
    const t = await transitionAgent(
      a,
      'a1',
      { type: 'offer', callSid: 'C2', registered: true },
      { now: NOW },
    );
    expect(t).toMatchObject({ outcome: 'refused', refusal: 'not-idle' });
    expect(await a.get('a1')).toMatchObject({ callSid: 'C1', version: 1 });
    // An event that does not apply to a stale memory is judged on a fresh read: it applies.
    await a.view?.();
    await transitionAgent(b, 'a1', { type: 'offer-answered', callSid: 'C1' }, { now: NOW });
    const ended = await transitionAgent(a, 'a1', { type: 'call-ended', callSid: 'C1' }, { now: NOW });
    expect(ended.outcome).toBe('applied');
    expect(await b.get('a1')).toMatchObject({ state: 'wrap-up', version: 3 });
  });

  it('an agent dropped and stored again up to the same version is not mistaken for the one seen', async () => {
    const [a, b] = backend.pair(impl);
    await transitionAgent(a, 'a1', { type: 'status-set', status: 'break', by: 'ann' }, { now: NOW });
    await a.view?.(); // a holds a1 at version 1, on break
    await b.forget(['a1']);
    await transitionAgent(b, 'a1', { type: 'offer', callSid: 'C9', registered: true }, { now: NOW });
    // Same version (1), other record: a's commit from its memory must not go through.
    const t = await transitionAgent(
      a,
      'a1',
      { type: 'status-set', status: 'offline', by: 'ann' },
      { now: NOW },
    );
    expect(t.outcome).toBe('applied');
    // Applied to the stored record (offered C9), not to the remembered one (idle, on break).
    expect(await b.get('a1')).toMatchObject({
      status: 'offline',
      state: 'offered',
      callSid: 'C9',
      version: 2,
    });
  });

  if (backend.name === 'redis') {
    it('a view reads only the changed records, in one round trip', async () => {
      const b = backend.one(impl);
      const client = backend.redis();
      const a = new RedisAgentStateStore(client);
      for (let i = 0; i < 300; i++)
        await transitionAgent(b, `agent${i}`, { type: 'status-set', status: 'break', by: 'x' }, { now: NOW });
      const first = await a.view();
      await transitionAgent(b, 'agent7', { type: 'status-set', status: 'available', by: 'x' }, { now: NOW });
      const sent: { name: string; promise: Promise<unknown> }[] = [];
      const send = client.sendCommand.bind(client);
      client.sendCommand = ((cmd: { name: string; promise: Promise<unknown> }) => {
        sent.push(cmd);
        return send(cmd as never);
      }) as typeof client.sendCommand;
      const second = await a.view();
      expect(sent.map((c) => c.name)).toEqual(['evalsha']);
      // The reply: epoch, counter, 'delta', the changed ids, their records — one of 300.
      const reply = (await (sent[0] as { promise: Promise<unknown> }).promise) as unknown[];
      expect(reply.slice(2, 4)).toEqual(['delta', ['agent7']]);
      expect(second.changedSince(first.version)).toEqual(['agent7']);
      expect(second.record('agent7').status).toBe('available');
      expect(second.record('agent8').status).toBe('break');
    });

    it('after Redis lost its data, a view starts over', async () => {
      const [a, b] = backend.pair(impl);
      await transitionAgent(b, 'a1', { type: 'status-set', status: 'break', by: 'x' }, { now: NOW });
      const before = await (a.view?.() as Promise<AgentStateView>);
      expect(before.record('a1').status).toBe('break');
      const raw = backend.redis();
      await raw.del('agents:{agents}:state', 'agents:{agents}:changes', 'agents:{agents}:changed');
      await transitionAgent(b, 'a2', { type: 'status-set', status: 'offline', by: 'x' }, { now: NOW });
      const after = await (a.view?.() as Promise<AgentStateView>);
      expect(after.record('a1')).toMatchObject({ status: 'available', version: 0 });
      expect(after.record('a2').status).toBe('offline');
      expect(after.changedSince(before.version)).toBeNull();
    });

    it('keeps the roster in one hash tag, with no expiry on a status set by a person', async () => {
      const store = backend.one(impl);
      await transitionAgent(
        store,
        'a1',
        { type: 'status-set', status: 'break', reason: 'x', by: 'ann' },
        { now: NOW },
      );
      await transitionAgent(store, 'a2', { type: 'offer', callSid: 'C1', registered: true }, { now: NOW });
      await transitionAgent(store, 'a2', { type: 'offer-answered', callSid: 'C1' }, { now: NOW });
      await transitionAgent(store, 'a2', { type: 'call-ended', callSid: 'C1' }, { now: NOW });
      const raw = backend.redis();
      // ioredis does not prefix KEYS patterns; it answers with full key names.
      const prefix = raw.options.keyPrefix ?? '';
      expect((await raw.keys(`${prefix}*`)).sort()).toEqual([
        `${prefix}agents:{agents}:changed`,
        `${prefix}agents:{agents}:changes`,
        `${prefix}agents:{agents}:state`,
        `${prefix}agents:{agents}:wrap-up-due`,
      ]);
      expect(await raw.ttl('agents:{agents}:state')).toBe(-1);
      // The change log holds one member per agent, however many changes it saw.
      expect(await raw.zcard('agents:{agents}:changed')).toBe(2);
    });
  }
});
