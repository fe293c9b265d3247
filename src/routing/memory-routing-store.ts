import { isWithheld } from './route-call.js';
import {
  callerKey,
  DEFAULT_BUSY_MAX_MS,
  DEFAULT_COUNTED_TTL_SECONDS,
  epochMs,
  type LoadOptions,
  type RoutingState,
  type RoutingStore,
  type RoutingStoreOptions,
} from './routing-store.js';

/**
 * Routing state in process memory: the embedded default for a single replica. Each method runs
 * without an `await` between its check and its write, so concurrent calls cannot double-count.
 */
export function createMemoryRoutingStore(options: RoutingStoreOptions = {}): RoutingStore {
  const now = options.now ?? Date.now;
  const countedTtlMs = (options.countedTtlSeconds ?? DEFAULT_COUNTED_TTL_SECONDS) * 1000;
  const busyMaxMs = options.busyMaxMs ?? DEFAULT_BUSY_MAX_MS;

  const history = new Map<string, Map<string, number>>();
  const idle = new Map<string, number>();
  const busy = new Map<string, { legSid: string; at: number }>();
  const counted = new ExpiringSet(now);
  const ended = new ExpiringSet(now);
  let rotation = 0;

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
      return state;
    },

    async recordAnswer(callSid: string, caller: string | undefined, agentId: string): Promise<boolean> {
      if (isWithheld(caller)) return false;
      if (!counted.addIfAbsent(callSid, countedTtlMs)) return false;
      const key = callerKey(caller!);
      let counts = history.get(key);
      if (!counts) {
        counts = new Map();
        history.set(key, counts);
      }
      counts.set(agentId, (counts.get(agentId) ?? 0) + 1);
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
 * so insertion order is expiry order and pruning stops at the first live key.
 */
class ExpiringSet {
  private readonly expiry = new Map<string, number>();

  constructor(private readonly now: () => number) {}

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
  }

  private prune(): void {
    const now = this.now();
    for (const [key, expiresAt] of this.expiry) {
      if (expiresAt > now) return;
      this.expiry.delete(key);
    }
  }
}
