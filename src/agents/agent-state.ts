/**
 * One agent's availability, and the pure rules that move it (docs/interface.md §5).
 *
 * Two separate things, as in FreeSWITCH mod_callcenter (status vs state) and Asterisk (paused vs
 * in use):
 * - **status**, set by a person: `available`, `break` (with a reason) or `offline`. A new agent
 *   is `available`, so a roster without a console keeps ringing (docs/interface.md §5).
 * - **state**, set by the system: `idle` → `offered` → `on-call` → `wrap-up` → `idle`.
 *
 * A call is offered only when the agent is available, idle and registered. The state holds across
 * queues (one agent, one state), so an agent serving two queues is never offered a second call.
 *
 * `applyAgentEvent` is a reducer: record + event in, new record + the call-center events to log +
 * the Slack alerts owed out. It never does I/O and takes the clock as an argument; the store
 * commits its result with a compare-and-set, so whichever replica sees an event, an agent has one
 * state. Telnyx callbacks may be repeated, late or out of order
 * (https://developers.telnyx.com/docs/development/api-fundamentals/webhooks), so every event about a
 * call names its `callSid`, and an event about a call the agent is not (or no longer) on is
 * ignored rather than applied.
 */

import type {
  AgentStatus,
  NoAnswerEvent,
  StatusChangeEvent,
  WrapUpEndEvent,
  WrapUpStartEvent,
} from '../events/call-center-event.js';

export type { AgentStatus } from '../events/call-center-event.js';

export type AgentActivity = 'idle' | 'offered' | 'on-call' | 'wrap-up';

/** Default `WRAP_UP_SECONDS` (docs/interface.md §5.2). */
export const DEFAULT_WRAP_UP_SECONDS = 30;
/** Default `MAX_NO_ANSWER` (docs/interface.md §5.2). */
export const DEFAULT_MAX_NO_ANSWER = 3;
/** The break reason the system sets after `MAX_NO_ANSWER` ring-outs in a row. */
export const NO_ANSWER_REASON = 'no-answer';
/** `by` of changes the system makes (auto-pause, wrap-up timer). */
export const SYSTEM = 'system';

export interface AgentRecord {
  agentId: string;
  status: AgentStatus;
  /** Why the agent is on break (`lunch`, `no-answer`, ...); only with status `break`. */
  reason?: string;
  /** Who set the status last (`system` for the no-answer auto-pause); undefined for a new agent. */
  statusBy?: string;
  /** When the status last changed, epoch ms; 0 for a new agent. */
  statusAt: number;
  state: AgentActivity;
  /** When the state last changed, epoch ms (longest-idle routing orders by it); 0 for a new agent. */
  stateAt: number;
  /** The call offered to, or talked to / wrapped up after, by the agent; undefined when idle. */
  callSid?: string;
  /** The queue of that call, when known (copied into no-answer and wrap-up events). */
  queue?: string;
  /** Offers rung out in a row without an answer; reset by an answer or by a person making the agent available. */
  noAnswerStreak: number;
  /** End of the wrap-up, epoch ms; only in state `wrap-up`. */
  wrapUpUntil?: number;
  /** Commits so far; the store's compare-and-set checks it. 0 = never stored. */
  version: number;
}

export type AgentEvent =
  /** A person (or the console) sets the status. */
  | { type: 'status-set'; status: AgentStatus; reason?: string; by: string }
  /** The router offers call `callSid` (rings the agent). `registered`: presence right now. */
  | { type: 'offer'; callSid: string; queue?: string; registered: boolean }
  | { type: 'offer-answered'; callSid: string }
  /** The agent let it ring out (Telnyx `no-answer`, or the dial timeout). */
  | { type: 'offer-rang-out'; callSid: string }
  /** The caller hung up, or another agent took the call (ring-all): no fault of this agent. */
  | { type: 'offer-cancelled'; callSid: string }
  /** The answered call ended. */
  | { type: 'call-ended'; callSid: string }
  /** Wrap-up over: its deadline came (`by: 'system'`), or a person ended it early. */
  | { type: 'wrap-up-ended'; by: string; callSid?: string };

