/**
 * The pure rules that move a call's state forward (its types: `call-types.ts`; how a finished
 * call is judged: `call-outcome.ts`).
 *
 * Telnyx callbacks "can be concurrent, duplicated, delayed, or delivered out of order"
 * (https://developers.telnyx.com/docs/development/api-fundamentals/webhooks), so `applyEvent`
 * never moves a status back: a late event may fill in a fact that is still missing (an answer
 * time, say) but never undoes a later one. Every side effect (a Slack alert, a history count, a
 * call record) is derived here once per call and handed out as an `Effect` with a stable id, so
 * whichever replica commits the transition owns the effect, and re-running it is harmless.
 */

import { sipKey } from '../agents/sip-uri.js';
import { plainCopy } from '../plain-copy.js';
import { asCallback, inQueue, iso, pushAlert, settleOutcome, waitSeconds } from './call-outcome.js';
import {
  type CallEvent,
  type CallState,
  isTerminal,
  type LegState,
  type LegStatus,
  type Transition,
  VOICEMAIL_GRACE_MS,
} from './call-types.js';

const STATUS_RANK: Record<LegStatus, number> = {
  queued: 0,
  initiated: 1,
  ringing: 2,
  'in-progress': 3,
  completed: 4,
  busy: 4,
  'no-answer': 4,
  canceled: 4,
  failed: 4,
};

function newCall(sid: string, at: number, init: Partial<CallState>): CallState {
  return {
    sid,
    direction: 'inbound',
    from: '',
    to: '',
    status: 'initiated',
    seq: -1,
    phase: 'ringing-agents',
    startedAt: at,
    attempts: 0,
    rung: [],
    rungAgents: [],
    legs: {},
    updatedAt: at,
    ...init,
  };
}

/**
 * Applies one event to the current state (null = unknown call). Returns the next state with its
 * timeline entries and owed effects, or null when the event changes nothing (a duplicate, or a
 * status that would move backwards).
 */
export function applyEvent(current: CallState | null, incoming: CallEvent): Transition | null {
  const event = onTelnyxClock(current, incoming);
  const out: Transition = {
    state: current ? plainCopy(current) : (null as never),
    timeline: [],
    effects: [],
  };
  if (current?.startedAtSource === 'local' && !event.local && event.receivedAt !== undefined) {
    // First Telnyx time for a call that started on our clock: anchor the start on Telnyx's
    // clock by the time that passed on ours (one clock per difference).
    out.state.startedAt = event.at - Math.max(0, event.receivedAt - current.startedAt);
    out.state.startedAtSource = 'estimate';
  }
  const changed = reduce(current, event, out);
  if (!changed) return null;
  out.state.updatedAt = Math.max(out.state.updatedAt, event.at);
  if (!event.local) out.state.telnyxAt = Math.max(out.state.telnyxAt ?? event.at, event.at);
  settleOutcome(out);
  return out;
}

/**
 * An event without a Telnyx `Timestamp` is placed at the latest Telnyx time this call has seen
 * (never later than it really happened), so durations never mix Telnyx's clock with ours. With no
 * Telnyx time yet (the very first request) it keeps its own.
 */
function onTelnyxClock(current: CallState | null, e: CallEvent): CallEvent {
  const receivedAt = e.receivedAt ?? e.at;
  if (!e.local || current?.telnyxAt === undefined) return { ...e, receivedAt };
  return { ...e, at: current.telnyxAt, receivedAt };
}

/**
 * Applies several events in order as one transition (one store write for, say, "call received"
 * plus "first ring round"). Null when none of them changes anything.
 */
export function applyEvents(current: CallState | null, events: readonly CallEvent[]): Transition | null {
  let state = current;
  let merged: Transition | null = null;
  for (const event of events) {
    const t = applyEvent(state, event);
    if (!t) continue;
    state = t.state;
    merged = merged
      ? {
          state: t.state,
          timeline: [...merged.timeline, ...t.timeline],
          effects: [...merged.effects, ...t.effects],
        }
      : t;
  }
  return merged;
}

