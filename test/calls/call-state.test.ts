import { describe, expect, it } from 'vitest';
import { talkSeconds } from '../../src/calls/call-outcome.js';
import { applyEvent } from '../../src/calls/call-state.js';
import {
  type AgentRef,
  type CallEvent,
  type CallState,
  type Effect,
  VOICEMAIL_GRACE_MS,
} from '../../src/calls/call-types.js';

type StatusEvent = Extract<CallEvent, { kind: 'status' }>;

const T0 = Date.parse('2026-11-20T10:00:00Z');
const s = (sec: number) => T0 + sec * 1000;
const alice: AgentRef = { id: 'a1', name: 'Alice', sip: 'sip:alice@sip.telnyx.com' };
const bob: AgentRef = { id: 'b1', name: 'Bob', sip: 'sip:bob@sip.telnyx.com' };

/** Plays events in order and collects every effect owed along the way. */
function play(events: CallEvent[], start: CallState | null = null) {
  let state = start;
  const effects: Effect[] = [];
  let changes = 0;
  for (const e of events) {
    const t = applyEvent(state, e);
    if (!t) continue;
    changes++;
    state = t.state;
    effects.push(...t.effects);
  }
  return {
    state: state as CallState,
    effects,
    changes,
    alerts: effects.flatMap((e) => (e.kind === 'alert' ? [e.alert] : [])),
  };
}

const inbound: CallEvent = { kind: 'inbound', sid: 'C', from: '+13125550100', to: '+13125550199', at: s(0) };
const round1: CallEvent = { kind: 'dial-started', attempt: 1, targets: [alice, bob], at: s(3) };
const round2: CallEvent = { kind: 'dial-started', attempt: 2, targets: [alice, bob], at: s(25) };
const legEvt = (
  leg: string,
  to: string,
  status: 'ringing' | 'in-progress' | 'completed' | 'canceled' | 'no-answer',
  sec: number,
  seq: number,
): StatusEvent => ({
  kind: 'status',
  legSid: leg,
  parentSid: 'C',
  to,
  status,
  seq,
  at: s(sec),
});
const callerEnd = (sec: number): CallEvent => ({
  kind: 'status',
  legSid: 'C',
  status: 'completed',
  seq: 3,
  at: s(sec),
});

