import { plainCopy } from '../plain-copy.js';
import { applyEvents } from './call-state.js';
import { type CallStore, MAX_TIMELINE, stateTtlSeconds, type UpdateResult } from './call-store.js';
import type { CallEvent, CallState, Effect, TimelineEntry } from './call-types.js';

interface Entry {
  state: CallState;
  timeline: TimelineEntry[];
  pending: Map<string, Effect>;
  expiresAt: number;
}

/** Finished calls kept in memory at most (the oldest finished are evicted first). */
export const DEFAULT_MAX_FINISHED_CALLS = 50_000;

/**
 * Call state in process memory: the embedded default without REDIS_URL. Correct for one replica
 * only (the server logs a warning). Expired calls are dropped lazily and by a periodic sweep, and
 * past `maxFinishedCalls` finished calls the oldest finished ones are evicted at once, so a burst
 * of calls cannot grow the process until its memory limit. Running calls are never evicted.
 */
export class MemoryCallStore implements CallStore {
  private readonly calls = new Map<string, Entry>();
  /** Sids of running calls (few: bounded by concurrent calls), for an exact, cheap count. */
  private readonly running = new Set<string>();
  /** Sids of finished calls in the order they finished: the eviction order. */
  private readonly finished = new Set<string>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
    private readonly maxFinishedCalls: number = DEFAULT_MAX_FINISHED_CALLS,
  ) {
    this.sweep = setInterval(() => this.dropExpired(), 60_000);
    this.sweep.unref();
  }

  private forget(sid: string): void {
    this.calls.delete(sid);
    this.running.delete(sid);
    this.finished.delete(sid);
  }

  close(): void {
    clearInterval(this.sweep);
  }

  private entry(sid: string): Entry | undefined {
    const e = this.calls.get(sid);
    if (e && e.expiresAt <= this.now()) {
      this.forget(sid);
      return undefined;
    }
    return e;
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [sid, e] of this.calls) if (e.expiresAt <= now) this.forget(sid);
  }

  async get(sid: string): Promise<CallState | null> {
    const e = this.entry(sid);
    return e ? plainCopy(e.state) : null;
  }

  async update(sid: string, event: CallEvent | readonly CallEvent[]): Promise<UpdateResult> {
    const e = this.entry(sid);
    const t = applyEvents(e ? e.state : null, Array.isArray(event) ? event : [event]);
    if (!t) {
      return {
        state: e ? plainCopy(e.state) : null,
        changed: false,
        pending: e ? [...e.pending.values()] : [],
      };
    }
    const entry: Entry = e ?? { state: t.state, timeline: [], pending: new Map(), expiresAt: 0 };
    entry.state = t.state;
    entry.timeline.push(...t.timeline);
    if (entry.timeline.length > MAX_TIMELINE) entry.timeline.splice(0, entry.timeline.length - MAX_TIMELINE);
    for (const fx of t.effects) if (!entry.pending.has(fx.id)) entry.pending.set(fx.id, fx);
    entry.expiresAt = this.now() + stateTtlSeconds(t.state, this.ttlSeconds) * 1000;
    this.calls.set(sid, entry);
    if (t.state.phase === 'ended') {
      this.running.delete(sid);
      if (!this.finished.has(sid)) this.finished.add(sid);
      this.evictFinished();
    } else {
      this.running.add(sid);
    }
    return {
      state: plainCopy(t.state),
      changed: true,
      pending: plainCopy([...entry.pending.values()]),
    };
  }

  async ack(sid: string, effectIds: readonly string[]): Promise<void> {
    const e = this.entry(sid);
    if (!e) return;
    for (const id of effectIds) e.pending.delete(id);
  }

  async timeline(sid: string): Promise<TimelineEntry[]> {
    return plainCopy(this.entry(sid)?.timeline ?? []);
  }

  /** Evicts the oldest finished calls past the cap (a Set iterates in insertion order). */
  private evictFinished(): void {
    for (const sid of this.finished) {
      if (this.finished.size <= this.maxFinishedCalls) return;
      this.forget(sid);
    }
  }

  async activeCount(): Promise<number> {
    let n = 0;
    for (const sid of [...this.running]) if (this.entry(sid)) n += 1;
    return n;
  }

  async active(limit = 200): Promise<CallState[]> {
    const out: CallState[] = [];
    for (const sid of [...this.running]) {
      const e = this.entry(sid);
      if (e && e.state.phase !== 'ended') out.push(plainCopy(e.state));
    }
    return out.sort((a, b) => b.startedAt - a.startedAt).slice(0, limit);
  }

  async dueForFinalize(now: number, limit = 100): Promise<string[]> {
    const out: string[] = [];
    for (const [sid, e] of this.calls) {
      if (e.state.finalizeAt !== undefined && e.state.finalizeAt <= now) out.push(sid);
      if (out.length >= limit) break;
    }
    return out;
  }

  async ping(): Promise<void> {}
}
