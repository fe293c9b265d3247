import type { QueueSummary } from './queue-store.js';

/**
 * One caller's place in a queue, and the pure rules for the order of the line
 * (docs/interface.md §7). Both queue stores use these, so memory and Redis order callers alike.
 */

/** A caller who asked to be called back (docs/interface.md §7 "Callback instead of waiting"). */
export interface CallbackRequest {
  /** The number to call back (E.164); never a withheld one. */
  number: string;
  requestedAt: number;
  /** Attempts that failed so far. */
  attempts: number;
  /** Not offered again before this instant (epoch ms): `callbackRetrySeconds` after a failed attempt. */
  nextAttemptAt: number;
  /** The public URL the caller's request came to: the callback's TeXML URLs when PUBLIC_URL is unset. */
  base?: string;
  /**
   * The call sid Telnyx gave the attempt in progress (its click-to-call): set once the call is
   * placed, cleared when the attempt fails. Its call state says when the agent and the caller answer.
   */
  attemptSid?: string;
}

export interface QueueEntry {
  /** The caller's inbound call sid: the entry's identity, in every queue event. */
  callSid: string;
  queue: string;
  /**
   * When the caller FIRST joined (epoch ms): the line's order. A caller who returns after an
   * offer that was not answered, or after a redirect, keeps it and so keeps their place.
   */
  firstJoinedAt: number;
  /** Tie-breaker among callers who joined in the same millisecond: the order they were enqueued. */
  seq: number;
  /** The caller's number (for the console and the callback), as Telnyx sent it. */
  caller: string;
  accountSid?: string;
  /** Set once the caller asked for a callback and hung up: the entry stays in line. */
  callback?: CallbackRequest;
  /**
   * Offers to this caller that rang out unanswered (agents who were there but did not pick up);
   * waiting while every agent is busy never counts (docs/interface.md §5.2).
   */
  ringOuts?: number;
  /** The agent this caller is being offered to right now (no one else is offered them meanwhile). */
  offeredTo?: string;
  offeredAt?: number;
  /**
   * Sticky routing (docs/interface.md §5.1): the caller's preferred agent was busy when they
   * joined, so until `preferredUntil` (epoch ms: the join plus STICKY_RING_SECONDS) only that
   * agent may be offered them, and that agent gets them before any longer-waiting caller. Ends at
   * `preferredUntil` or when an offer to that agent ends unanswered; then anyone.
   */
  preferredAgent?: string;
  preferredUntil?: number;
}

/** An entry as listed for `GET /api/queues`: with its place and how long it has waited. */
export interface QueuedCaller extends QueueEntry {
  /** 1-based, counting everyone ahead in this queue (callbacks and callers being offered included). */
  position: number;
  waitSeconds: number;
}

/** Line order: first join time, then enqueue order. */
export function compareEntries(a: QueueEntry, b: QueueEntry): number {
  return a.firstJoinedAt - b.firstJoinedAt || a.seq - b.seq;
}

/**
 * True when the entry may be offered to a free agent now: not being offered (or its offer has
 * lapsed: its replica died before releasing it), and, for a callback, its retry time has come.
 * With `agentId`, also: not held for another agent (sticky routing, docs/interface.md §5.1).
 */
export function isClaimable(
  entry: QueueEntry,
  now: number,
  offerTimeoutMs: number,
  agentId?: string,
): boolean {
  if (entry.offeredTo !== undefined && (entry.offeredAt ?? 0) > now - offerTimeoutMs) return false;
  if (entry.callback && entry.callback.nextAttemptAt > now) return false;
  const held = heldFor(entry, now);
  if (agentId !== undefined && held !== undefined && held !== agentId) return false;
  return true;
}

/** The agent the entry is held for right now (sticky routing), or undefined. */
export function heldFor(entry: QueueEntry, now: number): string | undefined {
  return entry.preferredAgent !== undefined && (entry.preferredUntil ?? 0) > now
    ? entry.preferredAgent
    : undefined;
}

/** The entry's current offer went to its preferred agent within the hold: a sticky ring (§5.1). */
export function isStickyOffer(entry: QueueEntry): boolean {
  return (
    entry.offeredTo !== undefined &&
    entry.offeredTo === entry.preferredAgent &&
    (entry.offeredAt ?? Number.POSITIVE_INFINITY) < (entry.preferredUntil ?? 0)
  );
}

/** The hold fields of an enqueue request, for the new entry (both given, or none). */
export function preference(request: {
  preferredAgent?: string;
  preferredUntil?: number;
}): Pick<QueueEntry, 'preferredAgent' | 'preferredUntil'> {
  return request.preferredAgent !== undefined && request.preferredUntil !== undefined
    ? { preferredAgent: request.preferredAgent, preferredUntil: request.preferredUntil }
    : {};
}

/** Whole seconds the caller has waited since first joining. */
export const waitSeconds = (entry: QueueEntry, now: number): number =>
  Math.max(0, Math.floor((now - entry.firstJoinedAt) / 1000));

/**
 * The entry without its offer (back in line at the same place). An offer to the preferred agent
 * uses up the hold: after it, anyone may be offered the caller (docs/interface.md §5.1).
 */
export function withoutOffer(entry: QueueEntry): QueueEntry {
  const { offeredTo, offeredAt: _b, ...rest } = entry;
  if (offeredTo === undefined || offeredTo !== rest.preferredAgent) return rest;
  const { preferredAgent: _c, preferredUntil: _d, ...free } = rest;
  return free;
}

/** One queue's summary from its line (in order). */
export function summarize(
  queue: string,
  line: readonly QueueEntry[],
  now: number,
  offerTimeoutMs: number,
): QueueSummary {
  const first = line[0];
  return {
    queue,
    waiting: line.length,
    callbacks: line.filter((e) => e.callback).length,
    offered: line.filter((e) => e.offeredTo !== undefined && (e.offeredAt ?? 0) > now - offerTimeoutMs)
      .length,
    longestWaitSeconds: first ? waitSeconds(first, now) : 0,
  };
}
