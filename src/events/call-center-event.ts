/**
 * The call-center event log's vocabulary (docs/interface.md §7): every step a caller or an agent
 * takes is one event, appended in order. Every queue and agent KPI (docs/interface.md §6
 * `/api/stats`, `/api/queues`) is derived from these events alone, the way Asterisk's
 * `queue_log` feeds its reports (https://docs.asterisk.org/Operation/Logging/Queue-Logs/).
 *
 * Times are epoch milliseconds (`at`); durations are whole seconds. Callers' phone numbers are
 * never part of an event: the log is exported as is (`GET /api/events`), so it carries no personal
 * data beyond call sids and agent ids.
 */

interface Base {
  /** When it happened, epoch ms (the clock of the replica that saw it). */
  at: number;
}

/** A caller reached queue `queue` (logged for every inbound call of the queue, even one offered at once). */
export interface EnterQueueEvent extends Base {
  type: 'enter-queue';
  queue: string;
  callSid: string;
  /** 1-based place in line on joining. */
  position: number;
}

/** The caller's call was offered to (rang) `agent`. */
export interface OfferEvent extends Base {
  type: 'offer';
  queue: string;
  callSid: string;
  agent: string;
}

/** An offer rang out without an answer: counts against the agent (docs/interface.md §5.2). */
export interface NoAnswerEvent extends Base {
  type: 'no-answer';
  queue?: string;
  callSid: string;
  agent: string;
}

/** An agent answered: `wait` seconds from the caller first joining the queue. */
export interface ConnectEvent extends Base {
  type: 'connect';
  queue: string;
  callSid: string;
  agent: string;
  wait: number;
}

/** An answered call ended: `talk` seconds from the answer. */
export interface CompleteEvent extends Base {
  type: 'complete';
  queue: string;
  callSid: string;
  agent: string;
  talk: number;
}

/** The caller hung up while waiting (`position` = their place then). */
export interface AbandonEvent extends Base {
  type: 'abandon';
  queue: string;
  callSid: string;
  wait: number;
  position: number;
}

/** The caller waited `maxWaitSeconds` and left for voicemail. */
export interface ExitTimeoutEvent extends Base {
  type: 'exit-timeout';
  queue: string;
  callSid: string;
  wait: number;
  position: number;
}

/** The queue closed, or no agent of it was signed in, while the caller waited. */
export interface ExitClosedEvent extends Base {
  type: 'exit-closed';
  queue: string;
  callSid: string;
  wait: number;
  position: number;
  reason?: string;
}

/** The caller pressed 1 and hung up; their entry keeps its place (docs/interface.md §7). */
export interface CallbackRequestedEvent extends Base {
  type: 'callback-requested';
  queue: string;
  callSid: string;
  wait: number;
  position: number;
}

/** A callback started: the agent is rung, then the caller. `attempt` is 1-based. */
export interface CallbackAttemptEvent extends Base {
  type: 'callback-attempt';
  queue: string;
  callSid: string;
  agent: string;
  attempt: number;
}

/**
 * The callback reached the caller; `wait` is from first joining to now. The agent is on the call
 * from here: when it ends, `complete` (talk) follows, as after a `connect`.
 */
export interface CallbackConnectedEvent extends Base {
  type: 'callback-connected';
  queue: string;
  callSid: string;
  agent: string;
  attempt: number;
  wait: number;
}

/** The callback gave up after its last attempt. */
export interface CallbackFailedEvent extends Base {
  type: 'callback-failed';
  queue: string;
  callSid: string;
  attempts: number;
  wait: number;
}

/** The caller reached the voicemail flow (`reason`: why, e.g. `no-answer`, `full`, `closed`). */
export interface VoicemailEvent extends Base {
  type: 'voicemail';
  queue?: string;
  callSid: string;
  reason?: string;
  /**
   * With reason `closed` (the queue was closed when the caller reached it, docs/interface.md §9):
   * why — `after-hours`, `holiday`, `closure` or `manual`.
   */
  closed?: string;
}

export type AgentStatus = 'available' | 'break' | 'offline';

/** An agent's status changed, set by a person (`by`) or by the system (`by: 'system'`). */
export interface StatusChangeEvent extends Base {
  type: 'status-change';
  agent: string;
  from: AgentStatus;
  to: AgentStatus;
  reason?: string;
  by: string;
}

/** An agent's wrap-up after call `callSid` began; it lasts until `until` unless ended early. */
export interface WrapUpStartEvent extends Base {
  type: 'wrap-up-start';
  agent: string;
  callSid: string;
  queue?: string;
  until: number;
}

/** An agent's wrap-up ended, on time (`by: 'timer'`) or by hand (`by`: who). */
export interface WrapUpEndEvent extends Base {
  type: 'wrap-up-end';
  agent: string;
  callSid: string;
  queue?: string;
  by: string;
}

export type CallCenterEvent =
  | EnterQueueEvent
  | OfferEvent
  | NoAnswerEvent
  | ConnectEvent
  | CompleteEvent
  | AbandonEvent
  | ExitTimeoutEvent
  | ExitClosedEvent
  | CallbackRequestedEvent
  | CallbackAttemptEvent
  | CallbackConnectedEvent
  | CallbackFailedEvent
  | VoicemailEvent
  | StatusChangeEvent
  | WrapUpStartEvent
  | WrapUpEndEvent;

export type CallCenterEventType = CallCenterEvent['type'];

/** An event as the log hands it back: `id` is its place in the log (opaque, increasing). */
export type LoggedEvent = CallCenterEvent & { id: string };

export const EVENT_TYPES: ReadonlySet<CallCenterEventType> = new Set<CallCenterEventType>([
  'enter-queue',
  'offer',
  'no-answer',
  'connect',
  'complete',
  'abandon',
  'exit-timeout',
  'exit-closed',
  'callback-requested',
  'callback-attempt',
  'callback-connected',
  'callback-failed',
  'voicemail',
  'status-change',
  'wrap-up-start',
  'wrap-up-end',
]);

/** One event as stored: compact JSON. */
export function encodeEvent(event: CallCenterEvent): string {
  return JSON.stringify(event);
}

/**
 * An event read back, or undefined when it is not one this version understands (a newer replica
 * during a rolling deploy may log types this one does not know: they are passed over, not fatal).
 */
export function decodeEvent(raw: string): CallCenterEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as { type?: unknown; at?: unknown };
  if (typeof e.type !== 'string' || !EVENT_TYPES.has(e.type as CallCenterEventType)) return undefined;
  if (typeof e.at !== 'number' || !Number.isFinite(e.at)) return undefined;
  return value as CallCenterEvent;
}
