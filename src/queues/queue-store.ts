import type { CallbackRequest, QueuedCaller, QueueEntry } from './queue-entry.js';

/**
 * The callers waiting in every queue (docs/interface.md §7), shared by all replicas. Two
 * implementations run through one test suite: `RedisQueueStore` and `MemoryQueueStore` (the
 * embedded default: one process).
 *
 * Every operation that decides something is atomic, because two replicas see the same call's
 * events and two agents become free at once:
 * - `enqueue` checks `maxWaiting` and places the caller in one step (the line is never over-full);
 * - `claimNext` picks the longest-waiting caller AND marks them offered in one step, so two
 *   replicas never offer the same caller to two agents;
 * - `remove` answers once: only the replica that removed the entry gets its wait and position,
 *   so only it logs the `connect` / `abandon` / ... event.
 *
 * The store only keeps places; it logs nothing and sends nothing. The call flow logs the events
 * (src/events) with the numbers these methods return.
 */
export interface QueueStore {
  enqueue(request: EnqueueRequest, options: EnqueueOptions): Promise<EnqueueResult>;
  get(callSid: string): Promise<QueueEntry | undefined>;
  /** 1-based place in its queue, counting everyone ahead (callbacks included); undefined if not queued. */
  position(callSid: string): Promise<number | undefined>;
  /**
   * The longest-waiting claimable caller across `queues` (the queues the free agent serves),
   * marked as offered to `agentId`; undefined when nobody is waiting. Earliest first join wins,
   * whichever queue; callers being offered to someone else, callbacks whose retry time has not
   * come and callers held for another agent (`preferredUntil` not passed) are passed over. A
   * caller held for `agentId` comes first, before longer-waiting ones (sticky routing,
   * docs/interface.md §5.1).
   *
   * A claim also marks the agent as being offered a caller, until `settleClaim` (or
   * `claimGuardSeconds`, should the claiming replica die): meanwhile a claim for the same agent
   * claims nobody. Without it, two dispatches for one agent (two replicas, or the tick beside the
   * "agent freed" hook) claim two callers, and the later caller can win the agent's offer ahead
   * of the earlier one (issue #15, "callers connected in join order").
   */
  claimNext(queues: readonly string[], agentId: string, now: number): Promise<QueueEntry | undefined>;
  /**
   * The dispatch that claimed `callSid` for `agentId` has committed (or given up) the agent's side
   * of the offer: the agent may be claimed for again. A settle of another claim changes nothing.
   */
  settleClaim(agentId: string, callSid: string): Promise<void>;
  /**
   * The offer was not answered: the caller is claimable again, at the same place. With `agentId`,
   * only an offer to that agent is released (a late ring-out of an older offer changes nothing).
   * With `rangOut` (the agent let it ring out, rather than: the offer was withdrawn), the entry's
   * `ringOuts` goes up by one, so the flow can send the caller to voicemail after `DIAL_ATTEMPTS`
   * (docs/interface.md §5.2). Returns the released entry, or undefined when no such offer was
   * pending (a duplicate or stale event: count nothing).
   */
  release(
    callSid: string,
    agentId?: string,
    options?: { rangOut?: boolean },
  ): Promise<QueueEntry | undefined>;
  /**
   * The caller asked to be called back at `number`; the entry keeps its place. Undefined if not
   * queued. An entry being offered to an agent right now is returned unchanged (no `callback`):
   * the caller is about to be connected. Asking twice keeps the first request.
   */
  requestCallback(
    callSid: string,
    number: string,
    now: number,
    options?: { base?: string },
  ): Promise<QueueEntry | undefined>;
  /**
   * Attempt `attemptSid` (the click-to-call Telnyx placed) of the callback offered to `agentId`
   * is under way: it is recorded on the entry. Undefined when the entry is no longer offered to
   * that agent (the attempt already ended, or the entry left).
   */
  callbackAttemptStarted(
    callSid: string,
    agentId: string,
    attemptSid: string,
  ): Promise<QueueEntry | undefined>;
  /**
   * A callback attempt failed. The entry stays in line, not offered again before
   * `now + retrySeconds`, unless this was attempt `maxAttempts`: then it is removed and
   * `exhausted` is true (log `callback-failed`). Undefined if not queued, or when the guards do
   * not hold (a late or repeated report of an attempt already counted): `agentId`, the entry is
   * offered to that agent; `attempt`, it is that attempt (failures so far + 1); `attemptSid`,
   * the entry's attempt in progress is that call (or not recorded yet).
   */
  callbackAttemptFailed(
    callSid: string,
    options: CallbackFailure,
  ): Promise<{ entry: QueueEntry; exhausted: boolean; removed?: RemovedEntry } | undefined>;
  /**
   * Takes the caller out of line. Only the first call for a sid returns the entry (with the wait
   * and the place it had), later ones undefined: log the matching event only when defined.
   */
  remove(callSid: string, reason: RemoveReason, now: number): Promise<RemovedEntry | undefined>;
  /** The queue's callers in line order, with position and wait (`GET /api/queues`). */
  list(queue: string, now: number): Promise<QueuedCaller[]>;
  /** Per queue: how many wait, of whom callbacks and being offered, and the longest wait. */
  summaries(queues: readonly string[], now: number): Promise<QueueSummary[]>;
  /** Removes entries older than `maxAgeSeconds` (their end event was lost); returns them. */
  prune(now: number): Promise<QueueEntry[]>;
}

