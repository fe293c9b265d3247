import type { Alert } from './alert.js';
import {
  DEFAULT_DEAD_LETTER_LIMIT,
  DEFAULT_SEEN_TTL_SECONDS,
  type DeadLetter,
  decodeDeadLetter,
  decodeMessage,
  EnqueueSignal,
  encodeDeadLetter,
  encodeMessage,
  newCounters,
  type Outbox,
  type OutboxCounters,
  type OutboxHead,
  type OutboxOptions,
} from './outbox.js';

/**
 * The outbox in process memory: the embedded default when no Redis is configured. Same semantics
 * as `RedisOutbox` for one process (messages are stored serialized, so both behave alike), but
 * nothing survives a restart and other replicas cannot see it.
 */
export class MemoryOutbox implements Outbox {
  readonly #queue: string[] = [];
  /** key → expiry (epoch ms). Insertion order = expiry order, since the TTL is fixed. */
  readonly #seen = new Map<string, number>();
  readonly #dead: string[] = [];
  readonly #counters = newCounters();
  readonly #signal = new EnqueueSignal();
  readonly #seenTtlMs: number;
  readonly #deadLetterLimit: number;
  readonly #now: () => number;
  #lease: { owner: string; expiresAt: number } | undefined;
  #pausedUntil = 0;

  constructor(options: OutboxOptions = {}) {
    this.#seenTtlMs = (options.seenTtlSeconds ?? DEFAULT_SEEN_TTL_SECONDS) * 1000;
    this.#deadLetterLimit = options.deadLetterLimit ?? DEFAULT_DEAD_LETTER_LIMIT;
    this.#now = options.now ?? Date.now;
  }

  async enqueue(key: string, alert: Alert): Promise<boolean> {
    const now = this.#now();
    this.#forgetExpired(now);
    if (this.#seen.has(key)) {
      this.#counters.duplicates += 1;
      return false;
    }
    this.#seen.set(key, now + this.#seenTtlMs);
    this.#queue.push(encodeMessage(key, alert, now));
    this.#counters.enqueued += 1;
    this.#signal.emit();
    return true;
  }

  async peek(): Promise<OutboxHead | undefined> {
    const raw = this.#queue[0];
    return raw === undefined ? undefined : { raw, message: decodeMessage(raw) };
  }

  async ack(head: OutboxHead): Promise<boolean> {
    if (!this.#popIfHead(head)) return false;
    this.#counters.delivered += 1;
    return true;
  }

  async deadLetter(head: OutboxHead, failure: { reason: string; status?: number }): Promise<boolean> {
    if (!this.#popIfHead(head)) return false;
    this.#dead.unshift(encodeDeadLetter(head, failure, this.#now()));
    this.#dead.length = Math.min(this.#dead.length, this.#deadLetterLimit);
    this.#counters.failed += 1;
    return true;
  }

  recordRetry(): void {
    this.#counters.retries += 1;
  }

  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    if (this.#lease && this.#lease.owner !== owner && this.#lease.expiresAt > now) return false;
    this.#lease = { owner, expiresAt: now + ttlMs };
    return true;
  }

  async releaseLease(owner: string): Promise<void> {
    if (this.#lease?.owner === owner) this.#lease = undefined;
  }

  async pauseFor(ms: number): Promise<void> {
    this.#pausedUntil = this.#now() + Math.max(0, ms);
  }

  async pauseRemainingMs(): Promise<number> {
    return Math.max(0, this.#pausedUntil - this.#now());
  }

  async depth(): Promise<number> {
    return this.#queue.length;
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    return this.#dead.slice(0, limit).map(decodeDeadLetter);
  }

  counters(): OutboxCounters {
    return { ...this.#counters };
  }

  onEnqueue(listener: () => void): () => void {
    return this.#signal.subscribe(listener);
  }

  #popIfHead(head: OutboxHead): boolean {
    if (this.#queue[0] !== head.raw) return false;
    this.#queue.shift();
    return true;
  }

  #forgetExpired(now: number): void {
    for (const [key, expiresAt] of this.#seen) {
      if (expiresAt > now) break;
      this.#seen.delete(key);
    }
  }
}