function reduce(current: CallState | null, e: CallEvent, out: Transition): boolean {
  switch (e.kind) {
    case 'inbound': {
      if (current) {
        // A retried voice-URL fetch: the call already exists; fill in what the first attempt missed.
        if (current.from || !e.from) return false;
        out.state.from = e.from;
        out.state.to = e.to;
        out.state.callerName = e.callerName;
        return true;
      }
      out.state = newCall(e.sid, e.at, {
        direction: 'inbound',
        from: e.from,
        to: e.to,
        callerName: e.callerName,
        status: 'ringing',
        ...(e.local && { startedAtSource: 'local' as const }),
      });
      out.timeline.push({ at: e.at, type: 'call-received', detail: { from: e.from, to: e.to } });
      return true;
    }

    case 'outbound-created': {
      if (current) return false;
      out.state = newCall(e.sid, e.at, {
        direction: 'outbound',
        from: e.from,
        to: e.agent.sip,
        agent: e.agent,
        customer: e.customer,
        ...(e.callback ? { callback: e.callback } : {}),
        status: 'queued',
        phase: 'agent-leg',
        // Placed on our clock: later times without a Timestamp keep their own (as for inbound).
        ...(e.local && { startedAtSource: 'local' as const }),
      });
      out.timeline.push({
        at: e.at,
        type: 'outbound-created',
        detail: { agent: e.agent.name, to: e.customer },
      });
      pushAlert(out, {
        type: 'outbound-ringing',
        callSid: e.sid,
        agent: e.agent.name,
        to: e.customer,
        ...asCallback(out.state),
        at: iso(e.at),
      });
      return true;
    }

    case 'dial-started': {
      if (!current) return false; // the route records `inbound` first
      const s = out.state;
      if (s.phase === 'ended' || isTerminal(s.status) || e.attempt <= s.attempts) return false;
      s.attempts = e.attempt;
      if (e.sticky) s.stickyRounds = (s.stickyRounds ?? 0) + 1;
      s.phase = 'ringing-agents';
      for (const t of e.targets) {
        if (!s.rung.includes(t.id)) s.rung.push(t.id);
        if (!s.rungAgents.some((a) => a.id === t.id)) s.rungAgents.push(t);
      }
      out.timeline.push({
        at: e.at,
        type: 'ring-round',
        detail: {
          attempt: e.attempt,
          agents: e.targets.map((t) => t.name).join(', '),
          ...(e.sticky ? { sticky: true } : {}),
        },
      });
      if (e.attempt === 1) {
        pushAlert(out, {
          type: 'incoming',
          callSid: s.sid,
          from: s.from,
          callerName: s.callerName,
          agents: e.targets.map((t) => t.name),
          ...inQueue(s),
          at: iso(e.at),
        });
      }
      return true;
    }

    case 'customer-dial-started': {
      if (current?.direction !== 'outbound' || current.phase !== 'agent-leg') return false;
      out.state.phase = 'dialing-customer';
      out.timeline.push({ at: e.at, type: 'customer-dialled', detail: { to: current.customer ?? '' } });
      return true;
    }

    case 'callback-requested': {
      if (current?.direction !== 'inbound' || current.outcome || current.callbackRequestedAt !== undefined)
        return false;
      out.state.callbackRequestedAt = e.at;
      out.timeline.push({ at: e.at, type: 'callback-requested' });
      return true;
    }

    case 'voicemail-started': {
      if (!current || current.voicemailAt !== undefined || current.phase === 'ended' || current.answeredAt) {
        return false;
      }
      out.state.phase = 'voicemail';
      out.state.voicemailAt = e.at;
      out.state.voicemailReason = e.reason;
      if (e.reason === 'closed' && e.closed) out.state.closed = { ...e.closed };
      out.timeline.push({
        at: e.at,
        type: 'voicemail-prompt',
        detail: {
          reason: e.reason,
          ...(e.reason === 'closed' && e.closed
            ? { closed: e.closed.reason, ...(e.closed.detail ? { why: e.closed.detail } : {}) }
            : {}),
        },
      });
      return true;
    }

    case 'menu-played': {
      // Before the queue is chosen only, and each attempt once (a repeated request changes nothing).
      if (current?.direction !== 'inbound' || current.queue !== undefined) return false;
      if (current.phase === 'ended' || e.attempt <= (current.menu?.attempts ?? 0)) return false;
      out.state.menu = { ...current.menu, attempts: e.attempt };
      out.timeline.push({
        at: e.at,
        type: 'menu',
        detail: { attempt: e.attempt, ...(e.reason ? { after: e.reason } : {}) },
      });
      return true;
    }

    case 'queue-chosen': {
      if (current?.direction !== 'inbound' || current.queue !== undefined) return false;
      const s = out.state;
      s.queue = e.queue;
      if (s.menu || e.digit !== undefined || e.fallback) {
        s.menu = {
          attempts: s.menu?.attempts ?? 1,
          ...(e.digit !== undefined ? { digit: e.digit } : {}),
          ...(e.fallback ? { fallback: e.fallback } : {}),
        };
      }
      // The menu's decision is part of the call's story; without a menu the queue is just the
      // default one (in the state and the record, not worth a timeline line).
      if (s.menu) {
        out.timeline.push({
          at: e.at,
          type: 'queue',
          detail: {
            queue: e.queue,
            ...(e.digit !== undefined ? { digit: e.digit } : {}),
            ...(e.fallback ? { fallback: e.fallback } : {}),
          },
        });
      }
      return true;
    }

    case 'status':
      return applyStatus(current, e, out);

    case 'dial-ended': {
      if (!current) return false;
      const s = out.state;
      const attempt = e.attempt ?? s.attempts;
      if ((s.dialsEnded ?? 0) >= attempt && attempt > 0) return false; // a repeated action request
      s.dialsEnded = attempt;
      // UNCONFIRMED which DialCallStatus Telnyx sends for a bridged call: its enum has `completed`;
      // Twilio-style `answered` is accepted too.
      const answered =
        e.dialStatus === 'completed' || e.dialStatus === 'answered' || s.answeredAt !== undefined;
      out.timeline.push({
        at: e.at,
        type: 'dial-ended',
        detail: { status: e.dialStatus, attempt },
      });
      if (answered && e.dialDuration !== undefined) s.dialDuration ??= e.dialDuration;
      if (s.endedAt !== undefined || s.outcome) return true; // a late action request changes no ended call
      if (answered && s.answeredAt === undefined) {
        // The leg's own callbacks were lost or are late: the Dial result is proof enough. Its
        // time is when the bridge ended, so the answer was DialCallDuration before it.
        const at = Math.max(s.startedAt, e.dialDuration !== undefined ? e.at - e.dialDuration * 1000 : e.at);
        const leg = e.dialLeg ? s.legs[e.dialLeg] : undefined;
        if (leg) {
          leg.answeredAt ??= at;
          creditAnswer(out, leg);
        } else {
          // Not even the leg is known yet: its callbacks credit the agent when they come.
          s.answeredAt = at;
          s.answeredLeg = e.dialLeg;
        }
      }
      // The bridge is over and we answer <Hangup/>, but the caller's call ends with its own
      // `completed` callback (on Telnyx's clock), not with this request. Should that callback
      // never come, the finalizer closes the call after the grace time (server clock).
      if (answered) s.finalizeAt ??= (e.receivedAt ?? e.at) + VOICEMAIL_GRACE_MS;
      return true;
    }

    case 'recording': {
      if (!current || current.recordingUrl || current.outcome === 'voicemail') return false;
      if (e.status === 'in-progress') return false;
      const s = out.state;
      if (e.status === 'completed' && e.url) {
        s.recordingUrl = e.url;
        s.recordingDuration = e.duration ?? 0;
        out.timeline.push({ at: e.at, type: 'voicemail-recorded', detail: { seconds: s.recordingDuration } });
        pushAlert(out, {
          type: 'voicemail',
          callSid: s.sid,
          from: s.from,
          durationSeconds: s.recordingDuration,
          recordingUrl: e.url,
          ...inQueue(s),
          ...(s.closed ? { closed: { ...s.closed } } : {}),
          at: iso(e.at),
        });
        if (s.outcome === 'missed') s.outcome = 'voicemail'; // late recording after a timed-out wait
        return true;
      }
      if (s.recordingAbsent) return false;
      s.recordingAbsent = true;
      out.timeline.push({ at: e.at, type: 'voicemail-absent' });
      if (s.endedAt !== undefined) out.decide = true; // the caller is gone and left no message: decide now
      return true;
    }

    case 'finalize': {
      // `at` and `finalizeAt` are both this server's clock.
      if (!current || current.finalizeAt === undefined || current.outcome) return false;
      if ((e.receivedAt ?? e.at) < current.finalizeAt) return false;
      if (current.answeredAt !== undefined && current.endedAt === undefined) {
        // An answered call whose `completed` never came: it ended by the latest Telnyx time seen.
        out.state.endedAt = Math.max(current.telnyxAt ?? current.answeredAt, current.answeredAt);
        out.state.phase = 'ended';
      }
      out.decide = true; // settleOutcome decides
      return true;
    }
  }
}

