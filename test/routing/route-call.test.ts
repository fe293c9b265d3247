import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RoutingStrategy } from '../../src/config.js';
import {
  isWithheld,
  preferredAgent,
  type RoutingAgent,
  type RoutingInput,
  type RoutingReason,
  routeCall,
  withPresence,
} from '../../src/routing/route-call.js';
import { seededRandom } from '../support/seeded-random.js';

/** A deterministic RNG (mulberry32), so "random" cases are reproducible. */

const agent = (id: string, extra: Partial<RoutingAgent> = {}): RoutingAgent => ({
  id,
  name: id.toUpperCase(),
  sip: `sip:${id}@sip.telnyx.com`,
  online: true,
  ...extra,
});

const T0 = 1_750_000_000_000;
/** a, b, c online; idle since a = oldest … c = newest. */
const abc = (): RoutingAgent[] => [
  agent('a', { idleSince: T0 }),
  agent('b', { idleSince: T0 + 1000 }),
  agent('c', { idleSince: T0 + 2000 }),
];

const base = (over: Partial<RoutingInput> = {}): RoutingInput => ({
  caller: '+13125550100',
  history: {},
  agents: abc(),
  strategy: 'longest-idle',
  round: 1,
  alreadyRung: [],
  rotation: 0,
  sticky: true,
  threshold: 0.6,
  maxTargets: 10,
  rng: () => 0,
  ...over,
});

interface Case {
  name: string;
  input: Partial<RoutingInput>;
  targets: string[];
  reason: RoutingReason;
}

