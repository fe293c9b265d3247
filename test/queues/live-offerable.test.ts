import { pino } from 'pino';
import { expect, it } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import type { AgentStateStore } from '../../src/agents/agent-state-store.js';
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

const NOW = Date.parse('2026-12-01T10:00:00Z');
const impl: Implementations<AgentStateStore> = {
  memory: () => new MemoryAgentStateStore(),
  redis: (redis) => new RedisAgentStateStore(redis),
};

function center(
  agents: AgentStateStore,
  size: number,
): { center: CallCenter; roster: readonly Agent[]; staticRoster: StaticRoster } {
  const roster = new StaticRoster(
    Array.from({ length: size }, (_, i) => ({ name: `agent${i}`, sip: `sip:agent${i}@sip.telnyx.com` })),
  );
  const c = new CallCenter({
    agents,
    events: new MemoryEventLog(),
    notifier: memoryOutbox(),
    roster,
    log: pino({ level: 'silent' }),
    settings: { wrapUpSeconds: 0, wrapUpOverrides: {}, maxNoAnswer: 3, dialTimeoutSeconds: 20 },
    now: () => NOW,
  });
  return { center: c, roster: roster.current().agents, staticRoster: roster };
}

describeBackends('live offerable set', (backend) => {
  it('follows every offer, answer, end and status change, as a fresh read would', async () => {
    const [storeA, storeB] = backend.pair(impl);
    const { center: a, roster } = center(storeA, 40);
    const { center: b } = center(storeB, 40);
    let seed = 11;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor(seed / 65_536) % n;
    };
    await b.offer('C9', ['agent39'], 'support'); // the store's change counter exists from here on
    const live = await a.liveOfferable(roster);
    for (let step = 0; step < 80; step++) {
      const agent = `agent${rnd(40)}`;
      const sid = `C${rnd(6)}`;
      const replica = rnd(2) ? a : b; // changes from this replica and from another one
      switch (rnd(5)) {
        case 0:
          await replica.offer(sid, [agent], 'support');
          break;
        case 1:
          await replica.answered(agent, sid);
          break;
        case 2:
          await replica.legEnded(agent, sid, { answered: rnd(2) === 1, status: 'completed' });
          break;
        case 3:
          await replica.setStatus(agent, rnd(2) ? 'break' : 'available', undefined, { role: 'supervisor' });
          break;
        default:
          await replica.callEnded(sid, [agent]);
      }
      const now = await a.liveOfferable(roster);
      expect(now).toBe(live); // the same set, updated in place
      expect([...now].sort()).toEqual([...(await b.offerable(roster))].sort());
    }
  });

  it('calls arriving together each get a free agent: one whose offer another call took is routed again', async () => {
    const store = backend.one(impl);
    const { center: c, staticRoster } = center(store, 3);
    const log = pino({ level: 'silent' });
    const router = createRouter({
      store: createMemoryRoutingStore(),
      settings: { strategy: 'longest-idle', sticky: false, stickyThreshold: 0.6, maxTargets: 1 },
      logger: log,
    });
    const pick = offeringPicker(c, router, new QueueDirectory({ roster: staticRoster }), log);
    // All three see the same longest-idle agent first; each must end up with its own.
    const picked = await Promise.all(
      ['C1', 'C2', 'C3'].map((callSid) =>
        pick({ callSid, caller: '+13125550100', round: 1, alreadyRung: [], queue: 'support' }).then(
          (p) => p.agents,
        ),
      ),
    );
    expect(picked.map((targets) => targets.length)).toEqual([1, 1, 1]);
    expect(new Set(picked.map((targets) => targets[0]?.id)).size).toBe(3);
  });

  if (backend.name === 'redis') {
    it('an inbound call reads the agents changed since the last one, not the roster', async () => {
      const client = backend.redis();
      const { center: a, roster } = center(new RedisAgentStateStore(client), 1000);
      const { center: b } = center(backend.one(impl), 1000);
      await b.offer('C0', ['agent5'], 'support'); // every later view of `a` is a delta of a known epoch
      await a.liveOfferable(roster);
      await b.offer('C1', ['agent1', 'agent2'], 'support');
      const sent: { name: string; promise: Promise<unknown> }[] = [];
      const send = client.sendCommand.bind(client);
      client.sendCommand = ((cmd: { name: string; promise: Promise<unknown> }) => {
        sent.push(cmd);
        return send(cmd as never);
      }) as typeof client.sendCommand;
      const set = await a.liveOfferable(roster);
      expect(sent.map((c) => c.name)).toEqual(['evalsha']);
      expect(((await (sent[0] as { promise: Promise<unknown> }).promise) as unknown[]).slice(2, 4)).toEqual([
        'delta',
        ['agent1', 'agent2'],
      ]);
      expect(set.size).toBe(997);
      expect(set.has('agent1') || set.has('agent2') || set.has('agent5')).toBe(false);
    });
  }
});
