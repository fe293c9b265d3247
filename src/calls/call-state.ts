/**
 * The state of one call, keyed by the caller's CallSid, and the pure rules that move it forward.
 *
 * Telnyx callbacks "can be concurrent, duplicated, delayed, or delivered out of order"
 * (https://developers.telnyx.com/docs/development/api-fundamentals/webhooks), so `applyEvent`
 * never moves a status back: a late event may fill in a fact that is still missing (an answer
 * time, say) but never undoes a later one. Every side effect (a Slack alert, a history count, a
 * call record) is derived here once per call and handed out as an `Effect` with a stable id, so
 * whichever replica commits the transition owns the effect, and re-running it is harmless.
 */

import { sipKey } from '../agents/sip-uri.js';
import type { Alert } from '../alerts/alert.js';

export type LegStatus =
  | 'queued'
  | 'initiated'
  | 'ringing'
  | 'in-progress'
  | 'completed'
  | 'busy'
  | 'no-answer'
  | 'canceled'
  | 'failed';

export const TERMINAL_STATUSES: ReadonlySet<LegStatus> = new Set([
  'completed',
  'busy',
  'no-answer',
  'canceled',
  'failed',
]);

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

export const isTerminal = (status: LegStatus): boolean => TERMINAL_STATUSES.has(status);

/** Where the caller is in the flow. */
export type CallPhase =
  | 'ringing-agents' // a <Dial> round is ringing agents
  | 'voicemail' // the voicemail prompt or <Record> is running
  | 'connected' // an agent answered
  | 'agent-leg' // outbound click-to-call: ringing or talking to the agent before the customer is dialled
  | 'dialing-customer' // outbound: the agent answered, the customer is being dialled
  | 'ended';

/** `callback`: the caller asked to be called back from the queue and hung up (docs/interface.md §7). */
export type CallOutcome = 'answered' | 'missed' | 'abandoned' | 'voicemail' | 'failed' | 'callback';

/** The queue callback an outbound call places (docs/interface.md §7): the caller's entry and the attempt. */
export interface CallbackRef {
  /** The caller's original inbound CallSid: their entry in the queue. */
  callSid: string;
  queue: string;
  /** 1-based. */
  attempt: number;
}

/**
 * Why a caller's queue was closed when they reached it (docs/interface.md §9), as the opening
 * hours say: outside the weekly hours, a holiday, a one-off closure, or closed by hand.
 */
export type ClosedReason = 'after-hours' | 'holiday' | 'closure' | 'manual';

/** The queue was closed: why, and the holiday's, closure's or override's own reason when it has one. */
export interface ClosedInfo {
  reason: ClosedReason;
  detail?: string;
}

/** How the caller left the menu when no valid key decided: nothing pressed, or a wrong key. */
export type MenuFallback = 'timeout' | 'invalid';

export interface AgentRef {
  id: string;
  name: string;
  sip: string;
}

/** One leg the call created: an agent's SIP phone (inbound) or the customer (outbound). */
export interface LegState {
  sid: string;
  to: string;
  agentId?: string;
  agentName?: string;
  status: LegStatus;
  seq: number;
  ringingAt?: number;
  answeredAt?: number;
  endedAt?: number;
}