// Longest-idle would pick `a` (oldest leg end), so a sticky pick of b or c is visibly different.
const cases: Case[] = [
  // --- sticky rule ---
  { name: 'no history → strategy', input: {}, targets: ['a'], reason: 'strategy' },
  {
    name: 'one answered call (1 of 1 = 100 %) → sticky',
    input: { history: { c: 1 } },
    targets: ['c'],
    reason: 'sticky',
  },
  { name: '2 of 3 → sticky', input: { history: { c: 2, b: 1 } }, targets: ['c'], reason: 'sticky' },
  {
    name: '3 of 5 (exactly 60 %) → not sticky',
    input: { history: { c: 3, b: 2 } },
    targets: ['a'],
    reason: 'strategy',
  },
  { name: '4 of 6 (66.7 %) → sticky', input: { history: { c: 4, b: 2 } }, targets: ['c'], reason: 'sticky' },
  { name: 'tie 2/2 → not sticky', input: { history: { c: 2, b: 2 } }, targets: ['a'], reason: 'strategy' },
  {
    name: 'tie at the top with a low threshold → not sticky',
    input: { history: { c: 2, b: 2, a: 1 }, threshold: 0.3 },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'three agents at 3/1/1 (60 %) → not sticky at 0.6',
    input: { history: { c: 3, b: 1, a: 1 } },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'three agents at 3/1/1 → sticky at 0.5',
    input: { history: { c: 3, b: 1, a: 1 }, threshold: 0.5 },
    targets: ['c'],
    reason: 'sticky',
  },
  {
    name: 'an offline agent counts in the total: c 2 of 4 (x offline has 2) → not sticky',
    input: { history: { c: 2, x: 2 }, agents: [...abc(), agent('x', { online: false })] },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'a removed agent counts in the total: c 3 of 5 (gone has 2) → not sticky',
    input: { history: { c: 3, gone: 2 } },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'offline preferred agent → strategy',
    input: { history: { x: 5 }, agents: [...abc(), agent('x', { online: false })] },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'busy preferred agent → strategy',
    input: { history: { c: 5 }, agents: [agent('a'), agent('b'), agent('c', { busy: true })] },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'engaged preferred agent (on a call, available) → nobody rings: wait for them (§5.1)',
    input: { history: { c: 5 }, agents: [agent('a'), agent('b'), agent('c', { busy: true, engaged: true })] },
    targets: [],
    reason: 'preferred-busy',
  },
  {
    name: 'engaged preferred agent with everyone else busy → still wait for them',
    input: {
      history: { c: 5 },
      agents: [agent('a', { busy: true }), agent('c', { busy: true, engaged: true })],
    },
    targets: [],
    reason: 'preferred-busy',
  },
  {
    name: 'engaged but offline preferred agent → strategy',
    input: {
      history: { c: 5 },
      agents: [agent('a'), agent('c', { online: false, busy: true, engaged: true })],
    },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'engaged preferred agent in round 2 → strategy (sticky is round 1 only)',
    input: {
      history: { c: 5 },
      round: 2,
      agents: [agent('a'), agent('b'), agent('c', { busy: true, engaged: true })],
    },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'engaged agent who is not preferred → strategy',
    input: { history: { c: 1, b: 1 }, agents: [agent('a'), agent('c', { busy: true, engaged: true })] },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'preferred agent is no longer in the roster → strategy',
    input: { history: { gone: 5 } },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'sticky only in round 1',
    input: { history: { c: 5 }, round: 2 },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'round 2 after a sticky round 1 does not ring the preferred agent again',
    input: { history: { a: 5 }, round: 2, alreadyRung: ['a'] },
    targets: ['b'],
    reason: 'strategy',
  },
  {
    name: 'STICKY_ROUTING=false',
    input: { history: { c: 5 }, sticky: false },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'sticky beats ring-all in round 1',
    input: { history: { b: 9 }, strategy: 'ring-all' },
    targets: ['b'],
    reason: 'sticky',
  },
  {
    name: 'zero and negative counts are ignored',
    input: { history: { c: 1, b: 0, a: -4 } },
    targets: ['c'],
    reason: 'sticky',
  },
  // --- withheld callers never use history ---
  ...[
    '',
    '  ',
    'anonymous',
    'Anonymous',
    'ANONYMOUS',
    'restricted',
    'Restricted',
    'private',
    'PRIVATE',
    'unknown',
    'Unknown',
  ].map(
    (caller): Case => ({
      name: `withheld caller ${JSON.stringify(caller)} → no sticky`,
      input: { caller, history: { c: 9 } },
      targets: ['a'],
      reason: 'strategy',
    }),
  ),
  {
    name: 'missing caller → no sticky',
    input: { caller: undefined, history: { c: 9 } },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'anonymous SIP URI → no sticky',
    input: { caller: 'sip:Anonymous@anonymous.invalid', history: { c: 9 } },
    targets: ['a'],
    reason: 'strategy',
  },
  // --- nobody to ring ---
  { name: 'empty roster', input: { agents: [] }, targets: [], reason: 'no-agent-online' },
  {
    name: 'nobody online (even with a sticky agent)',
    input: { agents: abc().map((a) => ({ ...a, online: false })), history: { c: 9 } },
    targets: [],
    reason: 'no-agent-online',
  },
  {
    name: 'everyone online is busy (ring-all too)',
    input: {
      strategy: 'ring-all',
      agents: [agent('a', { busy: true }), agent('b', { busy: true }), agent('c', { online: false })],
    },
    targets: [],
    reason: 'all-agents-busy',
  },
  // --- ring-all ---
  {
    name: 'ring-all: every online free agent, longest idle first',
    input: {
      strategy: 'ring-all',
      agents: [
        agent('a', { idleSince: T0 + 500 }),
        agent('b', { idleSince: T0 + 100 }),
        agent('c'),
        agent('d', { online: false }),
        agent('e', { busy: true }),
      ],
    },
    targets: ['c', 'b', 'a'],
    reason: 'strategy',
  },
  {
    name: 'ring-all: capped at maxTargets, never-used agents first, ties by name',
    input: {
      strategy: 'ring-all',
      maxTargets: 3,
      agents: [
        agent('a', { idleSince: T0 }),
        agent('z', { name: 'Zed' }),
        agent('y', { name: 'Amy' }),
        agent('b', { idleSince: T0 }),
        agent('c', { idleSince: T0 - 1 }),
      ],
    },
    targets: ['y', 'z', 'c'],
    reason: 'strategy',
  },
  {
    name: 'ring-all round 2: the agents the cap left out',
    input: {
      strategy: 'ring-all',
      maxTargets: 2,
      round: 2,
      alreadyRung: ['a', 'b'],
      agents: [...abc(), agent('d', { idleSince: T0 + 3000 })],
    },
    targets: ['c', 'd'],
    reason: 'strategy',
  },
  {
    name: 'ring-all round 2 with everyone rung: everyone again',
    input: { strategy: 'ring-all', round: 2, alreadyRung: ['a', 'b', 'c'] },
    targets: ['a', 'b', 'c'],
    reason: 'strategy',
  },
  // --- longest-idle ---
  {
    name: 'longest-idle: the oldest leg end',
    input: { strategy: 'longest-idle' },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'longest-idle: a never-used agent beats any idle time',
    input: { agents: [...abc(), agent('n')] },
    targets: ['n'],
    reason: 'strategy',
  },
  {
    name: 'longest-idle: equal idle times broken by name',
    input: {
      agents: [agent('q', { name: 'Bea', idleSince: T0 }), agent('p', { name: 'Ann', idleSince: T0 })],
    },
    targets: ['p'],
    reason: 'strategy',
  },
  {
    name: 'longest-idle: equal names broken by id',
    input: { agents: [agent('q', { name: 'Sam' }), agent('p', { name: 'Sam' })] },
    targets: ['p'],
    reason: 'strategy',
  },
  {
    name: 'longest-idle: skips busy and offline agents',
    input: {
      agents: [
        agent('a', { idleSince: T0, busy: true }),
        agent('n', { online: false }),
        agent('b', { idleSince: T0 + 5 }),
      ],
    },
    targets: ['b'],
    reason: 'strategy',
  },
  {
    name: 'longest-idle round 2: the next one, not the same agent',
    input: { round: 2, alreadyRung: ['a'] },
    targets: ['b'],
    reason: 'strategy',
  },
  {
    name: 'longest-idle: all rung → start over',
    input: { round: 4, alreadyRung: ['a', 'b', 'c'] },
    targets: ['a'],
    reason: 'strategy',
  },
  // --- fewest-calls (answered calls today; ties by longest idle, then name) ---
  {
    name: 'fewest-calls: the agent with the fewest answered calls today, not the longest idle',
    input: { strategy: 'fewest-calls', answeredToday: { a: 3, b: 1, c: 2 } },
    targets: ['b'],
    reason: 'strategy',
  },
  {
    name: 'fewest-calls: an agent absent from the counts answered none today',
    input: { strategy: 'fewest-calls', answeredToday: { a: 1, b: 1 } },
    targets: ['c'],
    reason: 'strategy',
  },
  {
    name: 'fewest-calls: a tie goes to the longest idle',
    input: { strategy: 'fewest-calls', answeredToday: { a: 2, b: 1, c: 1 } },
    targets: ['b'],
    reason: 'strategy',
  },
  {
    name: 'fewest-calls: a tie with equal idle times goes by name',
    input: {
      strategy: 'fewest-calls',
      agents: [agent('q', { name: 'Bea', idleSince: T0 }), agent('p', { name: 'Ann', idleSince: T0 })],
      answeredToday: { q: 4, p: 4 },
    },
    targets: ['p'],
    reason: 'strategy',
  },
  {
    name: 'fewest-calls: counts unknown → longest idle',
    input: { strategy: 'fewest-calls' },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'fewest-calls: skips busy and offline agents however few their calls',
    input: {
      strategy: 'fewest-calls',
      agents: [
        agent('a', { idleSince: T0, busy: true }),
        agent('n', { online: false }),
        agent('b', { idleSince: T0 + 5 }),
        agent('c', { idleSince: T0 + 9 }),
      ],
      answeredToday: { b: 5, c: 6 },
    },
    targets: ['b'],
    reason: 'strategy',
  },
  {
    name: 'fewest-calls round 2: the next fewest, not the agent already rung',
    input: { strategy: 'fewest-calls', round: 2, alreadyRung: ['b'], answeredToday: { a: 3, b: 0, c: 2 } },
    targets: ['c'],
    reason: 'strategy',
  },
  {
    name: 'fewest-calls: a caller sticky to an agent with many calls still gets that agent',
    input: { strategy: 'fewest-calls', history: { a: 2 }, answeredToday: { a: 9 } },
    targets: ['a'],
    reason: 'sticky',
  },
  {
    name: "fewest-calls: an agent id like '__proto__' is counted as data",
    input: {
      strategy: 'fewest-calls',
      agents: [agent('__proto__', { idleSince: T0 }), agent('b', { idleSince: T0 + 1 })],
      answeredToday: Object.assign(Object.create(null), { ['__proto__']: 2, b: 1 }),
    },
    targets: ['b'],
    reason: 'strategy',
  },
  // --- round-robin (ring in name order: A, B, C) ---
  ...[0, 1, 2, 3, 4, 5].map(
    (rotation): Case => ({
      name: `round-robin: rotation ${rotation} → ${'abc'[rotation % 3]}`,
      input: { strategy: 'round-robin', rotation },
      targets: ['abc'[rotation % 3]!],
      reason: 'strategy',
    }),
  ),
  {
    name: 'round-robin: a negative counter still lands on the ring',
    input: { strategy: 'round-robin', rotation: -1 },
    targets: ['c'],
    reason: 'strategy',
  },
  {
    name: 'round-robin: ring order is by name, not roster order',
    input: {
      strategy: 'round-robin',
      rotation: 0,
      agents: [agent('x', { name: 'Zoe' }), agent('y', { name: 'Al' })],
    },
    targets: ['y'],
    reason: 'strategy',
  },
  {
    name: 'round-robin: skips an agent already rung in this call',
    input: { strategy: 'round-robin', rotation: 1, round: 2, alreadyRung: ['b'] },
    targets: ['c'],
    reason: 'strategy',
  },
  {
    name: 'round-robin: busy agents are not on the ring (B, C)',
    input: {
      strategy: 'round-robin',
      rotation: 2,
      agents: [agent('a'), agent('b', { busy: true }), agent('c')],
    },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'round-robin: all rung → the rotation start again',
    input: { strategy: 'round-robin', rotation: 1, round: 4, alreadyRung: ['a', 'b', 'c'] },
    targets: ['b'],
    reason: 'strategy',
  },
  // --- random (seeded) ---
  {
    name: 'random: rng 0 → first',
    input: { strategy: 'random', rng: () => 0 },
    targets: ['a'],
    reason: 'strategy',
  },
  {
    name: 'random: rng 0.5 → middle',
    input: { strategy: 'random', rng: () => 0.5 },
    targets: ['b'],
    reason: 'strategy',
  },
  {
    name: 'random: rng just below 1 → last',
    input: { strategy: 'random', rng: () => 0.9999999 },
    targets: ['c'],
    reason: 'strategy',
  },
  {
    name: 'random: an out-of-range rng is clamped',
    input: { strategy: 'random', rng: () => 1 },
    targets: ['c'],
    reason: 'strategy',
  },
  {
    name: 'random: only among the not-yet-rung',
    input: { strategy: 'random', rng: () => 0, round: 2, alreadyRung: ['a'] },
    targets: ['b'],
    reason: 'strategy',
  },
  {
    name: 'random: skips busy agents',
    input: { strategy: 'random', rng: () => 0, agents: [agent('a', { busy: true }), agent('b')] },
    targets: ['b'],
    reason: 'strategy',
  },
];