describe('call state machine', () => {
  it('answered call: incoming, answered (wait), completed (talk), history and idle, one record', () => {
    const r = play([
      inbound,
      round1,
      legEvt('LA', 'sip:alice@sip.telnyx.com', 'ringing', 4, 1),
      legEvt('LB', 'sip:bob@sip.telnyx.com', 'ringing', 4, 1),
      legEvt('LA', 'sip:alice@sip.telnyx.com', 'in-progress', 15, 2),
      legEvt('LB', 'sip:bob@sip.telnyx.com', 'canceled', 15, 3),
      legEvt('LA', 'sip:alice@sip.telnyx.com', 'completed', 134, 3),
      { kind: 'dial-ended', dialStatus: 'completed', dialLeg: 'LA', attempt: 1, at: s(135) },
      callerEnd(135),
    ]);
    expect(r.state).toMatchObject({ outcome: 'answered', answeredLeg: 'LA', phase: 'ended' });
    expect(r.alerts.map((a) => a.type)).toEqual(['incoming', 'answered', 'completed']);
    expect(r.alerts[1]).toMatchObject({ agent: 'Alice', waitSeconds: 15 });
    expect(r.alerts[2]).toMatchObject({ agent: 'Alice', talkSeconds: 119, waitSeconds: 15 });
    expect(r.effects.filter((e) => e.kind === 'answered-by')).toEqual([
      { id: 'answered-by', kind: 'answered-by', caller: '+13125550100', agentId: 'a1' },
    ]);
    expect(r.effects.filter((e) => e.kind === 'finished')).toHaveLength(1);
    expect(r.effects.some((e) => e.kind === 'agent-idle' && e.agentId === 'a1' && e.at === s(134))).toBe(
      true,
    );
  });

  it('caller hangs up while agents ring: abandoned, one missed alert', () => {
    const r = play([inbound, round1, legEvt('LA', alice.sip, 'ringing', 4, 1), callerEnd(9), callerEnd(9)]);
    expect(r.state.outcome).toBe('abandoned');
    expect(r.alerts.map((a) => a.type)).toEqual(['incoming', 'missed']);
    expect(r.alerts[1]).toMatchObject({ reason: 'caller-hung-up', waitSeconds: 9 });
  });

  it('every round unanswered, voicemail left: voicemail alert with the recording, no missed', () => {
    const r = play([
      inbound,
      round1,
      { kind: 'dial-ended', dialStatus: 'no-answer', attempt: 1, at: s(24) },
      round2,
      { kind: 'dial-ended', dialStatus: 'no-answer', attempt: 2, at: s(46) },
      { kind: 'voicemail-started', reason: 'no-answer', at: s(46) },
      callerEnd(80),
      {
        kind: 'recording',
        status: 'completed',
        url: 'https://api.telnyx.com/rec/1.mp3',
        duration: 25,
        at: s(82),
      },
    ]);
    expect(r.state).toMatchObject({ outcome: 'voicemail', attempts: 2, recordingDuration: 25 });
    expect(r.alerts.map((a) => a.type)).toEqual(['incoming', 'voicemail']);
    expect(r.alerts[1]).toMatchObject({
      recordingUrl: 'https://api.telnyx.com/rec/1.mp3',
      durationSeconds: 25,
    });
  });

  it('hang-up during the voicemail prompt: missed after the grace time, unless a recording shows up', () => {
    const base = [
      inbound,
      { kind: 'voicemail-started', reason: 'no-agents', at: s(2) } as CallEvent,
      callerEnd(6),
    ];
    const waiting = play(base);
    expect(waiting.state.outcome).toBeUndefined();
    expect(waiting.state.finalizeAt).toBe(s(6) + VOICEMAIL_GRACE_MS);
    expect(applyEvent(waiting.state, { kind: 'finalize', at: s(10) })).toBeNull();
    const missed = play([{ kind: 'finalize', at: s(6) + VOICEMAIL_GRACE_MS }], waiting.state);
    expect(missed.state.outcome).toBe('missed');
    expect(missed.alerts).toEqual([
      expect.objectContaining({ type: 'missed', reason: 'no-agents', waitSeconds: 2 }),
    ]);

    const absent = play([{ kind: 'recording', status: 'absent', at: s(7) }], waiting.state);
    expect(absent.state.outcome).toBe('missed');
  });

  it('a retried voice-URL fetch does not restart the call or alert twice', () => {
    const r = play([inbound, round1, inbound, { ...round1, at: s(4) }]);
    expect(r.changes).toBe(2);
    expect(r.alerts.map((a) => a.type)).toEqual(['incoming']);
  });

  it('a late answered callback after the leg completed fills in the answer without moving back', () => {
    const r = play([
      inbound,
      round1,
      { ...legEvt('LA', alice.sip, 'completed', 70, 3), answeredAt: s(10) },
      legEvt('LA', alice.sip, 'in-progress', 10, 2),
    ]);
    expect(r.state.legs.LA).toMatchObject({ status: 'completed', answeredAt: s(10) });
    expect(r.state.answeredAt).toBe(s(10));
  });

  it('outbound click-to-call: ringing, answered by the customer, completed with talk time', () => {
    const r = play([
      {
        kind: 'outbound-created',
        sid: 'O',
        from: '+13125550199',
        agent: alice,
        customer: '+14155550123',
        at: s(0),
      },
      { kind: 'status', legSid: 'O', status: 'in-progress', seq: 2, at: s(5) },
      { kind: 'customer-dial-started', at: s(5) },
      {
        kind: 'status',
        legSid: 'OC',
        parentSid: 'O',
        to: '+14155550123',
        status: 'in-progress',
        seq: 2,
        at: s(12),
      },
      {
        kind: 'status',
        legSid: 'OC',
        parentSid: 'O',
        to: '+14155550123',
        status: 'completed',
        seq: 3,
        at: s(72),
      },
      { kind: 'status', legSid: 'O', status: 'completed', seq: 3, at: s(73) },
    ]);
    expect(r.alerts.map((a) => a.type)).toEqual([
      'outbound-ringing',
      'outbound-answered',
      'outbound-completed',
    ]);
    expect(r.alerts[2]).toMatchObject({
      answered: true,
      talkSeconds: 60,
      to: '+14155550123',
      agent: 'Alice',
    });
    expect(r.state.outcome).toBe('answered');
  });
});