function applyStatus(current: CallState | null, e: Extract<CallEvent, { kind: 'status' }>, out: Transition) {
  const isLeg = e.parentSid !== undefined && e.parentSid !== e.legSid;
  if (!current) {
    // First we hear of this call is a callback (the voice-URL reply could not be stored, or an
    // outbound call created elsewhere): start tracking it from what the callback says.
    out.state = newCall(isLeg ? (e.parentSid as string) : e.legSid, e.at, {
      from: isLeg ? '' : (e.from ?? ''),
      to: isLeg ? '' : (e.to ?? ''),
      status: 'initiated',
    });
  }
  const s = out.state;
  if (!isLeg) {
    const before = s.status;
    if (!advances(before, s.seq, e.status, e.seq)) {
      // Late or repeated: only fill in facts still missing.
      if (e.from && !s.from) s.from = e.from;
      return !current;
    }
    s.status = e.status;
    if (e.seq !== undefined) s.seq = Math.max(s.seq, e.seq);
    if (e.initiatedAt !== undefined && (s.startedAtSource || e.initiatedAt < s.startedAt)) {
      // Telnyx's own start time replaces our receive time: the wait is then on one clock.
      s.startedAt = e.initiatedAt;
      s.startedAtSource = undefined;
    }
    if (e.from && !s.from) s.from = e.from;
    if (e.to && !s.to) s.to = e.to;
    out.timeline.push({ at: e.at, type: `caller-${e.status}` });
    if (s.direction === 'outbound') return applyOutboundAgentLeg(e, out);
    if (isTerminal(e.status) && s.endedAt === undefined) {
      s.endedAt = e.at;
      s.phase = 'ended';
      out.effects.push({ id: 'caller-ended', kind: 'caller-ended', at: e.at });
      if (s.voicemailAt !== undefined && !s.recordingUrl && s.answeredAt === undefined) {
        if (s.recordingAbsent) out.decide = true;
        else s.finalizeAt = (e.receivedAt ?? e.at) + VOICEMAIL_GRACE_MS;
      }
    }
    return true;
  }

  // An agent leg (inbound) or the customer leg (outbound).
  const leg: LegState = s.legs[e.legSid] ?? { sid: e.legSid, to: e.to ?? '', status: 'initiated', seq: -1 };
  const known = s.legs[e.legSid] !== undefined;
  if (e.to && !leg.to) leg.to = e.to;
  const legKey = sipKey(leg.to);
  const agent = e.agent ?? (legKey ? s.rungAgents.find((a) => sipKey(a.sip) === legKey) : undefined);
  if (agent && !leg.agentId) {
    leg.agentId = agent.id;
    leg.agentName = agent.name;
  }
  if (known && !advances(leg.status, leg.seq, e.status, e.seq)) {
    // A late answer of a leg that already ended: only the answer time is news.
    const lateAnswer = e.answeredAt ?? (e.status === 'in-progress' ? e.at : undefined);
    if (lateAnswer !== undefined && leg.answeredAt === undefined) {
      leg.answeredAt = lateAnswer;
      s.legs[e.legSid] = leg;
      if (s.direction === 'inbound') creditAnswer(out, leg);
      return true;
    }
    return !current;
  }
  const wasAnswered = leg.answeredAt !== undefined;
  const wasTerminal = isTerminal(leg.status);
  leg.status = e.status;
  if (e.seq !== undefined) leg.seq = Math.max(leg.seq, e.seq);
  if (e.status === 'ringing') leg.ringingAt ??= e.at;
  if (e.status === 'in-progress') leg.answeredAt ??= e.at;
  if (isTerminal(e.status)) {
    leg.endedAt ??= e.at;
    if (e.answeredAt) leg.answeredAt ??= e.answeredAt;
  }
  s.legs[e.legSid] = leg;
  out.timeline.push({
    at: e.at,
    type: `leg-${e.status}`,
    leg: e.legSid,
    detail: leg.agentName ? { agent: leg.agentName } : undefined,
  });

  if (s.direction === 'outbound') return applyCustomerLeg(leg, e, out);

  const answeredNow = leg.answeredAt !== undefined && !wasAnswered;
  if (answeredNow) creditAnswer(out, leg);
  if (leg.agentId && leg.answeredAt !== undefined && !isTerminal(leg.status) && answeredNow) {
    out.effects.push({
      id: `busy:${leg.sid}`,
      kind: 'agent-busy',
      agentId: leg.agentId,
      leg: leg.sid,
      at: leg.answeredAt as number,
    });
  }
  if (leg.agentId && isTerminal(leg.status) && !wasTerminal) {
    out.effects.push({
      id: `idle:${leg.sid}`,
      kind: 'agent-idle',
      agentId: leg.agentId,
      leg: leg.sid,
      at: leg.endedAt as number,
      answered: leg.answeredAt !== undefined,
      status: leg.status,
    });
  }
  return true;
}

