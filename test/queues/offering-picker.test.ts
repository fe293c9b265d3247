import { pino } from 'pino';
import { expect, it } from 'vitest';
import type { AgentStateStore } from '../../src/agents/agent-state-store.js';
import { transitionAgent } from '../../src/agents/agent-state-store.js';
import { MemoryAgentStateStore } from '../../src/agents/memory-agent-state-store.js';
import { RedisAgentStateStore } from '../../src/agents/redis-agent-state-store.js';
import { StaticRoster } from '../../src/agents/static-roster.js';
import { MemoryEventLog } from '../../src/events/memory-event-log.js';
import { CallCenter, offeringPicker } from '../../src/queues/call-center.js';
import { QueueDirectory } from '../../src/queues/queue-directory.js';
import { createMemoryRoutingStore } from '../../src/routing/memory-routing-store.js';
import { createRouter } from '../../src/routing/router.js';
import { memoryOutbox } from '../alerts/outboxes.js';
import { describeBackends, type Implementations } from '../support/describe-backends.js';

/**
 * The picker of the call flow over the agent states (docs/interface.md §5.1): a free preferred
 * agent is a sticky round (offer committed); an engaged one means "wait for them", but only when
 * the flow can hold the caller; on break, the strategy.
 */

const CALLER = '+13125550100';
const log = pino({ level: 'silent' });
const impl: Implementations<AgentStateStore> = {
  memory: () => new MemoryAgentStateStore(),
  redis: (redis) => new RedisAgentStateStore(redis),
};

describeBackends('offering picker', (backend) => {
  const setup = async (names = ['Alice', 'Bob']) => {
    const agents = backend.one(impl);
    const roster = new StaticRoster(
      names.map((name) => ({ name, sip: `sip:${name.toLowerCase()}@sip.telnyx.com` })),
    );
    const center = new CallCenter({
      agents,
      events: new MemoryEventLog(),
      notifier: memoryOutbox(),
      roster,
      log,
      settings: { wrapUpSeconds: 0, wrapUpOverrides: {}, maxNoAnswer: 3, dialTimeoutSeconds: 20 },
    });
    const routing = createMemoryRoutingStore();
    await routing.recordAnswer('seed-1', CALLER, 'Alice');
    await routing.recordAnswer('seed-2', CALLER, 'Alice');
    const router = createRouter({
      store: routing,
      settings: { strategy: 'longest-idle', sticky: true, stickyThreshold: 0.6, maxTargets: 10 },
      logger: log,
    });
    return { agents, center, pick: offeringPicker(center, router, new QueueDirectory({ roster }), log) };
  };
  const input = (callSid: string, waitForPreferred: boolean) => ({
    callSid,
    caller: CALLER,
    round: 1,
    alreadyRung: [],
    waitForPreferred,
    queue: 'support',
  });

  it('a free preferred agent: a sticky round, her offer committed', async () => {
    const { agents, pick } = await setup();
    const round = await pick(input('CA1', true));
    expect({ ids: round.agents.map((a) => a.id), sticky: round.sticky }).toEqual({
      ids: ['Alice'],
      sticky: true,
    });
    expect(await agents.get('Alice')).toMatchObject({ state: 'offered', callSid: 'CA1' });
  });

  it('an engaged preferred agent: wait for her (nobody offered), or the strategy when the flow cannot wait', async () => {
    const { agents, pick } = await setup();
    await transitionAgent(agents, 'Alice', { type: 'offer', callSid: 'OTHER', registered: true }, { now: 1 });
    await transitionAgent(agents, 'Alice', { type: 'offer-answered', callSid: 'OTHER' }, { now: 2 });
    expect(await pick(input('CA2', true))).toEqual({ agents: [], preferred: 'Alice' });
    expect((await agents.get('Bob')).state).toBe('idle');

    const round = await pick(input('CA2', false));
    expect({ ids: round.agents.map((a) => a.id), sticky: round.sticky }).toEqual({
      ids: ['Bob'],
      sticky: false,
    });
    expect(await agents.get('Bob')).toMatchObject({ state: 'offered', callSid: 'CA2' });
  });

  it('a preferred agent on break is not waited for', async () => {
    const { agents, pick } = await setup();
    await transitionAgent(
      agents,
      'Alice',
      { type: 'status-set', status: 'break', reason: 'lunch', by: 'Alice' },
      { now: 1 },
    );
    const round = await pick(input('CA3', true));
    expect({ ids: round.agents.map((a) => a.id), preferred: round.preferred }).toEqual({
      ids: ['Bob'],
      preferred: undefined,
    });
  });

  it('callers arriving together each get their own free agent, none queued (longest-idle, one replica)', async () => {
    const names = ['Ann', 'Ben', 'Cat', 'Dan', 'Eve', 'Fay', 'Gus', 'Hal'];
    const { agents, pick } = await setup(names);
    // Every decision reads the same agent states: without reservations they all choose the same
    // longest-idle agent, one offer commits per attempt, and the rest wait in the queue.
    const rounds = await Promise.all(
      names.map((_, i) =>
        pick({ callSid: `CB${i}`, caller: `+1312555020${i}`, round: 1, alreadyRung: [], queue: 'support' }),
      ),
    );
    const picked = rounds.map((r) => r.agents.map((a) => a.id));
    expect(picked.every((ids) => ids.length === 1)).toBe(true);
    expect(new Set(picked.flat()).size).toBe(names.length);
    for (const [i, ids] of picked.entries())
      expect(await agents.get(ids[0] as string)).toMatchObject({ state: 'offered', callSid: `CB${i}` });
    // A ninth caller finds nobody free: an empty round (the queue), and no reservation is left
    // behind once everyone's offer settled (a freed agent is picked again at once).
    expect(
      (await pick({ callSid: 'CB9', caller: '+13125550299', round: 1, alreadyRung: [], queue: 'support' }))
        .agents,
    ).toEqual([]);
    await transitionAgent(
      agents,
      picked[0]![0] as string,
      { type: 'offer-cancelled', callSid: 'CB0' },
      { now: 5 },
    );
    const again = await pick({
      callSid: 'CB10',
      caller: '+13125550298',
      round: 1,
      alreadyRung: [],
      queue: 'support',
    });
    expect(again.agents.map((a) => a.id)).toEqual(picked[0]);
  });
});
