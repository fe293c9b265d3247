import { describe, expect, it } from 'vitest';
import {
  type AgentEvent,
  type AgentRecord,
  applyAgentEvent,
  isOfferable,
  newAgentRecord,
} from '../../src/agents/agent-state.js';

const NOW = Date.parse('2026-12-01T10:00:00Z');
const rules = { now: NOW, wrapUpSeconds: 30, maxNoAnswer: 3 };

const idle = newAgentRecord('a1');
const offered: AgentRecord = {
  ...idle,
  state: 'offered',
  stateAt: NOW - 5_000,
  callSid: 'C1',
  queue: 'sales',
};
const onCall: AgentRecord = { ...offered, state: 'on-call' };
const wrapUp: AgentRecord = { ...onCall, state: 'wrap-up', wrapUpUntil: NOW + 10_000 };
const onBreak: AgentRecord = { ...idle, status: 'break', reason: 'lunch', statusBy: 'ann' };
const offline: AgentRecord = { ...idle, status: 'offline', statusBy: 'ann' };

interface Row {
  name: string;
  from: AgentRecord;
  event: AgentEvent;
  registered?: boolean;
  outcome: 'applied' | 'ignored' | 'refused';
  refusal?: string;
  expect?: Partial<AgentRecord>;
  events?: string[];
}

