import { isWithheld } from './route-call.js';
import {
  answeredDay,
  callerKey,
  DEFAULT_BUSY_MAX_MS,
  DEFAULT_COUNTED_TTL_SECONDS,
  epochMs,
  type LoadOptions,
  type RoutingState,
  type RoutingStore,
  type RoutingStoreOptions,
} from './routing-store.js';

/** Callers (with their answer history) and per-call markers kept in memory at most. */
export const DEFAULT_MEMORY_ROUTING_CAP = 50_000;

export interface MemoryRoutingStoreOptions extends RoutingStoreOptions {
  /**
   * How many callers' histories, and how many per-call markers, are kept at most (default
   * {@link DEFAULT_MEMORY_ROUTING_CAP}). Past it the caller answered longest ago, or the oldest
   * marker, is forgotten, so a flood of calls cannot grow the process until its memory limit.
   */
  maxEntries?: number;
}

/**
 * Routing state in process memory: the embedded default for a single replica. Each method runs
 * without an `await` between its check and its write, so concurrent calls cannot double-count.
 */
export function createMemoryRoutingStore(options: MemoryRoutingStoreOptions = {}): RoutingStore {
  const now = options.now ?? Date.now;
  const maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MEMORY_ROUTING_CAP);
  const countedTtlMs = (options.countedTtlSeconds ?? DEFAULT_COUNTED_TTL_SECONDS) * 1000;
  const busyMaxMs = options.busyMaxMs ?? DEFAULT_BUSY_MAX_MS;
  const timeZone = options.timeZone ?? 'UTC';

  const history = new Map<string, Map<string, number>>();
  const idle = new Map<string, number>();
  const busy = new Map<string, { legSid: string; at: number }>();
  const counted = new ExpiringSet(now, maxEntries);
  const ended = new ExpiringSet(now, maxEntries);
  let rotation = 0;
  // Answered calls per agent of one local day; a new day starts from nothing (older days are
  // never read again: "today" only moves forward on one process's clock).
  let answered: { day: string; counts: Map<string, number> } = { day: '', counts: new Map() };

  return {
    async load(caller: string | undefined, loadOptions: LoadOptions = {}): Promise<RoutingState> {
      const state: RoutingState = {
        history: Object.create(null) as Record<string, number>,
        idle: Object.create(null) as Record<string, number>,
        busy: new Set(),
      };
      if (!isWithheld(caller)) {
        for (const [agentId, count] of history.get(callerKey(caller!)) ?? []) state.history[agentId] = count;
      }
      for (const [agentId, at] of idle) state.idle[agentId] = at;
      const oldest = now() - busyMaxMs;
      for (const [agentId, leg] of busy) if (leg.at >= oldest) state.busy.add(agentId);
      if (loadOptions.withRotation) state.rotation = ++rotation;
      if (loadOptions.withAnsweredToday) {
        state.answeredToday = Object.create(null) as Record<string, number>;
        if (answered.day === answeredDay(now(), timeZone))
          for (const [agentId, count] of answered.counts) state.answeredToday[agentId] = count;
      }
      return state;
    },

    async recordAnswer(callSid: string, caller: string | undefined, agentId: string): Promise<boolean> {
      if (!counted.addIfAbsent(callSid, countedTtlMs)) return false;
      const day = answeredDay(now(), timeZone);
      if (answered.day !== day) answered = { day, counts: new Map() };
      answered.counts.set(agentId, (answered.counts.get(agentId) ?? 0) + 1);
      if (isWithheld(caller)) return true;
      const key = callerKey(caller!);
      const counts = history.get(key) ?? new Map<string, number>();
      // Re-inserted at the end: map order is "answered longest ago first", the eviction order.
      history.delete(key);
      history.set(key, counts);
      counts.set(agentId, (counts.get(agentId) ?? 0) + 1);
      for (const oldest of history.keys()) {
        if (history.size <= maxEntries) break;
        history.delete(oldest);
      }
      return true;
    },

    async markBusy(agentId: string, legSid: string, at: number): Promise<void> {
      const time = epochMs(at);
      if (ended.has(legSid)) return;
      busy.set(agentId, { legSid, at: time });
    },

    async markIdle(agentId: string, legSid: string, at: number): Promise<void> {
      const time = epochMs(at);
      ended.set(legSid, busyMaxMs);
      if (busy.get(agentId)?.legSid === legSid) busy.delete(agentId);
      const last = idle.get(agentId);
      if (last === undefined || time > last) idle.set(agentId, time);
    },

    async nextRotation(): Promise<number> {
      return ++rotation;
    },
  };
}

/**
 * Keys that expire, pruned from the oldest on every write. Every key of one set has the same TTL,
 * so insertion order is expiry order and pruning stops at the first live key. Past `maxSize`
 * keys the oldest are dropped early.
 */
class ExpiringSet {
  private readonly expiry = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly maxSize: number,
  ) {}

  has(key: string): boolean {
    const expiresAt = this.expiry.get(key);
    return expiresAt !== undefined && expiresAt > this.now();
  }

  addIfAbsent(key: string, ttlMs: number): boolean {
    this.prune();
    if (this.has(key)) return false;
    this.set(key, ttlMs);
    return true;
  }

  set(key: string, ttlMs: number): void {
    this.prune();
    this.expiry.delete(key);
    this.expiry.set(key, this.now() + ttlMs);
    for (const oldest of this.expiry.keys()) {
      if (this.expiry.size <= this.maxSize) break;
      this.expiry.delete(oldest);
    }
  }

  private prune(): void {
    const now = this.now();
    for (const [key, expiresAt] of this.expiry) {
      if (expiresAt > now) return;
      this.expiry.delete(key);
    }
  }
}
