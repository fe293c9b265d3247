import { randomUUID } from 'node:crypto';
import type { Alert } from './alert.js';
import {
  ALERT_CLASS,
  callSidOf,
  copyCounters,
  DEFAULT_DEAD_LETTER_LIMIT,
  DEFAULT_FOLD_DEPTH,
  DEFAULT_ROUTINE_LIMIT,
  DEFAULT_SEEN_TTL_SECONDS,
  type DeadLetter,
  decodeDeadLetter,
  decodeMessage,
  EnqueueSignal,
  encodeDeadLetter,
  encodeMessage,
  enqueuePlan,
  eventsOf,
  foldField,
  newCounters,
  type Outbox,
  type OutboxCounters,
  type OutboxHead,
  type OutboxOptions,
  type RunLease,
  tally,
  withFolded,
} from './outbox.js';

/** Dedupe keys remembered at most (about 4 per call): past it the oldest are forgotten early. */
export const DEFAULT_MAX_SEEN_KEYS = 200_000;

/** The deliverer's lease, in the scheduler's run leases. */
const OUTBOX_LEASE_JOB = 'outbox';

export interface MemoryOutboxOptions extends OutboxOptions {
  /** Default {@link DEFAULT_MAX_SEEN_KEYS}. */
  maxSeenKeys?: number;
}

/**
 * The outbox in process memory: the embedded default when no Redis is configured. Same semantics
 * as `RedisOutbox` for one process (messages are stored serialized, so both behave alike: two
 * lanes, folding, summary; see src/alerts/outbox.ts), but nothing survives a restart and other
 * replicas cannot see it. Bounded: the routine lane by the summary, dedupe keys by a cap.
 */
export class MemoryOutbox implements Outbox {
  /** Stored message → order score. Urgent scores only grow, so map order is delivery order. */
  readonly #urgent = new Map<string, number>();
  /** Routine lane: a message that supersedes others takes the oldest one's score, so not sorted. */
  readonly #routine = new Map<string, number>();
  /** `<type>|<callSid>` → stored message, for unsent supersedable call alerts. */
  readonly #index = new Map<string, string>();
  /** key → expiry (epoch ms). Insertion order = expiry order, since the TTL is fixed. */
  readonly #seen = new Map<string, number>();
  readonly #dead: string[] = [];
  readonly #counters = newCounters();
  readonly #signal = new EnqueueSignal();
  readonly #seenTtlMs: number;
  readonly #maxSeen: number;
  readonly #deadLetterLimit: number;
  readonly #routineLimit: number;
  readonly #foldDepth: number;
  readonly #now: () => number;
  #seq = 0;
  /** The head handed out by the last `peek` (being posted): never folded or summarized. */
  #inflight: string | undefined;
  /** The unsent `backlog` summary, which later chatter merges into. */
  #summary: string | undefined;
  readonly #lease: RunLease;
  #pausedUntil = 0;

  constructor(options: MemoryOutboxOptions) {
    this.#seenTtlMs = (options.seenTtlSeconds ?? DEFAULT_SEEN_TTL_SECONDS) * 1000;
    this.#maxSeen = Math.max(1, options.maxSeenKeys ?? DEFAULT_MAX_SEEN_KEYS);
    this.#deadLetterLimit = options.deadLetterLimit ?? DEFAULT_DEAD_LETTER_LIMIT;
    this.#routineLimit = Math.max(1, options.routineLimit ?? DEFAULT_ROUTINE_LIMIT);
    this.#foldDepth = Math.max(0, options.foldDepth ?? DEFAULT_FOLD_DEPTH);
    this.#now = options.now ?? Date.now;
    this.#lease = options.lease;
  }