/**
 * Credits the call's answer to `leg`, once per call: the answered alert and one answered call in
 * the caller's history with that agent. Reached from the leg's own callback or, when those are
 * late, from the Dial action that reported the bridge.
 */
function creditAnswer(out: Transition, leg: LegState): void {
  const s = out.state;
  if (s.answerCredited || s.voicemailAt !== undefined || leg.answeredAt === undefined) return;
  if (s.outcome !== undefined && s.outcome !== 'answered') return; // the caller had already gone
  if (s.answeredLeg !== undefined && s.answeredLeg !== leg.sid) return; // another leg won the race
  s.answerCredited = true;
  s.answeredLeg = leg.sid;
  s.answeredAt ??= leg.answeredAt;
  if (s.phase !== 'ended') s.phase = 'connected';
  out.timeline.push({
    at: s.answeredAt,
    type: 'answered',
    leg: leg.sid,
    detail: { agent: leg.agentName ?? '' },
  });
  pushAlert(out, {
    type: 'answered',
    callSid: s.sid,
    from: s.from,
    agent: leg.agentName ?? leg.to,
    waitSeconds: waitSeconds(s),
    ...inQueue(s),
    at: iso(s.answeredAt),
  });
  if (leg.agentId)
    out.effects.push({ id: 'answered-by', kind: 'answered-by', caller: s.from, agentId: leg.agentId });
}