export interface CallState {
  sid: string;
  direction: 'inbound' | 'outbound';
  /** Caller number for inbound calls, HOTLINE_NUMBER for outbound ones. */
  from: string;
  to: string;
  callerName?: string;
  /** Outbound click-to-call: the agent who placed it and the customer's number. */
  agent?: AgentRef;
  customer?: string;
  /** Outbound: the queue callback this call places, if it is one. */
  callback?: CallbackRef;
  /** Inbound: the caller asked to be called back from the queue (then hung up). */
  callbackRequestedAt?: number;
  /** Status of the caller's own leg (the leg Telnyx knows by this CallSid). */
  status: LegStatus;
  seq: number;
  phase: CallPhase;
  /** Epoch milliseconds, on Telnyx's clock once a callback brought `CallInitiatedAt`. */
  startedAt: number;
  /**
   * Where `startedAt` comes from when not from Telnyx's `CallInitiatedAt`: `local` = this server's
   * receive time (nothing on Telnyx's clock seen yet); `estimate` = the first Telnyx time seen
   * minus the time that passed on our clock since the call arrived. Either is replaced by
   * `CallInitiatedAt` when a callback brings it.
   */
  startedAtSource?: 'local' | 'estimate';
  /** Latest Telnyx `Timestamp` seen for this call: where an event without one is placed. */
  telnyxAt?: number;
  /** `DialCallDuration` of the bridged <Dial>: Telnyx's own talk time, in seconds. */
  dialDuration?: number;
  answeredAt?: number;
  endedAt?: number;
  /** The answer was credited to an agent (answered alert, history): once per call. */
  answerCredited?: boolean;
  /** The agent leg that answered (inbound) or the customer leg (outbound). */
  answeredLeg?: string;
  attempts: number;
  /**
   * Of `attempts`, the sticky rounds (the preferred agent alone, docs/interface.md §5.1): they do
   * not count against DIAL_ATTEMPTS. Absent = 0.
   */
  stickyRounds?: number;
  /** Highest ring round whose <Dial> action came back. */
  dialsEnded?: number;
  /** Agent ids rung so far in this call, in order, without repeats. */
  rung: string[];
  /** The agents rung, so a leg's `To` resolves to the agent even if the roster changed since. */
  rungAgents: AgentRef[];
  legs: Record<string, LegState>;
  voicemailAt?: number;
  /** `closed`: the caller's queue was closed when they reached it (see `closed`). */
  voicemailReason?: 'no-answer' | 'no-agents' | 'closed';
  /**
   * The queue of the call (docs/interface.md §7, §9): the menu's choice, else the default queue.
   * Set once; absent for outbound calls and for calls stored before queues existed.
   */
  queue?: string;
  /** The menu (docs/interface.md §9): how often it was played, and how the caller left it. */
  menu?: {
    /** Times the menu was played (1 = once). */
    attempts: number;
    /** The key that chose the queue; absent when the default queue was taken. */
    digit?: string;
    /** Why the default queue was taken: no key, or a wrong key, on the last attempt. */
    fallback?: MenuFallback;
  };
  /** The caller's queue was closed when they reached it: why (docs/interface.md §9). */
  closed?: ClosedInfo;
  recordingUrl?: string;
  recordingDuration?: number;
  /** Telnyx reported that no recording was made. */
  recordingAbsent?: boolean;
  outcome?: CallOutcome;
  /**
   * Caller hung up during the voicemail flow: decide voicemail vs missed when the recording
   * reports, or at this time. This server's clock (the finalizer compares it with its own now).
   */
  finalizeAt?: number;
  updatedAt: number;
}

export interface TimelineEntry {
  at: number;
  type: string;
  /** Leg the entry is about, if not the caller's own leg. */
  leg?: string;
  detail?: Record<string, string | number | boolean | null>;
}

/**
 * A side effect a transition owes the world, with an id unique within its call.
 * - alert: one Slack message.
 * - answered-by: one answered call added to the caller's history with this agent.
 * - agent-busy / agent-idle: an agent's leg started or stopped talking.
 * - finished: the call is over; write its call record once.
 */
export type Effect =
  | { id: string; kind: 'alert'; alert: Alert }
  | { id: string; kind: 'answered-by'; caller: string; agentId: string }
  | { id: string; kind: 'agent-busy'; agentId: string; leg: string; at: number }
  | {
      id: string;
      kind: 'agent-idle';
      agentId: string;
      leg: string;
      at: number;
      /** The leg was answered (the agent talked): its end starts the wrap-up. */
      answered?: boolean;
      /** The leg's final status: `no-answer`/`busy` = the agent let the offer ring out. */
      status?: LegStatus;
    }
  /** The caller's own leg ended (inbound): every agent still offered this call is freed. */
  | { id: string; kind: 'caller-ended'; at: number }
  | { id: string; kind: 'finished' };

/**
 * What a route or callback tells the state machine. Times are epoch milliseconds on Telnyx's
 * clock (its `Timestamp`). An event whose request carried no `Timestamp` says `local: true`: its
 * `at` is this server's receive time, and it is placed at the latest Telnyx time the call has
 * seen instead, so no duration is ever a difference between Telnyx's clock and ours.
 * `receivedAt` is always this server's clock (for timers).
 */
