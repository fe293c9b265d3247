import { formatLocalDate, wallTime } from '../call-center/wall-time.js';

/**
 * What routing remembers between calls: each caller's answered calls per agent, each agent's
 * answered calls today (for `fewest-calls`), when each agent's last leg ended, who is on a call
 * right now, and the shared round-robin counter.
 * Implementations: `redis-routing-store.ts` (shared by all replicas) and `memory-routing-store.ts`
 * (single replica, the embedded default); both pass `test/routing/routing-store-suite.ts`.
 */

/** Everything one routing decision needs, read in one round trip. */
export interface RoutingState {
  /** agentId → this caller's answered calls; always empty for a withheld caller. */
  history: Record<string, number>;
  /** agentId → ms epoch at which that agent's last leg ended. */
  idle: Record<string, number>;
  /** Agents with an answered leg that has not ended (stale entries older than `busyMaxMs` dropped). */
  busy: Set<string>;
  /** The round-robin counter after advancing it, when asked for with `withRotation`. */
  rotation?: number;
  /**
   * agentId → inbound calls the agent answered today (the local day in `timeZone`), when asked for
   * with `withAnsweredToday`; agents without an answered call today are absent.
   */
  answeredToday?: Record<string, number>;
  /**
   * Set by a store that keeps presence in process (the Redis store): `idle` and `busy` are then its
   * live view, updated in place by later loads — read them right after `load`, never change them —
   * and a reader that derived something per agent from an earlier state can ask which agents'
   * idle time or busy flag changed since that state's `version` (null: unknown, start over).
   * This is what keeps a routing decision O(changed agents) rather than O(roster).
   */
  presence?: { version: string; changedSince(version: string): readonly string[] | null };
}

export interface LoadOptions {
  /** Also advance the round-robin counter and return its new value (same round trip). */
  withRotation?: boolean;
  /** Also read every agent's answered calls today (`fewest-calls` routing), same round trip. */
  withAnsweredToday?: boolean;
}

export interface RoutingStore {
  /** One caller's history plus all idle times and busy flags, in ONE round trip whatever the roster size. */
  load(caller: string | undefined, options?: LoadOptions): Promise<RoutingState>;
  /**
   * Counts one answered call, at most once per `callSid`, whichever replica calls and however
   * often: one more for the agent today (local day in `timeZone`, for `fewest-calls`), and one
   * more for (caller, agent) unless the caller is withheld (history is never written for them).
   * Resolves true when this call counted it, false for a repeat.
   */
  recordAnswer(callSid: string, caller: string | undefined, agentId: string): Promise<boolean>;
  /** The agent's leg `legSid` was answered at `at` (ms epoch). Ignored if that leg already ended. */
  markBusy(agentId: string, legSid: string, at: number): Promise<void>;
  /**
   * The agent's leg `legSid` ended at `at` (ms epoch), answered or not: idle-since moves forward to
   * `at` (never back), and the busy flag is cleared if this leg set it. Calling it for unanswered
   * legs too puts an agent who let the phone ring at the back of the longest-idle order.
   */
  markIdle(agentId: string, legSid: string, at: number): Promise<void>;
  /** Advances the shared round-robin counter and returns its new value. */
  nextRotation(): Promise<number>;
}

export interface RoutingStoreOptions {
  /** Clock for busy-flag staleness (ms epoch). Default `Date.now`. */
  now?: () => number;
  /** How long the "already counted" marker of a call lives. Default 86 400 s. */
  countedTtlSeconds?: number;
  /**
   * A busy flag older than this is ignored, so a lost `completed` callback cannot hide an agent
   * forever. Default 4 h: Telnyx ends a `<Dial>` leg at `timeLimit`, 14 400 s by default
   * (https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/dial).
   */
  busyMaxMs?: number;
  /**
   * `TZ`: the IANA zone whose calendar day "today" is for the agents' answered calls (the day of
   * the daily summary and the schedules, docs/interface.md §2). Default `UTC`.
   */
  timeZone?: string;
}

export const DEFAULT_COUNTED_TTL_SECONDS = 86_400;
export const DEFAULT_BUSY_MAX_MS = 14_400_000;
/**
 * How long a day's answered-call counts are kept after their last change: past the end of the
 * longest local day (25 h), so "today" is always complete, and gone the day after.
 */
export const ANSWERED_DAY_TTL_SECONDS = 2 * 86_400;

/** The key of "today" for the agents' answered calls: the local date `YYYY-MM-DD` in `timeZone`. */
export function answeredDay(at: number, timeZone = 'UTC'): string {
  return formatLocalDate(wallTime(at, timeZone));
}

/** The form a caller's number is stored under: trimmed, lower-cased (SIP URIs differ only in case). */
export function callerKey(caller: string): string {
  return caller.trim().toLowerCase();
}

/** Rejects times that would corrupt the idle order (NaN, Infinity) and drops sub-ms fractions. */
export function epochMs(at: number): number {
  if (!Number.isFinite(at)) throw new TypeError(`time must be a finite ms epoch, got ${at}`);
  return Math.trunc(at);
}
