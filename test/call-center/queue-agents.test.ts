import { describe, expect, it } from 'vitest';
import { builtInCallCenter, parseCallCenterFile } from '../../src/call-center/call-center-file.js';
import { agentsOfQueue, queuesOfAgent, resolveQueueMembership } from '../../src/call-center/queue-agents.js';

const roster = [
  { id: 'conn-1', name: 'Alice' },
  { id: 'conn-2', name: 'Bob', tags: ['billing'] },
  { id: 'conn-3', name: 'Carol' },
  { id: 'conn-4', name: 'Dave', tags: ['Night'] },
];

describe('queue membership', () => {
  const config = parseCallCenterFile(
    `tags:
  german: [alice, carol]
queues:
  sales: { agents: [alice] }
  support: { agents: [bob, alice] }
  dach: { agents: ["tag:german"] }
  bills: { agents: [billing] }
  nights: { agents: [tag:night, ghost] }
defaultQueue: support
`,
    'q.yaml',
  );

  it('two queues sharing an agent: the agent serves both, by name (case-insensitive)', () => {
    expect(queuesOfAgent(config, roster, 'conn-1')).toEqual(['sales', 'support', 'dach']);
    expect(agentsOfQueue(config, roster, 'support')).toEqual(['conn-1', 'conn-2']);
  });

  it('by tag: from the file (tag:german) and from the roster (a bare word no agent is named)', () => {
    expect(agentsOfQueue(config, roster, 'dach')).toEqual(['conn-1', 'conn-3']);
    expect(agentsOfQueue(config, roster, 'bills')).toEqual(['conn-2']);
    expect(agentsOfQueue(config, roster, 'nights')).toEqual(['conn-4']);
    expect(queuesOfAgent(config, roster, 'conn-2')).toEqual(['support', 'bills']);
  });

  it('entries that match nobody are reported; an agent in no queue has none', () => {
    const m = resolveQueueMembership(config, roster);
    expect(m.unresolved).toEqual([{ queue: 'nights', entry: 'ghost' }]);
    expect(queuesOfAgent(config, [...roster, { id: 'conn-9', name: 'Eve' }], 'conn-9')).toEqual([]);
    expect(agentsOfQueue(config, roster, 'unknown')).toEqual([]);
  });

  it('follows the roster: a renamed agent leaves the queue that named it', () => {
    const renamed = roster.map((a) => (a.id === 'conn-1' ? { ...a, name: 'Alicia' } : a));
    expect(queuesOfAgent(config, renamed, 'conn-1')).toEqual([]);
  });

  it('without a file every agent serves support', () => {
    expect(agentsOfQueue(builtInCallCenter(), roster, 'support')).toEqual([
      'conn-1',
      'conn-2',
      'conn-3',
      'conn-4',
    ]);
    expect(queuesOfAgent(builtInCallCenter(), roster, 'conn-3')).toEqual(['support']);
  });
});