export type CallEvent = CallEventBody & {
  /** The request carried no Telnyx `Timestamp`: `at` is this server's clock. */
  local?: boolean;
  /** When this server received it (its own clock); defaults to `at`. */
  receivedAt?: number;
};

type CallEventBody =
  | {
      kind: 'inbound';
      sid: string;
      from: string;
      to: string;
      callerName?: string;
      at: number;
    }
  | {
      kind: 'outbound-created';
      sid: string;
      from: string;
      agent: AgentRef;
      customer: string;
      /** A queue callback (docs/interface.md §7), not a click on "call". */
      callback?: CallbackRef;
      at: number;
    }
  | {
      kind: 'dial-started';
      attempt: number;
      targets: AgentRef[];
      at: number;
      /** The preferred agent rings alone for STICKY_RING_SECONDS: not one of DIAL_ATTEMPTS (§5.1). */
      sticky?: boolean;
    }
  | { kind: 'customer-dial-started'; at: number }
  /** The waiting caller pressed 1: called back later, not a missed call (docs/interface.md §7). */
  | { kind: 'callback-requested'; at: number }
  | { kind: 'voicemail-started'; reason: 'no-answer' | 'no-agents'; at: number }
  /**
   * The menu is played (again) as attempt `attempt` (1 = the first time); `reason`: why it is
   * repeated (no key, or a wrong key, on the attempt before).
   */
  | { kind: 'menu-played'; attempt: number; reason?: MenuFallback; at: number }
  /**
   * The call's queue is decided: by a key at the menu (`digit`), by the menu's fallback after its
   * retries (`fallback`), or without a menu (neither). Once per call.
   */
  | { kind: 'queue-chosen'; queue: string; digit?: string; fallback?: MenuFallback; at: number }
  | {
      kind: 'voicemail-started';
      reason: 'no-answer' | 'no-agents' | 'closed';
      /** With reason `closed`: why the queue was closed. */
      closed?: ClosedInfo;
      at: number;
    }
  | {
      kind: 'status';
      /** CallSid of the callback: the caller's call itself, or one of its legs. */
      legSid: string;
      /** ParentCallSid: set for legs created by <Dial>. */
      parentSid?: string;
      status: LegStatus;
      seq?: number;
      from?: string;
      to?: string;
      at: number;
      answeredAt?: number;
      /** CallInitiatedAt: when Telnyx started the call, the true start of the caller's wait. */
      initiatedAt?: number;
      /** Leg resolved to an agent by the route (SIP URI → roster). */
      agent?: AgentRef;
    }
  | {
      kind: 'dial-ended';
      /** DialCallStatus; `completed` (or `answered`) means an agent talked to the caller. */
      dialStatus: string;
      dialLeg?: string;
      dialDuration?: number;
      attempt?: number;
      at: number;
    }
  | {
      kind: 'recording';
      status: 'completed' | 'absent' | 'in-progress';
      url?: string;
      duration?: number;
      at: number;
    }
  | { kind: 'finalize'; at: number };

export interface Transition {
  state: CallState;
  timeline: TimelineEntry[];
  effects: Effect[];
  /** The voicemail-or-missed decision is due in this transition (not a stored field). */
  decide?: boolean;
}

/** How long to wait for a recording report after a caller hung up in the voicemail flow. */
export const VOICEMAIL_GRACE_MS = 60_000;

const seconds = (fromMs: number | undefined, toMs: number | undefined): number =>
  fromMs === undefined || toMs === undefined ? 0 : Math.max(0, Math.round((toMs - fromMs) / 1000));

const iso = (ms: number): string => new Date(ms).toISOString();

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

/** Wait until the caller reached an agent or gave up. */
export const waitSeconds = (s: CallState): number =>
  s.direction === 'outbound' ? 0 : seconds(s.startedAt, s.answeredAt ?? s.voicemailAt ?? s.endedAt);

/**
 * Talk time of an answered call, from one clock only: the answering leg's own answered and ended
 * times (both Telnyx `Timestamp`s of that leg's callbacks), else Telnyx's `DialCallDuration`, else
 * the answer until the caller's own end (both Telnyx times).
 */