describe('one clock for durations', () => {
  const SKEW = 10 * 60_000; // Telnyx's Timestamps are 10 minutes ahead of this server
  const server = (sec: number) => s(sec) - SKEW;

  it('a Dial action without Timestamp does not end the call, and talk time is the leg’s own', () => {
    const { state, alerts } = play([
      { ...inbound, at: server(0), local: true, receivedAt: server(0) },
      { ...round1, at: server(0), local: true, receivedAt: server(0) },
      {
        kind: 'status',
        legSid: 'C',
        status: 'in-progress',
        seq: 1,
        at: s(1),
        initiatedAt: s(0),
        receivedAt: server(1),
      },
      legEvt('LA', alice.sip, 'ringing', 3, 1),
      legEvt('LA', alice.sip, 'in-progress', 15, 2),
      legEvt('LA', alice.sip, 'completed', 110, 3),
      // The action arrives late and without Timestamp: placed at the latest Telnyx time, not ours.
      {
        kind: 'dial-ended',
        dialStatus: 'completed',
        dialLeg: 'LA',
        dialDuration: 95,
        attempt: 1,
        at: server(400),
        local: true,
        receivedAt: server(400),
      },
    ]);
    expect(state.phase).not.toBe('ended');
    expect(state.outcome).toBeUndefined();
    const done = play([callerEnd(111)], state);
    expect(done.state.outcome).toBe('answered');
    expect(done.alerts.find((a) => a.type === 'completed')).toMatchObject({
      talkSeconds: 95,
      waitSeconds: 15,
    });
    expect(alerts.find((a) => a.type === 'answered')).toMatchObject({ waitSeconds: 15 });
  });

  it('with the leg callbacks lost, DialCallDuration is the talk time', () => {
    const { state } = play([
      inbound,
      round1,
      { kind: 'dial-ended', dialStatus: 'completed', dialLeg: 'LX', dialDuration: 42, attempt: 1, at: s(60) },
      callerEnd(61),
    ]);
    expect(state.outcome).toBe('answered');
    expect(state.dialDuration).toBe(42);
  });

  it('the voicemail grace timer runs on the server clock, whatever the Telnyx Timestamp', () => {
    const { state } = play([
      inbound,
      { kind: 'voicemail-started', reason: 'no-agents', at: s(1) },
      { kind: 'status', legSid: 'C', status: 'completed', seq: 3, at: s(20), receivedAt: server(20) },
    ]);
    expect(state.finalizeAt).toBe(server(20) + VOICEMAIL_GRACE_MS);
    const early = applyEvent(state, {
      kind: 'finalize',
      at: server(30),
      local: true,
      receivedAt: server(30),
    });
    expect(early).toBeNull();
    const due = play([{ kind: 'finalize', at: server(81), local: true, receivedAt: server(81) }], state);
    expect(due.state.outcome).toBe('missed');
  });
});

describe('an answered call whose caller `completed` never comes', () => {
  it('is closed by the finalizer after the grace time, with the leg’s talk time', () => {
    const { state } = play([
      inbound,
      round1,
      legEvt('LA', alice.sip, 'in-progress', 10, 2),
      legEvt('LA', alice.sip, 'completed', 70, 3),
      {
        kind: 'dial-ended',
        dialStatus: 'completed',
        dialLeg: 'LA',
        dialDuration: 60,
        attempt: 1,
        at: s(70),
        receivedAt: s(70),
      },
    ]);
    expect(state.outcome).toBeUndefined();
    expect(state.finalizeAt).toBe(s(70) + VOICEMAIL_GRACE_MS);
    const closed = play([{ kind: 'finalize', at: s(131), local: true, receivedAt: s(131) }], state);
    expect(closed.state).toMatchObject({ outcome: 'answered', phase: 'ended', endedAt: s(70) });
    expect(closed.state.finalizeAt).toBeUndefined();
    expect(closed.alerts.find((a) => a.type === 'completed')).toMatchObject({ talkSeconds: 60 });
  });
});