describe('routeCall', () => {
  it.each(cases)('$name', ({ input, targets, reason }) => {
    const decision = routeCall(base(input));
    expect({ targets: decision.targets.map((a) => a.id), reason: decision.reason }).toEqual({
      targets,
      reason,
    });
  });

  it('random with a seeded rng reaches every agent and repeats the same sequence for the same seed', () => {
    const pick = (seed: number) => {
      const rng = seededRandom(seed);
      return Array.from({ length: 60 }, () => routeCall(base({ strategy: 'random', rng })).targets[0]!.id);
    };
    const first = pick(42);
    expect(pick(42)).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['a', 'b', 'c']));
  });

  it('round-robin spreads consecutive calls (one counter value each) evenly over the agents', () => {
    const agents = ['d', 'a', 'c', 'b'].map((id) => agent(id));
    const counts = new Map<string, number>();
    for (let rotation = 1; rotation <= 40; rotation++) {
      const id = routeCall(base({ strategy: 'round-robin', agents, rotation })).targets[0]!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ a: 10, b: 10, c: 10, d: 10 });
  });

  it('a whole call walks through every agent once before ringing anyone twice, for each single-agent strategy', () => {
    for (const strategy of ['round-robin', 'longest-idle', 'fewest-calls', 'random'] as const) {
      const rng = seededRandom(7);
      const rung: string[] = [];
      for (let round = 1; round <= 5; round++) {
        const [target] = routeCall(base({ strategy, rng, round, alreadyRung: rung, rotation: 11 })).targets;
        rung.push(target!.id);
      }
      expect(new Set(rung.slice(0, 3)), strategy).toEqual(new Set(['a', 'b', 'c']));
    }
  });

  const arbitraryInput = fc.record({
    agents: fc.uniqueArray(
      fc.record({
        id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
        name: fc.constantFrom('Ann', 'Bob', 'Cy'),
        online: fc.boolean(),
        busy: fc.boolean(),
        idleSince: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
      }),
      { selector: (a) => a.id, maxLength: 6 },
    ),
    history: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'x'), fc.integer({ min: 0, max: 6 })),
    strategy: fc.constantFrom<RoutingStrategy>(
      'ring-all',
      'round-robin',
      'longest-idle',
      'fewest-calls',
      'random',
    ),
    answeredToday: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'x'), fc.integer({ min: 0, max: 6 })),
    round: fc.integer({ min: 1, max: 4 }),
    alreadyRung: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f')),
    rotation: fc.integer({ min: -5, max: 50 }),
    sticky: fc.boolean(),
    maxTargets: fc.integer({ min: 1, max: 4 }),
    r: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  });

  it('properties: only online free agents, no repeats until all tried, the cap, one agent for single strategies', () => {
    fc.assert(
      fc.property(arbitraryInput, (p) => {
        const agents = p.agents.map((a) => ({ ...a, sip: `sip:${a.id}@x` }));
        const decision = routeCall(base({ ...p, agents, rng: () => p.r }));
        const ids = decision.targets.map((a) => a.id);
        const free = agents.filter((a) => a.online && !a.busy).map((a) => a.id);
        const untried = free.filter((id) => !p.alreadyRung.includes(id));
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of ids) expect(free).toContain(id);
        if (untried.length > 0) for (const id of ids) expect(untried).toContain(id);
        expect(decision.targets.length === 0).toBe(free.length === 0);
        if (decision.reason === 'sticky') expect(p.round).toBe(1);
        if (p.strategy === 'fewest-calls' && decision.reason === 'strategy') {
          // Nobody it could have rung answered fewer calls today.
          const count = (id: string) => p.answeredToday[id] ?? 0;
          for (const id of untried.length ? untried : free)
            expect(count(id)).toBeGreaterThanOrEqual(count(ids[0]!));
        }
        if (p.strategy === 'ring-all' && decision.reason === 'strategy') {
          expect(ids.length).toBe(Math.min(p.maxTargets, untried.length || free.length));
        } else if (free.length > 0) {
          expect(ids.length).toBe(1);
        }
      }),
    );
  });
});

