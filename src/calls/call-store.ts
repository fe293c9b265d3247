import type { CallEvent, CallState, Effect, TimelineEntry } from './call-types.js';

export interface UpdateResult {
  /** State after the update (unchanged when `changed` is false); null if the call is unknown. */
  state: CallState | null;
  changed: boolean;
  /**
   * Effects owed by this call and not yet acknowledged: the ones this update created plus any an
   * earlier update left behind (its replica died before running them). Run each, then `ack` it.
   */
  pending: Effect[];
}

/**
 * Call state keyed by CallSid. `update` applies one event atomically (optimistic concurrency,
 * retried on conflict) so replicas receiving callbacks of one call at once never lose a step,
 * and writes the transition's effects in the same atomic step as the state (a transactional
 * outbox: an effect is never lost between "state saved" and "alert queued").
 */
export interface CallStore {
  get(sid: string): Promise<CallState | null>;
  /** Applies one event, or several in order as one atomic write. */
  update(sid: string, event: CallEvent | readonly CallEvent[]): Promise<UpdateResult>;
  /**
   * Marks effects done; this store does not hand them out again. A shared store may send the
   * mark with the call's next write, or within milliseconds (the Redis store): until then another
   * replica may still be handed one and run it again, which every effect tolerates.
   */
  ack(sid: string, effectIds: readonly string[]): Promise<void>;
  timeline(sid: string): Promise<TimelineEntry[]>;
  /** Calls not yet ended, newest first. */
  active(limit?: number): Promise<CallState[]>;
  /**
   * How many calls are in progress, for the `switchboard_active_calls` gauge: one cheap read (no
   * per-call reads), after dropping index entries older than a call can live.
   */
  activeCount(): Promise<number>;
  /** Sids whose voicemail decision is due (`finalizeAt <= now`). */
  dueForFinalize(now: number, limit?: number): Promise<string[]>;
  /** Throws when the backing store is unreachable (readiness). */
  ping(): Promise<void>;
}

/** How long a call's state lives: `ttlSeconds` once it has an outcome, longer while it runs. */
export function stateTtlSeconds(state: CallState, ttlSeconds: number): number {
  // A live call can last up to Telnyx's default TimeLimit of 4 h; keep it at least that long.
  return state.outcome ? ttlSeconds : ttlSeconds + MAX_CALL_SECONDS;
}

/** Telnyx's default (and our assumed longest) call duration: TeXML `TimeLimit`, 4 h. */
export const MAX_CALL_SECONDS = 4 * 3600;

/**
 * A call that started longer ago than this cannot still be running: its state would have expired
 * (see {@link stateTtlSeconds}). Index entries older than this are dropped, so a call that never
 * got its `completed` callback does not stay "active" forever.
 */
export function activeHorizonMs(ttlSeconds: number): number {
  return (ttlSeconds + MAX_CALL_SECONDS) * 1000;
}

export const MAX_TIMELINE = 500;

export class CallStoreConflictError extends Error {
  constructor(sid: string) {
    super(`call ${sid} kept changing under concurrent updates; giving up`);
    this.name = 'CallStoreConflictError';
  }
}