describe('click-to-call and the finalizer', () => {
  it('an outbound call that ends leaves no pending finalize behind', () => {
    const agent: AgentRef = { id: 'a1', name: 'Alice', sip: 'sip:alice@sip.telnyx.com' };
    const { state } = play([
      { kind: 'outbound-created', sid: 'O', from: '+18005550199', agent, customer: '+14155550123', at: s(0) },
      { kind: 'status', legSid: 'O', status: 'in-progress', seq: 1, at: s(4) },
      { kind: 'customer-dial-started', at: s(5) },
      {
        kind: 'status',
        legSid: 'OC',
        parentSid: 'O',
        to: '+14155550123',
        status: 'in-progress',
        seq: 1,
        at: s(10),
      },
      // The Dial action overtakes the customer leg's own completed.
      { kind: 'dial-ended', dialStatus: 'completed', dialLeg: 'OC', dialDuration: 30, attempt: 1, at: s(40) },
      {
        kind: 'status',
        legSid: 'OC',
        parentSid: 'O',
        to: '+14155550123',
        status: 'completed',
        seq: 2,
        at: s(40),
      },
    ]);
    expect(state.outcome).toBe('answered');
    expect(state.finalizeAt).toBeUndefined();
  });

  it('a click-to-call placed on our clock, with callbacks that carry no Timestamp, keeps its durations', () => {
    const agent: AgentRef = { id: 'a1', name: 'Alice', sip: 'sip:alice@sip.telnyx.com' };
    const ours = (sec: number) => ({ at: s(sec), local: true as const, receivedAt: s(sec) });
    const { state, alerts } = play([
      {
        kind: 'outbound-created',
        sid: 'O',
        from: '+18005550199',
        agent,
        customer: '+14155550123',
        ...ours(0),
      },
      { kind: 'status', legSid: 'O', status: 'in-progress', seq: 1, ...ours(4) },
      { kind: 'customer-dial-started', ...ours(5) },
      {
        kind: 'status',
        legSid: 'OC',
        parentSid: 'O',
        to: '+14155550123',
        status: 'in-progress',
        seq: 1,
        ...ours(10),
      },
      {
        kind: 'status',
        legSid: 'OC',
        parentSid: 'O',
        to: '+14155550123',
        status: 'completed',
        seq: 2,
        ...ours(50),
      },
      {
        kind: 'dial-ended',
        dialStatus: 'completed',
        dialLeg: 'OC',
        dialDuration: 40,
        attempt: 1,
        ...ours(50),
      },
      { kind: 'status', legSid: 'O', status: 'completed', seq: 2, ...ours(51) },
    ]);
    expect(state).toMatchObject({ outcome: 'answered', startedAt: s(0), answeredAt: s(10), endedAt: s(50) });
    expect(talkSeconds(state)).toBe(40);
    expect(alerts.at(-1)).toMatchObject({ answered: true, talkSeconds: 40 });
  });
});

describe('queue callbacks (docs/interface.md §7)', () => {
  it('a caller who asked to be called back and hung up is no missed call: outcome callback, no missed alert', () => {
    const asked = play([inbound, { kind: 'callback-requested', at: s(70) }, callerEnd(75)]);
    expect(asked.state).toMatchObject({ outcome: 'callback', callbackRequestedAt: s(70), phase: 'ended' });
    expect(asked.alerts.map((a) => a.type)).toEqual([]);
    expect(asked.effects.map((e) => e.kind)).toEqual(['caller-ended', 'finished']);
    // Without the request the same hang-up is an abandoned call with its missed alert.
    const gone = play([inbound, callerEnd(75)]);
    expect(gone.state.outcome).toBe('abandoned');
    expect(gone.alerts.map((a) => a.type)).toEqual(['missed']);
    // A request that comes after the call ended (a late retry) changes nothing.
    expect(applyEvent(gone.state, { kind: 'callback-requested', at: s(76) })).toBeNull();
  });

  /** Alice calls the customer back for queue callback `callback` (call O). */
  const callbackPlaced = (callback: {
    callSid: string;
    queue: string;
    attempt: number;
    attempts?: number;
  }): CallEvent => ({
    kind: 'outbound-created',
    sid: 'O',
    from: '+18005550199',
    agent: alice,
    customer: '+13125550100',
    callback,
    at: s(0),
  });

  it('an outbound call placed for a callback keeps which callback it is', () => {
    const callback = { callSid: 'C', queue: 'support', attempt: 2 };
    const { state } = play([
      callbackPlaced(callback),
      { kind: 'status', legSid: 'O', status: 'no-answer', seq: 1, at: s(30) },
    ]);
    expect(state).toMatchObject({ direction: 'outbound', callback, outcome: 'missed' });
  });

  it("every Slack alert of a callback's call says which callback, queue and attempt it is (docs/interface.md §4)", () => {
    const callback = { callSid: 'C', queue: 'support', attempt: 2, attempts: 3 };
    const customerLeg = (status: 'in-progress' | 'completed', seq: number, sec: number): CallEvent => ({
      kind: 'status',
      legSid: 'OC',
      parentSid: 'O',
      to: '+13125550100',
      status,
      seq,
      at: s(sec),
    });
    const { alerts } = play([
      callbackPlaced(callback),
      { kind: 'status', legSid: 'O', status: 'in-progress', seq: 2, at: s(5) },
      { kind: 'customer-dial-started', at: s(5) },
      customerLeg('in-progress', 2, 12),
      customerLeg('completed', 3, 72),
      { kind: 'status', legSid: 'O', status: 'completed', seq: 3, at: s(73) },
    ]);
    expect(alerts.map((a) => [a.type, 'callback' in a ? a.callback : undefined])).toEqual([
      ['outbound-ringing', callback],
      ['outbound-answered', callback],
      ['outbound-completed', callback],
    ]);
    // A plain click-to-call carries none.
    const plain = play([
      {
        kind: 'outbound-created',
        sid: 'P',
        from: '+18005550199',
        agent: alice,
        customer: '+13125550100',
        at: s(0),
      },
    ]);
    expect(plain.alerts).toHaveLength(1);
    expect(plain.alerts[0]).not.toHaveProperty('callback');
  });
});

