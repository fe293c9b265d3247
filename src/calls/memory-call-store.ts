import {
  applyEvents,
  type CallEvent,
  type CallState,
  type Effect,
  type TimelineEntry,
} from './call-state.js';
import { type CallStore, MAX_TIMELINE, stateTtlSeconds, type UpdateResult } from './call-store.js';

interface Entry {
  state: CallState;
  timeline: TimelineEntry[];
  pending: Map<string, Effect>;
  expiresAt: number;
}

/**
 * Call state in process memory: the embedded default without REDIS_URL. Correct for one replica
 * only (the server logs a warning). Expired calls are dropped lazily and by a periodic sweep.
 */
export class MemoryCallStore implements CallStore {
  private readonly calls = new Map<string, Entry>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweep = setInterval(() => this.dropExpired(), 60_000);
    this.sweep.unref();
  }

  close(): void {
    clearInterval(this.sweep);
  }

  private entry(sid: string): Entry | undefined {
    const e = this.calls.get(sid);
    if (e && e.expiresAt <= this.now()) {
      this.calls.delete(sid);
      return undefined;
    }
    return e;
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [sid, e] of this.calls) if (e.expiresAt <= now) this.calls.delete(sid);
  }

  async get(sid: string): Promise<CallState | null> {
    const e = this.entry(sid);
    return e ? structuredClone(e.state) : null;
  }

  async update(sid: string, event: CallEvent | readonly CallEvent[]): Promise<UpdateResult> {
    const e = this.entry(sid);
    const t = applyEvents(e ? e.state : null, Array.isArray(event) ? event : [event]);
    if (!t) {
      return {
        state: e ? structuredClone(e.state) : null,
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
    return {
      state: structuredClone(t.state),
      changed: true,
      pending: structuredClone([...entry.pending.values()]),
    };
  }

  async ack(sid: string, effectIds: readonly string[]): Promise<void> {
    const e = this.entry(sid);
    if (!e) return;
    for (const id of effectIds) e.pending.delete(id);
  }

  async timeline(sid: string): Promise<TimelineEntry[]> {
    return structuredClone(this.entry(sid)?.timeline ?? []);
  }

  async active(limit = 200): Promise<CallState[]> {
    const out: CallState[] = [];
    for (const [sid] of this.calls) {
      const e = this.entry(sid);
      if (e && e.state.phase !== 'ended') out.push(structuredClone(e.state));
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