export interface AgentRules {
  now: number;
  /** This agent's wrap-up, seconds (its override, else `WRAP_UP_SECONDS`); 0 = none. */
  wrapUpSeconds?: number;
  /** `MAX_NO_ANSWER`: ring-outs in a row that put the agent on break. */
  maxNoAnswer?: number;
}

/** Owed to Slack: the agent was put on break after `noAnswers` ring-outs in a row (docs/interface.md §7). */
export interface AgentAutoPausedAlert {
  type: 'agent-auto-paused';
  agentId: string;
  noAnswers: number;
  at: number;
}

export type AgentLogEvent = StatusChangeEvent | WrapUpStartEvent | WrapUpEndEvent | NoAnswerEvent;

export type AgentOutcome =
  /** The record changed: commit it, then log `events` and send `alerts`. */
  | 'applied'
  /** Nothing to do: a duplicate, or an event about a call the agent is not on. */
  | 'ignored'
  /** Not allowed now (`refusal` says why): e.g. an offer to a busy agent. */
  | 'refused';

export type AgentRefusal =
  | 'not-available' // status is break or offline
  | 'not-idle' // offered, on a call or in wrap-up
  | 'not-registered' // the phone is not registered
  | 'not-due'; // the wrap-up timer fired before the deadline (an older timer)

export interface AgentTransition {
  outcome: AgentOutcome;
  refusal?: AgentRefusal;
  record: AgentRecord;
  events: AgentLogEvent[];
  alerts: AgentAutoPausedAlert[];
}

/** The record of an agent never seen before: available and idle (docs/interface.md §5). */
export function newAgentRecord(agentId: string): AgentRecord {
  return {
    agentId,
    status: 'available',
    statusAt: 0,
    state: 'idle',
    stateAt: 0,
    noAnswerStreak: 0,
    version: 0,
  };
}

/** True when a call may be offered to this agent now (docs/interface.md §5). */
export function isOfferable(record: AgentRecord, registered: boolean): boolean {
  return registered && record.status === 'available' && record.state === 'idle';
}

const ignored = (record: AgentRecord): AgentTransition => ({
  outcome: 'ignored',
  record,
  events: [],
  alerts: [],
});

const refused = (record: AgentRecord, refusal: AgentRefusal): AgentTransition => ({
  outcome: 'refused',
  refusal,
  record,
  events: [],
  alerts: [],
});

/** Back to idle: forget the call, keep everything else. */
function toIdle(record: AgentRecord, now: number): AgentRecord {
  const { callSid: _c, queue: _q, wrapUpUntil: _w, ...rest } = record;
  return { ...rest, state: 'idle', stateAt: now };
}

/**
 * Applies one event to an agent's record. Pure: the returned record has the same `version` (the
 * store bumps it on commit). Never throws for an out-of-place event: it is `ignored` (stale or
 * duplicate) or `refused` (illegal now), and the record comes back unchanged.
 */
