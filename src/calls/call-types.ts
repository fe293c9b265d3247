/**
 * What a call is (docs/architecture.md): its state keyed by the caller's CallSid, the events that
 * move it (`CallEvent`, one per Telnyx request or local decision) and the effects a transition owes
 * the outside world (`Effect`). The rules live in `call-state.ts` (the reducer) and
 * `call-outcome.ts` (how a finished call is judged and reported).
 */

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
  /** The queue's `callbackAttempts` when this attempt was placed (absent in states stored before it was kept). */
  attempts?: number;
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
