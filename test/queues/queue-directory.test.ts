import { describe, expect, it } from 'vitest';
import type { Agent, Roster, RosterSnapshot } from '../../src/agents/agent.js';
import { type CallCenterConfig, parseCallCenterFile } from '../../src/call-center/call-center-file.js';
import type { CallCenterConfigSource } from '../../src/call-center/call-center-source.js';
import { QueueDirectory } from '../../src/queues/queue-directory.js';
import { DEFAULT_QUEUE_SETTINGS } from '../../src/queues/queue-settings.js';

const agent = (name: string, online = true): Agent => ({
  id: `id-${name}`,
  name,
  sip: `sip:${name}@sip.telnyx.com`,
  online,
  source: 'static',
});

/** A roster and a file source whose current value the test swaps, as a sync or a reload would. */
function setup(file: string, agents: Agent[]) {
  let snapshot: RosterSnapshot = { version: 1, agents };
  let config: CallCenterConfig = parseCallCenterFile(file, 'test.yaml');
  const roster: Roster = { current: () => snapshot, bySip: () => undefined };
  const source: CallCenterConfigSource = {
    current: () => config,
    onChange: () => () => undefined,
    close: async () => undefined,
  };
  return {
    roster,
    source,
    setAgents: (next: Agent[]) => {
      snapshot = { version: snapshot.version + 1, agents: next };
    },
    setFile: (text: string) => {
      config = parseCallCenterFile(text, 'test.yaml');
    },
  };
}

const FILE = `
tags: { german: [carol] }
queues:
  sales:
    agents: [bob, alice]
    strategy: longest-idle
    holdMusic: sales-music
    announceSeconds: 45
    maxWaitSeconds: 300
    maxWaiting: 5
    callbacks: false
    wrapUpSeconds: 90
  support: { agents: [bob, "tag:german"] }
defaultQueue: support
`;

describe('QueueDirectory (the call-center file against the roster)', () => {
  it("each queue's agents in roster order, each agent's queues in file order, the queue's strategy and wrap-up", () => {
    const t = setup(FILE, [agent('alice'), agent('bob'), agent('carol'), agent('dave')]);
    const d = new QueueDirectory({ roster: t.roster, source: t.source });
    expect(d.names()).toEqual(['sales', 'support']);
    expect(d.defaultQueue()).toBe('support');
    expect(d.agentsOf('sales').map((a) => a.name)).toEqual(['alice', 'bob']);
    expect(d.agentsOf('support').map((a) => a.name)).toEqual(['bob', 'carol']);
    expect(d.agentsOf('nowhere')).toEqual([]);
    expect(d.queuesOf('id-bob')).toEqual(['sales', 'support']);
    expect(d.queuesOf('id-dave')).toEqual([]);
    expect(d.strategy('sales')).toBe('longest-idle');
    expect(d.strategy('support')).toBeUndefined();
    expect(d.wrapUpSeconds('sales')).toBe(90);
    expect(d.wrapUpSeconds('support')).toBeUndefined();
  });

  it("the queue's settings from the file; the defaults for a queue it does not have; test overrides win", () => {
    const t = setup(FILE, [agent('bob')]);
    const d = new QueueDirectory({ roster: t.roster, source: t.source });
    expect(d.settings('sales')).toEqual({
      ...DEFAULT_QUEUE_SETTINGS,
      announceSeconds: 45,
      maxWaitSeconds: 300,
      maxWaiting: 5,
      holdMusic: 'sales-music',
      callbacks: false,
    });
    expect(d.settings('support')).toMatchObject({ ...DEFAULT_QUEUE_SETTINGS, holdMusic: 'hold-music' });
    expect(d.settings('gone')).toEqual(DEFAULT_QUEUE_SETTINGS);
    const short = new QueueDirectory({
      roster: t.roster,
      source: t.source,
      overrides: { announceSeconds: 10 },
    });
    expect(short.settings('sales').announceSeconds).toBe(10);
  });

  it('follows a roster change and a reloaded file, and is the built-in support queue of everyone without a file', () => {
    const t = setup(FILE, [agent('alice'), agent('bob')]);
    const d = new QueueDirectory({ roster: t.roster, source: t.source });
    expect(d.agentsOf('support').map((a) => a.name)).toEqual(['bob']);
    t.setAgents([agent('alice'), agent('bob'), agent('carol', false)]);
    const support = d.agentsOf('support');
    expect(support.map((a) => [a.name, a.online])).toEqual([
      ['bob', true],
      ['carol', false],
    ]);
    expect(d.agentsOf('support')).toBe(support); // cached until the next change
    t.setFile('queues:\n  billing: { agents: [alice] }\n');
    expect(d.names()).toEqual(['billing']);
    expect(d.queuesOf('id-bob')).toEqual([]);

    const builtIn = new QueueDirectory({ roster: t.roster });
    expect(builtIn.names()).toEqual(['support']);
    expect(builtIn.agentsOf('support').map((a) => a.name)).toEqual(['alice', 'bob', 'carol']);
    expect(builtIn.settings('support')).toMatchObject(DEFAULT_QUEUE_SETTINGS);
  });
});