export function applyAgentEvent(record: AgentRecord, event: AgentEvent, rules: AgentRules): AgentTransition {
  const { now } = rules;
  const wrapUpSeconds = Math.max(0, rules.wrapUpSeconds ?? DEFAULT_WRAP_UP_SECONDS);
  const maxNoAnswer = Math.max(1, rules.maxNoAnswer ?? DEFAULT_MAX_NO_ANSWER);
  const agent = record.agentId;

  switch (event.type) {
    case 'status-set': {
      const reason = event.status === 'break' ? event.reason?.trim() || undefined : undefined;
      if (record.status === event.status && record.reason === reason) return ignored(record);
      const { reason: _r, ...rest } = record;
      const next: AgentRecord = {
        ...rest,
        status: event.status,
        ...(reason ? { reason } : {}),
        statusBy: event.by,
        statusAt: now,
        // A person making the agent available again starts a fresh no-answer count.
        noAnswerStreak: event.status === 'available' ? 0 : record.noAnswerStreak,
      };
      const change: StatusChangeEvent = {
        type: 'status-change',
        at: now,
        agent,
        from: record.status,
        to: event.status,
        by: event.by,
        ...(reason ? { reason } : {}),
      };
      return { outcome: 'applied', record: next, events: [change], alerts: [] };
    }

    case 'offer': {
      if (record.state === 'offered' && record.callSid === event.callSid) return ignored(record);
      if (record.status !== 'available') return refused(record, 'not-available');
      if (record.state !== 'idle') return refused(record, 'not-idle');
      if (!event.registered) return refused(record, 'not-registered');
      const next: AgentRecord = {
        ...record,
        state: 'offered',
        stateAt: now,
        callSid: event.callSid,
        ...(event.queue ? { queue: event.queue } : {}),
      };
      return { outcome: 'applied', record: next, events: [], alerts: [] };
    }

    case 'offer-answered': {
      if (record.callSid !== event.callSid || record.state !== 'offered') return ignored(record);
      const next: AgentRecord = { ...record, state: 'on-call', stateAt: now, noAnswerStreak: 0 };
      return { outcome: 'applied', record: next, events: [], alerts: [] };
    }

    case 'offer-rang-out': {
      if (record.callSid !== event.callSid || record.state !== 'offered') return ignored(record);
      const streak = record.noAnswerStreak + 1;
      let next: AgentRecord = { ...toIdle(record, now), noAnswerStreak: streak };
      const events: AgentLogEvent[] = [
        {
          type: 'no-answer',
          at: now,
          agent,
          callSid: event.callSid,
          ...(record.queue ? { queue: record.queue } : {}),
        },
      ];
      const alerts: AgentAutoPausedAlert[] = [];
      if (streak >= maxNoAnswer && record.status === 'available') {
        next = { ...next, status: 'break', reason: NO_ANSWER_REASON, statusBy: SYSTEM, statusAt: now };
        events.push({
          type: 'status-change',
          at: now,
          agent,
          from: 'available',
          to: 'break',
          reason: NO_ANSWER_REASON,
          by: SYSTEM,
        });
        alerts.push({ type: 'agent-auto-paused', agentId: agent, noAnswers: streak, at: now });
      }
      return { outcome: 'applied', record: next, events, alerts };
    }

    case 'offer-cancelled': {
      if (record.callSid !== event.callSid || record.state !== 'offered') return ignored(record);
      return { outcome: 'applied', record: toIdle(record, now), events: [], alerts: [] };
    }

    case 'call-ended': {
      if (record.callSid !== event.callSid) return ignored(record);
      // Ended before an answer reached us: nobody talked (or the answer was lost); no wrap-up,
      // and no no-answer either, since the flow reports ring-outs as such.
      if (record.state === 'offered') {
        return { outcome: 'applied', record: toIdle(record, now), events: [], alerts: [] };
      }
      if (record.state !== 'on-call') return ignored(record);
      if (wrapUpSeconds === 0) {
        return { outcome: 'applied', record: toIdle(record, now), events: [], alerts: [] };
      }
      const until = now + wrapUpSeconds * 1000;
      const next: AgentRecord = { ...record, state: 'wrap-up', stateAt: now, wrapUpUntil: until };
      const start: WrapUpStartEvent = {
        type: 'wrap-up-start',
        at: now,
        agent,
        callSid: event.callSid,
        until,
        ...(record.queue ? { queue: record.queue } : {}),
      };
      return { outcome: 'applied', record: next, events: [start], alerts: [] };
    }

    case 'wrap-up-ended': {
      if (record.state !== 'wrap-up') return ignored(record);
      if (event.callSid !== undefined && event.callSid !== record.callSid) return ignored(record);
      if (event.by === SYSTEM && now < (record.wrapUpUntil ?? 0)) return refused(record, 'not-due');
      const end: WrapUpEndEvent = {
        type: 'wrap-up-end',
        at: now,
        agent,
        callSid: record.callSid ?? '',
        by: event.by,
        ...(record.queue ? { queue: record.queue } : {}),
      };
      return { outcome: 'applied', record: toIdle(record, now), events: [end], alerts: [] };
    }
  }
}