const table: Row[] = [
  // status
  {
    name: 'a person puts an idle agent on break with a reason',
    from: idle,
    event: { type: 'status-set', status: 'break', reason: 'lunch', by: 'ann' },
    outcome: 'applied',
    expect: { status: 'break', reason: 'lunch', statusBy: 'ann', statusAt: NOW, state: 'idle' },
    events: ['status-change'],
  },
  {
    name: 'setting the same status and reason again is idempotent',
    from: onBreak,
    event: { type: 'status-set', status: 'break', reason: 'lunch', by: 'bob' },
    outcome: 'ignored',
  },
  {
    name: 'changing only the break reason is a change',
    from: onBreak,
    event: { type: 'status-set', status: 'break', reason: 'training', by: 'ann' },
    outcome: 'applied',
    expect: { reason: 'training' },
    events: ['status-change'],
  },
  {
    name: 'available drops the break reason and resets the no-answer streak',
    from: { ...onBreak, reason: 'no-answer', noAnswerStreak: 3 },
    event: { type: 'status-set', status: 'available', by: 'ann' },
    outcome: 'applied',
    expect: { status: 'available', reason: undefined, noAnswerStreak: 0 },
    events: ['status-change'],
  },
  {
    name: 'a status change during a call keeps the call',
    from: onCall,
    event: { type: 'status-set', status: 'offline', by: 'ann' },
    outcome: 'applied',
    expect: { status: 'offline', state: 'on-call', callSid: 'C1' },
    events: ['status-change'],
  },
  // offer
  {
    name: 'offer to an available, idle, registered agent',
    from: idle,
    event: { type: 'offer', callSid: 'C1', queue: 'sales', registered: true },
    outcome: 'applied',
    expect: { state: 'offered', callSid: 'C1', queue: 'sales', stateAt: NOW },
    events: [],
  },
  {
    name: 'offer to an unregistered agent is refused',
    from: idle,
    event: { type: 'offer', callSid: 'C1', registered: false },
    outcome: 'refused',
    refusal: 'not-registered',
  },
  {
    name: 'offer to an agent on break is refused',
    from: onBreak,
    event: { type: 'offer', callSid: 'C1', registered: true },
    outcome: 'refused',
    refusal: 'not-available',
  },
  {
    name: 'offer to an offline agent is refused',
    from: offline,
    event: { type: 'offer', callSid: 'C1', registered: true },
    outcome: 'refused',
    refusal: 'not-available',
  },
  {
    name: 'offer while on a call is refused',
    from: onCall,
    event: { type: 'offer', callSid: 'C2', registered: true },
    outcome: 'refused',
    refusal: 'not-idle',
  },
  {
    name: 'offer during wrap-up is refused',
    from: wrapUp,
    event: { type: 'offer', callSid: 'C2', registered: true },
    outcome: 'refused',
    refusal: 'not-idle',
  },
  {
    name: 'a second caller offered to an offered agent is refused',
    from: offered,
    event: { type: 'offer', callSid: 'C2', registered: true },
    outcome: 'refused',
    refusal: 'not-idle',
  },
  {
    name: 'the same offer twice is idempotent',
    from: offered,
    event: { type: 'offer', callSid: 'C1', registered: true },
    outcome: 'ignored',
  },
  // answer
  {
    name: 'offer answered: on call, streak reset',
    from: { ...offered, noAnswerStreak: 2 },
    event: { type: 'offer-answered', callSid: 'C1' },
    outcome: 'applied',
    expect: { state: 'on-call', noAnswerStreak: 0, callSid: 'C1', stateAt: NOW },
    events: [],
  },
  {
    name: 'a duplicate answer is ignored',
    from: onCall,
    event: { type: 'offer-answered', callSid: 'C1' },
    outcome: 'ignored',
  },
  {
    name: 'an answer for another call is ignored',
    from: offered,
    event: { type: 'offer-answered', callSid: 'OLD' },
    outcome: 'ignored',
  },
  {
    name: 'a late answer after the offer was cancelled is ignored',
    from: idle,
    event: { type: 'offer-answered', callSid: 'C1' },
    outcome: 'ignored',
  },
  // ring-out
  {
    name: 'ring-out: idle again, streak + 1, a no-answer event',
    from: offered,
    event: { type: 'offer-rang-out', callSid: 'C1' },
    outcome: 'applied',
    expect: { state: 'idle', noAnswerStreak: 1, callSid: undefined, queue: undefined, status: 'available' },
    events: ['no-answer'],
  },
  {
    name: 'the third ring-out in a row puts the agent on break',
    from: { ...offered, noAnswerStreak: 2 },
    event: { type: 'offer-rang-out', callSid: 'C1' },
    outcome: 'applied',
    expect: { state: 'idle', noAnswerStreak: 3, status: 'break', reason: 'no-answer', statusBy: 'system' },
    events: ['no-answer', 'status-change'],
  },
  {
    name: 'a ring-out for an old call is ignored',
    from: offered,
    event: { type: 'offer-rang-out', callSid: 'OLD' },
    outcome: 'ignored',
  },
  {
    name: 'a duplicate ring-out (already idle) is ignored',
    from: { ...idle, noAnswerStreak: 1 },
    event: { type: 'offer-rang-out', callSid: 'C1' },
    outcome: 'ignored',
  },
  // cancel
  {
    name: 'offer cancelled: idle, no streak',
    from: { ...offered, noAnswerStreak: 1 },
    event: { type: 'offer-cancelled', callSid: 'C1' },
    outcome: 'applied',
    expect: { state: 'idle', noAnswerStreak: 1, callSid: undefined },
    events: [],
  },
  {
    name: 'a cancel after the agent answered is ignored (the call goes on)',
    from: onCall,
    event: { type: 'offer-cancelled', callSid: 'C1' },
    outcome: 'ignored',
  },
  // call end
  {
    name: 'call ended: wrap-up until now + 30 s',
    from: onCall,
    event: { type: 'call-ended', callSid: 'C1' },
    outcome: 'applied',
    expect: { state: 'wrap-up', wrapUpUntil: NOW + 30_000, callSid: 'C1' },
    events: ['wrap-up-start'],
  },
  {
    name: 'call ended for an old call is ignored',
    from: onCall,
    event: { type: 'call-ended', callSid: 'OLD' },
    outcome: 'ignored',
  },
  {
    name: 'a duplicate call-ended during wrap-up is ignored (the deadline stays)',
    from: wrapUp,
    event: { type: 'call-ended', callSid: 'C1' },
    outcome: 'ignored',
  },
  {
    name: 'call ended while still offered (answer never seen): idle, no wrap-up, no streak',
    from: offered,
    event: { type: 'call-ended', callSid: 'C1' },
    outcome: 'applied',
    expect: { state: 'idle', noAnswerStreak: 0 },
    events: [],
  },
  // wrap-up end
  {
    name: 'the agent ends wrap-up early',
    from: wrapUp,
    event: { type: 'wrap-up-ended', by: 'ann' },
    outcome: 'applied',
    expect: { state: 'idle', wrapUpUntil: undefined, callSid: undefined },
    events: ['wrap-up-end'],
  },
  {
    name: 'the timer before the deadline is refused',
    from: wrapUp,
    event: { type: 'wrap-up-ended', by: 'system' },
    outcome: 'refused',
    refusal: 'not-due',
  },
  {
    name: 'the timer at the deadline ends it',
    from: { ...wrapUp, wrapUpUntil: NOW },
    event: { type: 'wrap-up-ended', by: 'system' },
    outcome: 'applied',
    expect: { state: 'idle' },
    events: ['wrap-up-end'],
  },
  {
    name: 'a wrap-up end naming an older call is ignored',
    from: wrapUp,
    event: { type: 'wrap-up-ended', by: 'ann', callSid: 'OLD' },
    outcome: 'ignored',
  },
  {
    name: 'wrap-up end when not in wrap-up is ignored',
    from: idle,
    event: { type: 'wrap-up-ended', by: 'ann' },
    outcome: 'ignored',
  },
];