describe('the menu, the queue and a closed queue (docs/interface.md §9)', () => {
  const menu = (attempt: number, sec: number, reason?: 'timeout' | 'invalid'): CallEvent => ({
    kind: 'menu-played',
    attempt,
    ...(reason ? { reason } : {}),
    at: s(sec),
  });

  it('counts the menu once per attempt, takes the queue once, and puts the queue on every call alert', () => {
    const r = play([
      inbound,
      menu(1, 0),
      menu(2, 5, 'invalid'),
      menu(2, 6, 'invalid'), // a repeated request
      menu(1, 7), // late and backwards
      { kind: 'queue-chosen', queue: 'sales', digit: '1', at: s(8) },
      { kind: 'queue-chosen', queue: 'support', fallback: 'timeout', at: s(9) }, // once only
      menu(3, 9), // no menu after the choice
      { ...round1, at: s(10) },
      legEvt('L1', alice.sip, 'in-progress', 15, 1),
      legEvt('L1', alice.sip, 'completed', 60, 2),
      callerEnd(61),
    ]);
    expect(r.state).toMatchObject({ queue: 'sales', menu: { attempts: 2, digit: '1' }, outcome: 'answered' });
    expect(r.alerts.map((a) => [a.type, 'queue' in a ? a.queue : undefined])).toEqual([
      ['incoming', 'sales'],
      ['answered', 'sales'],
      ['completed', 'sales'],
    ]);
  });

  it('without a menu the queue is in the state but not in the timeline', () => {
    const t = applyEvent(play([inbound]).state, { kind: 'queue-chosen', queue: 'support', at: s(0) });
    expect(t?.state.queue).toBe('support');
    expect(t?.state.menu).toBeUndefined();
    expect(t?.timeline).toEqual([]);
  });

  it('a closed queue: the voicemail says why; no message left is a missed call "closed"', () => {
    const closed = { reason: 'holiday' as const, detail: 'Christmas Day' };
    const start: CallEvent[] = [
      inbound,
      { kind: 'queue-chosen', queue: 'sales', digit: '1', at: s(4) },
      { kind: 'voicemail-started', reason: 'closed', closed, at: s(4) },
    ];
    const left = play([
      ...start,
      {
        kind: 'recording',
        status: 'completed',
        url: 'https://api.telnyx.com/v2/r.mp3',
        duration: 12,
        at: s(20),
      },
      callerEnd(21),
    ]);
    expect(left.state).toMatchObject({ outcome: 'voicemail', voicemailReason: 'closed', closed });
    expect(left.alerts).toEqual([expect.objectContaining({ type: 'voicemail', queue: 'sales', closed })]);

    const none = play([...start, { kind: 'recording', status: 'absent', at: s(9) }, callerEnd(9)]);
    expect(none.state.outcome).toBe('missed');
    expect(none.alerts).toEqual([
      expect.objectContaining({ type: 'missed', reason: 'closed', queue: 'sales', closed }),
    ]);
  });
});