export const talkSeconds = (s: CallState): number => {
  if (s.answeredAt === undefined) return 0;
  const leg = s.answeredLeg ? s.legs[s.answeredLeg] : undefined;
  if (leg?.answeredAt !== undefined && leg.endedAt !== undefined) return seconds(leg.answeredAt, leg.endedAt);
  if (s.dialDuration !== undefined) return s.dialDuration;
  return s.endedAt !== undefined ? seconds(s.answeredAt, s.endedAt) : 0;
};

/**
 * Applies one event to the current state (null = unknown call). Returns the next state with its
 * timeline entries and owed effects, or null when the event changes nothing (a duplicate, or a
 * status that would move backwards).
 */
export function applyEvent(current: CallState | null, incoming: CallEvent): Transition | null {
  const event = onTelnyxClock(current, incoming);
  const out: Transition = {
    state: current ? structuredClone(current) : (null as never),
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

/** The id `alert:<type>` makes each alert once per call: the outbox drops a key it has seen. */
function pushAlert(out: Transition, alert: Alert): void {
  out.effects.push({ id: `alert:${alert.type}`, kind: 'alert', alert });
}

/**
 * Once a call is over, fix its outcome and owe the closing alert and the call record. Runs after
 * every transition; it acts only on the transition that first makes the outcome known.
 */
function settleOutcome(out: Transition): void {
  const s = out.state;
  if (s.outcome) return;
  const at = s.endedAt ?? s.updatedAt;

  if (s.direction === 'outbound') {
    if (s.endedAt === undefined) return;
    s.outcome = s.answeredAt !== undefined ? 'answered' : isFailure(s.status) ? 'failed' : 'missed';
    pushAlert(out, {
      type: 'outbound-completed',
      callSid: s.sid,
      agent: s.agent?.name ?? '',
      to: s.customer ?? '',
      answered: s.answeredAt !== undefined,
      talkSeconds: talkSeconds(s),
      at: iso(at),
    });
    s.finalizeAt = undefined;
    out.effects.push({ id: 'finished', kind: 'finished' });
    return;
  }

  if (s.endedAt === undefined) return;
  if (s.answeredAt !== undefined) {
    s.outcome = 'answered';
    const leg = s.answeredLeg ? s.legs[s.answeredLeg] : undefined;
    pushAlert(out, {
      type: 'completed',
      callSid: s.sid,
      from: s.from,
      agent: leg?.agentName ?? 'unknown agent',
      talkSeconds: talkSeconds(s),
      waitSeconds: waitSeconds(s),
      ...inQueue(s),
      at: iso(at),
    });
  } else if (s.callbackRequestedAt !== undefined && s.voicemailAt === undefined) {
    // Hung up after asking to be called back: the queue owes the callback, nobody missed a call.
    s.outcome = 'callback';
  } else if (s.recordingUrl) {
    s.outcome = 'voicemail';
  } else if (s.voicemailAt !== undefined) {
    // Hung up in the voicemail flow: wait for the recording report (or its grace time).
    if (!out.decide) return;
    s.outcome = 'missed';
    pushMissed(out, s.voicemailReason ?? 'no-answer', at);
  } else if (isFailure(s.status) && s.attempts === 0) {
    s.outcome = 'failed';
  } else {
    s.outcome = 'abandoned';
    pushMissed(out, 'caller-hung-up', at);
  }
  s.finalizeAt = undefined;
  out.effects.push({ id: 'finished', kind: 'finished' });
  out.timeline.push({ at, type: 'outcome', detail: { outcome: s.outcome } });
}

function pushMissed(
  out: Transition,
  reason: 'caller-hung-up' | 'no-answer' | 'no-agents' | 'closed',
  at: number,
): void {
  const s = out.state;
  pushAlert(out, {
    type: 'missed',
    callSid: s.sid,
    from: s.from,
    waitSeconds: waitSeconds(s),
    reason,
    ...inQueue(s),
    ...(reason === 'closed' && s.closed ? { closed: { ...s.closed } } : {}),
    at: iso(at),
  });
}

/** The call's queue for its alerts (docs/interface.md §4), when it has one. */
const inQueue = (s: CallState): { queue?: string } => (s.queue !== undefined ? { queue: s.queue } : {});

const isFailure = (status: LegStatus): boolean => status === 'failed' || status === 'busy';