describe('applyAgentEvent', () => {
  it.each(table)('$name', (row) => {
    const result = applyAgentEvent(row.from, row.event, rules);
    expect(result.outcome).toBe(row.outcome);
    if (row.outcome !== 'applied') {
      expect(result.record).toBe(row.from);
      expect(result.events).toEqual([]);
      expect(result.alerts).toEqual([]);
      expect(result.refusal).toBe(row.refusal);
      return;
    }
    for (const [key, value] of Object.entries(row.expect ?? {})) {
      expect(result.record[key as keyof AgentRecord], key).toEqual(value);
    }
    expect(result.record.version).toBe(row.from.version);
    expect(result.events.map((e) => e.type)).toEqual(row.events ?? []);
    for (const e of result.events) {
      expect(e.at).toBe(NOW);
      expect(e.agent).toBe('a1');
    }
  });

  it('a new agent is available and idle, offerable once registered', () => {
    const r = newAgentRecord('x');
    expect(r).toMatchObject({ status: 'available', state: 'idle', noAnswerStreak: 0, version: 0 });
    expect(isOfferable(r, true)).toBe(true);
    expect(isOfferable(r, false)).toBe(false);
    expect(isOfferable(offered, true)).toBe(false);
    expect(isOfferable(onBreak, true)).toBe(false);
    expect(isOfferable(wrapUp, true)).toBe(false);
  });

  it('logs the status change with from, to, reason and who', () => {
    const { events } = applyAgentEvent(
      idle,
      { type: 'status-set', status: 'break', reason: ' lunch ', by: 'ann' },
      rules,
    );
    expect(events).toEqual([
      {
        type: 'status-change',
        at: NOW,
        agent: 'a1',
        from: 'available',
        to: 'break',
        reason: 'lunch',
        by: 'ann',
      },
    ]);
  });

  it('owes one alert when the no-answer streak reaches MAX_NO_ANSWER, and names the queue', () => {
    let r: AgentRecord = idle;
    const alerts = [];
    const noAnswers = [];
    for (let i = 1; i <= 3; i++) {
      r = applyAgentEvent(
        r,
        { type: 'offer', callSid: `C${i}`, queue: 'sales', registered: true },
        rules,
      ).record;
      const t = applyAgentEvent(r, { type: 'offer-rang-out', callSid: `C${i}` }, rules);
      r = t.record;
      alerts.push(...t.alerts);
      noAnswers.push(...t.events.filter((e) => e.type === 'no-answer'));
    }
    expect(alerts).toEqual([{ type: 'agent-auto-paused', agentId: 'a1', noAnswers: 3, at: NOW }]);
    expect(noAnswers.map((e) => [e.callSid, e.queue])).toEqual([
      ['C1', 'sales'],
      ['C2', 'sales'],
      ['C3', 'sales'],
    ]);
    expect(isOfferable(r, true)).toBe(false);
    // No offer reaches an auto-paused agent, so no second alert; a person brings them back.
    r = applyAgentEvent(r, { type: 'status-set', status: 'available', by: 'ann' }, rules).record;
    expect(isOfferable(r, true)).toBe(true);
  });

  it('an answer between ring-outs resets the streak', () => {
    let r: AgentRecord = { ...idle, noAnswerStreak: 2 };
    r = applyAgentEvent(r, { type: 'offer', callSid: 'C1', registered: true }, rules).record;
    r = applyAgentEvent(r, { type: 'offer-answered', callSid: 'C1' }, rules).record;
    r = applyAgentEvent(r, { type: 'call-ended', callSid: 'C1' }, rules).record;
    r = applyAgentEvent(r, { type: 'wrap-up-ended', by: 'ann' }, rules).record;
    r = applyAgentEvent(r, { type: 'offer', callSid: 'C2', registered: true }, rules).record;
    const t = applyAgentEvent(r, { type: 'offer-rang-out', callSid: 'C2' }, rules);
    expect(t.record).toMatchObject({ noAnswerStreak: 1, status: 'available' });
    expect(t.alerts).toEqual([]);
  });

  it('a ring-out of an agent a person already put on break does not pause or alert again', () => {
    const r = { ...offered, status: 'break' as const, reason: 'lunch', noAnswerStreak: 2 };
    const t = applyAgentEvent(r, { type: 'offer-rang-out', callSid: 'C1' }, rules);
    expect(t.record).toMatchObject({ status: 'break', reason: 'lunch', noAnswerStreak: 3 });
    expect(t.alerts).toEqual([]);
    expect(t.events.map((e) => e.type)).toEqual(['no-answer']);
  });

  it('wrap-up of 0 s goes straight back to idle; a per-agent override is honoured', () => {
    expect(
      applyAgentEvent(onCall, { type: 'call-ended', callSid: 'C1' }, { now: NOW, wrapUpSeconds: 0 }),
    ).toMatchObject({
      outcome: 'applied',
      record: { state: 'idle' },
      events: [],
    });
    expect(
      applyAgentEvent(onCall, { type: 'call-ended', callSid: 'C1' }, { now: NOW, wrapUpSeconds: 90 }).record
        .wrapUpUntil,
    ).toBe(NOW + 90_000);
    expect(
      applyAgentEvent(onCall, { type: 'call-ended', callSid: 'C1' }, { now: NOW }).record.wrapUpUntil,
    ).toBe(NOW + 30_000);
  });

  it('wrap-up events carry the call and queue, and when it ends', () => {
    const start = applyAgentEvent(onCall, { type: 'call-ended', callSid: 'C1' }, rules);
    expect(start.events).toEqual([
      { type: 'wrap-up-start', at: NOW, agent: 'a1', callSid: 'C1', queue: 'sales', until: NOW + 30_000 },
    ]);
    const end = applyAgentEvent(start.record, { type: 'wrap-up-ended', by: 'system' }, { now: NOW + 30_000 });
    expect(end.events).toEqual([
      { type: 'wrap-up-end', at: NOW + 30_000, agent: 'a1', callSid: 'C1', queue: 'sales', by: 'system' },
    ]);
  });
});