/** Outbound click-to-call: the call Telnyx created rings the agent first. */
function applyOutboundAgentLeg(e: Extract<CallEvent, { kind: 'status' }>, out: Transition): boolean {
  const s = out.state;
  if (isTerminal(e.status) && s.endedAt === undefined) {
    s.endedAt = e.at;
    s.phase = 'ended';
  }
  return true;
}

/** Outbound click-to-call: the customer leg dialled from /texml/outbound. */
function applyCustomerLeg(
  leg: LegState,
  e: Extract<CallEvent, { kind: 'status' }>,
  out: Transition,
): boolean {
  const s = out.state;
  if (leg.answeredAt !== undefined && s.answeredAt === undefined) {
    s.answeredAt = leg.answeredAt;
    s.answeredLeg = leg.sid;
    s.phase = 'connected';
    pushAlert(out, {
      type: 'outbound-answered',
      callSid: s.sid,
      agent: s.agent?.name ?? '',
      to: s.customer ?? leg.to,
      ...asCallback(s),
      at: iso(leg.answeredAt),
    });
  }
  if (isTerminal(e.status) && s.endedAt === undefined) {
    s.endedAt = leg.endedAt ?? e.at;
    s.phase = 'ended';
  }
  return true;
}

/** Status order first, then SequenceNumber among equal statuses (e.g. repeated DTMF). */
function advances(cur: LegStatus, curSeq: number, next: LegStatus, nextSeq: number | undefined): boolean {
  const a = STATUS_RANK[cur];
  const b = STATUS_RANK[next];
  if (b > a) return true;
  if (b < a) return false;
  if (isTerminal(cur)) return false; // one terminal status is final
  return nextSeq !== undefined && nextSeq > curSeq && next !== cur;
}
