import { applyEvent } from '../../src/calls/call-state.js';
import type { AgentRef, CallEvent, CallState } from '../../src/calls/call-types.js';

/**
 * Whole calls played through the real state machine (`applyEvent`) from a short script, so the
 * records and KPIs under test come from the same states production produces.
 */

export const alice: AgentRef = { id: 'a1', name: 'Alice', sip: 'sip:alice@sip.telnyx.com' };
export const bob: AgentRef = { id: 'b1', name: 'Bob', sip: 'sip:bob@sip.telnyx.com' };
export const carol: AgentRef = { id: 'c1', name: 'Carol <&>', sip: 'sip:carol@sip.telnyx.com' };

export type Script =
  | {
      kind: 'answered';
      /** Who answers; the others rung are canceled. */
      by: AgentRef;
      /** Seconds from the start of the call to the answer. */
      wait: number;
      talk: number;
      /** Round the answer comes in (earlier rounds ring `ringSeconds` each, unanswered). */
      round?: number;
    }
  | { kind: 'abandoned'; wait: number }
  | { kind: 'voicemail'; rounds: number; message: number }
  | { kind: 'missed'; rounds: number }
  | { kind: 'no-agents' }
  | { kind: 'failed' }
  /** Queued, pressed 1 after `wait` s for a callback and hung up (docs/interface.md §7). */
  | { kind: 'callback'; wait: number }
  | { kind: 'outbound'; agent: AgentRef; ring: number; talk?: number };

export interface CallSpec {
  sid: string;
  /** Epoch ms the call starts. */
  at: number;
  script: Script;
  agents?: AgentRef[];
  from?: string;
  ringSeconds?: number;
}

/** Plays the events and returns the final state; throws if the call did not finish. */
export function playCall(spec: CallSpec): CallState {
  const events = eventsFor(spec);
  let state: CallState | null = null;
  let finished = 0;
  for (const e of events) {
    const t = applyEvent(state, e);
    if (!t) continue;
    state = t.state;
    finished += t.effects.filter((fx) => fx.kind === 'finished').length;
  }
  if (!state || finished !== 1) throw new Error(`call ${spec.sid} did not finish exactly once`);
  return state;
}

export function eventsFor(spec: CallSpec): CallEvent[] {
  const { sid, at, script } = spec;
  const agents = spec.agents ?? [alice, bob];
  const ring = spec.ringSeconds ?? 20;
  const t = (sec: number) => at + sec * 1000;
  const from = spec.from ?? '+13125550100';
  const seq = new Map<string, number>();
  const next = (leg: string) => {
    const n = (seq.get(leg) ?? -1) + 1;
    seq.set(leg, n);
    return n;
  };
  const leg = (
    legSid: string,
    to: string,
    status: 'ringing' | 'in-progress' | 'completed' | 'canceled' | 'no-answer',
    sec: number,
  ): CallEvent => ({ kind: 'status', legSid, parentSid: sid, to, status, seq: next(legSid), at: t(sec) });
  const caller = (status: 'completed' | 'failed', sec: number): CallEvent => ({
    kind: 'status',
    legSid: sid,
    status,
    seq: next(sid),
    at: t(sec),
  });

  if (script.kind === 'outbound') {
    const customer = `${sid}-customer`;
    const talk = script.talk;
    const out: CallEvent[] = [
      {
        kind: 'outbound-created',
        sid,
        from: '+18005550199',
        agent: script.agent,
        customer: '+13125550111',
        at: t(0),
      },
      { kind: 'customer-dial-started', at: t(5) },
      leg(customer, '+13125550111', 'ringing', 6),
    ];
    if (talk === undefined) {
      out.push(
        leg(customer, '+13125550111', 'no-answer', 6 + script.ring),
        caller('completed', 6 + script.ring),
      );
    } else {
      out.push(
        leg(customer, '+13125550111', 'in-progress', 6 + script.ring),
        leg(customer, '+13125550111', 'completed', 6 + script.ring + talk),
        caller('completed', 6 + script.ring + talk),
      );
    }
    return out;
  }

  const events: CallEvent[] = [{ kind: 'inbound', sid, from, to: '+18005550199', at: t(0) }];
  if (script.kind === 'failed') {
    events.push(caller('failed', 1));
    return events;
  }
  if (script.kind === 'callback') {
    events.push({ kind: 'callback-requested', at: t(script.wait) }, caller('completed', script.wait + 2));
    return events;
  }
  if (script.kind === 'no-agents') {
    events.push({ kind: 'voicemail-started', reason: 'no-agents', at: t(2) }, caller('completed', 9), {
      kind: 'recording',
      status: 'absent',
      at: t(10),
    });
    return events;
  }

  const roundStart = (r: number) => (r - 1) * ring;
  const legSid = (agent: AgentRef, r: number) => `${sid}-${agent.id}-${r}`;
  const ringRound = (r: number) => {
    events.push({ kind: 'dial-started', attempt: r, targets: agents, at: t(roundStart(r)) });
    for (const a of agents) events.push(leg(legSid(a, r), a.sip, 'ringing', roundStart(r)));
  };
  const unanswered = (r: number) => {
    for (const a of agents) events.push(leg(legSid(a, r), a.sip, 'no-answer', roundStart(r) + ring));
    events.push({ kind: 'dial-ended', dialStatus: 'no-answer', attempt: r, at: t(roundStart(r) + ring) });
  };

  switch (script.kind) {
    case 'answered': {
      const round = script.round ?? 1;
      for (let r = 1; r < round; r++) {
        ringRound(r);
        unanswered(r);
      }
      ringRound(round);
      const winner = legSid(script.by, round);
      events.push(leg(winner, script.by.sip, 'in-progress', script.wait));
      for (const a of agents)
        if (a.id !== script.by.id) events.push(leg(legSid(a, round), a.sip, 'canceled', script.wait));
      const end = script.wait + script.talk;
      events.push(
        leg(winner, script.by.sip, 'completed', end),
        { kind: 'dial-ended', dialStatus: 'completed', dialLeg: winner, attempt: round, at: t(end) },
        caller('completed', end),
      );
      return events;
    }
    case 'abandoned':
      ringRound(1);
      events.push(caller('completed', script.wait));
      for (const a of agents) events.push(leg(legSid(a, 1), a.sip, 'canceled', script.wait));
      return events;
    case 'voicemail':
    case 'missed': {
      for (let r = 1; r <= script.rounds; r++) {
        ringRound(r);
        unanswered(r);
      }
      const vm = script.rounds * ring;
      events.push({ kind: 'voicemail-started', reason: 'no-answer', at: t(vm) });
      if (script.kind === 'voicemail') {
        const end = vm + 8 + script.message;
        events.push(caller('completed', end), {
          kind: 'recording',
          status: 'completed',
          url: `https://api.telnyx.com/v2/recordings/${sid}.mp3`,
          duration: script.message,
          at: t(end + 1),
        });
      } else {
        events.push(caller('completed', vm + 5), { kind: 'recording', status: 'absent', at: t(vm + 6) });
      }
      return events;
    }
  }
}