describe('isWithheld', () => {
  it.each([
    [undefined, true],
    [null, true],
    ['', true],
    [' ', true],
    ['anonymous', true],
    ['Anonymous', true],
    ['RESTRICTED', true],
    ['Private', true],
    ['unknown', true],
    ['sip:anonymous@anonymous.invalid', true],
    ['sips:Restricted@example.com', true],
    ['+13125550100', false],
    ['sip:alice@example.com', false],
    ['anonymous-caller', false],
  ])('%j → %s', (caller, expected) => {
    expect(isWithheld(caller)).toBe(expected);
  });
});

describe('preferredAgent', () => {
  it.each([
    [{}, 0.6, undefined],
    [{ a: 1 }, 0.6, 'a'],
    [{ a: 2, b: 1 }, 0.6, 'a'],
    [{ a: 3, b: 2 }, 0.6, undefined],
    [{ a: 3, b: 1, c: 1 }, 0.6, undefined],
    [{ a: 7, b: 3 }, 0.7, undefined],
    [{ a: 3, b: 7 }, 0.3, 'b'],
    [{ a: 1, b: 1 }, 0, undefined],
    [{ a: 1 }, 1, undefined],
  ])('%j at %s → %s', (history, threshold, expected) => {
    expect(preferredAgent(history, threshold)).toBe(expected);
  });
});

describe('withPresence', () => {
  it('adds idle times and busy flags by id, leaving unknown agents never-used and free', () => {
    const agents = [agent('a'), agent('__proto__')];
    const idle = Object.create(null) as Record<string, number>;
    idle.a = 5;
    expect(
      withPresence(agents, { idle, busy: new Set(['a']) }).map((a) => [a.id, a.idleSince, a.busy]),
    ).toEqual([
      ['a', 5, true],
      ['__proto__', undefined, false],
    ]);
  });
});