  async enqueue(key: string, alert: Alert): Promise<boolean> {
    const now = this.#now();
    this.#forgetExpired(now);
    if (this.#seen.has(key)) {
      this.#counters.duplicates += 1;
      return false;
    }
    this.#seen.set(key, now + this.#seenTtlMs);
    const plan = enqueuePlan(alert);
    const folded: string[] = [];
    let score: number | undefined;
    const behind = this.#urgent.size + this.#routine.size >= this.#foldDepth;
    const promote: Array<[number, string]> = [];
    for (const field of plan.foldFields) {
      const old = this.#index.get(field);
      if (old === undefined) continue;
      const oldScore = this.#routine.get(old);
      if (oldScore === undefined) {
        this.#index.delete(field);
      } else if (behind && old !== this.#inflight) {
        this.#index.delete(field);
        this.#routine.delete(old);
        folded.push(old);
        score = Math.min(score ?? oldScore, oldScore);
        tally(this.#counters.superseded, field.slice(0, field.indexOf('|')));
      } else if (plan.lane === 'urgent') {
        this.#index.delete(field);
        promote.push([oldScore, old]);
      }
    }
    // Not folded (Slack keeps up, or it is being posted right now): an urgent alert must still not
    // overtake its own call's earlier alerts, so those move to the urgent lane just ahead of it.
    for (const [, old] of promote.sort((x, y) => x[0] - y[0])) {
      this.#routine.delete(old);
      this.#urgent.set(old, ++this.#seq);
    }
    const raw = withFolded(encodeMessage(key, alert, now), folded);
    if (plan.lane === 'urgent') this.#urgent.set(raw, ++this.#seq);
    else this.#routine.set(raw, score ?? ++this.#seq);
    if (plan.ownField) this.#index.set(plan.ownField, raw);
    if (plan.lane === 'routine' && this.#routine.size > this.#routineLimit) this.#summarize(now);
    this.#counters.enqueued += 1;
    this.#signal.emit();
    return true;
  }

  /** Replaces the routine lane's queued chatter by one `backlog` message (merging an unsent one). */
  #summarize(now: number): void {
    const counts: Record<string, number> = {};
    const newly: Record<string, number> = {};
    let since: string | undefined;
    let until: string | undefined;
    let score: number | undefined;
    const current =
      this.#summary !== undefined && this.#summary !== this.#inflight && this.#routine.has(this.#summary)
        ? this.#summary
        : undefined;
    if (current !== undefined) {
      const alert = decodeMessage(current)?.alert;
      if (alert?.type === 'backlog') {
        Object.assign(counts, alert.counts);
        since = alert.since;
        until = alert.until;
      }
      score = this.#routine.get(current);
      this.#routine.delete(current);
    }
    for (const [raw, rawScore] of this.#routine) {
      if (raw === this.#inflight) continue;
      const message = decodeMessage(raw);
      if (!message || ALERT_CLASS[message.alert.type] !== 'chatter') continue;
      this.#routine.delete(raw);
      const sid = callSidOf(message.alert);
      const field = sid === undefined ? undefined : foldField(message.alert.type, sid);
      if (field !== undefined && this.#index.get(field) === raw) this.#index.delete(field);
      for (const event of eventsOf(message)) {
        tally(counts, event.type);
        tally(newly, event.type);
        if (since === undefined || event.at < since) since = event.at;
        if (until === undefined || event.at > until) until = event.at;
      }
      score = Math.min(score ?? rawScore, rawScore);
    }
    if (score === undefined || since === undefined || until === undefined) return;
    const summary = encodeMessage(
      `backlog:${randomUUID()}`,
      { type: 'backlog', counts, since, until, at: until },
      now,
    );
    this.#routine.set(summary, score);
    this.#summary = summary;
    for (const [kind, n] of Object.entries(newly)) tally(this.#counters.summarized, kind, n);
  }

  async peek(): Promise<OutboxHead | undefined> {
    let raw: string | undefined = this.#urgent.keys().next().value;
    if (raw === undefined) {
      let best = Number.POSITIVE_INFINITY;
      for (const [candidate, score] of this.#routine) {
        if (score < best) {
          best = score;
          raw = candidate;
        }
      }
    }
    this.#inflight = raw;
    return raw === undefined ? undefined : { raw, message: decodeMessage(raw) };
  }

  async ack(head: OutboxHead): Promise<boolean> {
    if (!this.#remove(head)) return false;
    this.#counters.delivered += 1;
    return true;
  }

  async deadLetter(head: OutboxHead, failure: { reason: string; status?: number }): Promise<boolean> {
    if (!this.#remove(head)) return false;
    this.#dead.unshift(encodeDeadLetter(head, failure, this.#now()));
    this.#dead.length = Math.min(this.#dead.length, this.#deadLetterLimit);
    this.#counters.failed += 1;
    return true;
  }

  recordRetry(): void {
    this.#counters.retries += 1;
  }

  // The scheduler's run lease (`options.lease`), under the job name `outbox`.
  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    return (
      (await this.#lease.renewRun(OUTBOX_LEASE_JOB, owner, ttlMs)) ||
      (await this.#lease.acquireRun(OUTBOX_LEASE_JOB, owner, ttlMs))
    );
  }

  async releaseLease(owner: string): Promise<void> {
    await this.#lease.releaseRun(OUTBOX_LEASE_JOB, owner);
  }

  async pauseFor(ms: number): Promise<void> {
    this.#pausedUntil = this.#now() + Math.max(0, ms);
  }

  async pauseRemainingMs(): Promise<number> {
    return Math.max(0, this.#pausedUntil - this.#now());
  }

  async depth(): Promise<number> {
    return this.#urgent.size + this.#routine.size;
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    return this.#dead.slice(0, limit).map(decodeDeadLetter);
  }

  counters(): OutboxCounters {
    return copyCounters(this.#counters);
  }

  onEnqueue(listener: () => void): () => void {
    return this.#signal.subscribe(listener);
  }

  /** Removes a message that is still pending (it may no longer be the head: an urgent one came). */
  #remove(head: OutboxHead): boolean {
    const removed = this.#urgent.delete(head.raw) || this.#routine.delete(head.raw);
    if (this.#inflight === head.raw) this.#inflight = undefined;
    if (!removed) return false;
    if (this.#summary === head.raw) this.#summary = undefined;
    const alert = head.message?.alert;
    const sid = alert && callSidOf(alert);
    if (alert && sid !== undefined) {
      const field = foldField(alert.type, sid);
      if (this.#index.get(field) === head.raw) this.#index.delete(field);
    }
    return true;
  }

  #forgetExpired(now: number): void {
    for (const [key, expiresAt] of this.#seen) {
      if (expiresAt > now && this.#seen.size < this.#maxSeen) break;
      this.#seen.delete(key);
    }
  }
}