export interface CallbackFailure {
  now: number;
  retrySeconds: number;
  maxAttempts: number;
  agentId?: string;
  attempt?: number;
  attemptSid?: string;
}

/**
 * The entry once its caller asked to be called back at `number` (see `requestCallback`), or
 * undefined when nothing changes: a callback already asked for, or the caller being offered now.
 */
export function withCallbackRequest(
  entry: QueueEntry,
  number: string,
  now: number,
  base?: string,
): QueueEntry | undefined {
  if (entry.callback || entry.offeredTo !== undefined) return undefined;
  return {
    ...entry,
    callback: { number, requestedAt: now, attempts: 0, nextAttemptAt: now, ...(base ? { base } : {}) },
  };
}

/** The entry after a failed attempt: back in line at its place, due again `retrySeconds` later. */
export function afterFailedAttempt(
  entry: QueueEntry & { callback: CallbackRequest },
  o: CallbackFailure,
): QueueEntry {
  const { offeredTo: _a, offeredAt: _b, ...rest } = entry;
  const { attemptSid: _c, ...callback } = entry.callback;
  return {
    ...rest,
    callback: { ...callback, attempts: callback.attempts + 1, nextAttemptAt: o.now + o.retrySeconds * 1000 },
  };
}

/** True when a failure report is about the entry's attempt in progress (see `callbackAttemptFailed`). */
export function isCurrentAttempt(
  entry: QueueEntry,
  o: CallbackFailure,
): entry is QueueEntry & { callback: CallbackRequest } {
  const cb = entry.callback;
  if (!cb) return false;
  if (o.agentId !== undefined && entry.offeredTo !== o.agentId) return false;
  if (o.attempt !== undefined && cb.attempts + 1 !== o.attempt) return false;
  if (o.attemptSid !== undefined && cb.attemptSid !== undefined && cb.attemptSid !== o.attemptSid)
    return false;
  return true;
}

export interface EnqueueRequest {
  callSid: string;
  queue: string;
  caller: string;
  accountSid?: string;
  /**
   * The caller's original join time, for a caller who comes back after leaving the store (a
   * redirect that removed the entry): they get their place back. Default: `now`.
   */
  firstJoinedAt?: number;
  /** Held for this agent until `preferredUntil` (sticky routing, docs/interface.md §5.1). */
  preferredAgent?: string;
  preferredUntil?: number;
}

export interface EnqueueOptions {
  now: number;
  /** The queue's `maxWaiting`: a new caller beyond it is refused (docs/interface.md §7 "Limits"). */
  maxWaiting: number;
}

export type EnqueueResult =
  /** `rejoined`: the sid was already in line (a repeated webhook, a return): nothing changed. */
  | { ok: true; entry: QueueEntry; position: number; rejoined: boolean }
  /** The line is full: the caller goes to voicemail. */
  | { ok: false; reason: 'full'; waiting: number; maxWaiting: number };

/** Why a caller left the line; maps onto the event the flow logs. */
export type RemoveReason =
  | 'connect' // an agent answered → `connect`
  | 'abandon' // hung up while waiting → `abandon`
  | 'timeout' // maxWaitSeconds → `exit-timeout`
  | 'closed' // queue closed / nobody signed in → `exit-closed`
  | 'callback-connected' // → `callback-connected`
  | 'callback-failed' // → `callback-failed`
  | 'voicemail'; // left for voicemail for another reason → `voicemail`

export interface RemovedEntry {
  entry: QueueEntry;
  reason: RemoveReason;
  /** Whole seconds from first joining to removal. */
  waitSeconds: number;
  /** The place the caller had when removed (1-based). */
  position: number;
}

export interface QueueSummary {
  queue: string;
  /** Everyone in line, callbacks included. */
  waiting: number;
  callbacks: number;
  /** Being offered to an agent right now. */
  offered: number;
  /** Of the longest-waiting caller, whole seconds; 0 when nobody waits. */
  longestWaitSeconds: number;
}

export interface QueueStoreOptions {
  /**
   * An entry older than this is dropped (its end event was lost); every key expires this long
   * after the last write. Default 6 h: far beyond `maxWaitSeconds` plus a callback's retries.
   */
  maxAgeSeconds?: number;
  /**
   * An offer not released nor removed within this long is considered lost (its replica died):
   * the caller becomes claimable again. Default 120 s, well over a ring time.
   */
  offerTimeoutSeconds?: number;
  /**
   * How long a claim blocks another claim for the same agent when it is never settled (its
   * replica died between the claim and the agent's commit). Default 5 s: a settled claim is
   * released within a few Redis round trips; the periodic tick picks the agent up after this.
   */
  claimGuardSeconds?: number;
}

export const DEFAULT_QUEUE_MAX_AGE_SECONDS = 6 * 3600;
export const DEFAULT_OFFER_TIMEOUT_SECONDS = 120;
export const DEFAULT_CLAIM_GUARD_SECONDS = 5;
