import { randomUUID } from 'node:crypto';
import type { Alert, Notifier } from './alert.js';

/**
 * The durable outbox between "something happened" and "Slack has it". Producers `enqueue`; one
 * {@link OutboxWorker} at a time (the lease holder, across all replicas) reads the head, posts it
 * and removes it only once Slack accepted it or refused it for good. Two implementations run
 * through one test suite: `RedisOutbox` (durable, shared by replicas) and `MemoryOutbox` (the
 * embedded default: one process, lost on restart).
 */

/** One stored message. The alert is stored, not the rendered blocks, so the log sink can use it too. */
export interface OutboxMessage {
  /** Unique per enqueue; makes the stored string unique so compare-and-pop cannot hit a twin. */
  id: string;
  /** The idempotency key given to `enqueue`. */
  key: string;
  alert: Alert;
  /** ISO time of the enqueue. */
  enqueuedAt: string;
}

/**
 * The head of the queue as stored. `raw` is what ack/deadLetter compare against; `message` is
 * undefined when the stored string cannot be read (written by an incompatible version), so the
 * worker can dead-letter it instead of blocking the queue forever.
 */
export interface OutboxHead {
  raw: string;
  message: OutboxMessage | undefined;
}

/** A message Slack refused for good, kept (capped) for inspection. */
export interface DeadLetter {
  raw: string;
  message: OutboxMessage | undefined;
  reason: string;
  status?: number;
  /** ISO time it was given up. */
  failedAt: string;
}

/**
 * Counters of this process (what its worker did), for Prometheus counters: each replica reports
 * its own and the totals are summed in the query.
 */
export interface OutboxCounters {
  /** New messages stored by `enqueue`. */
  enqueued: number;
  /** `enqueue` calls dropped because the key was seen before. */
  duplicates: number;
  /** Messages Slack accepted (removed by `ack`). */
  delivered: number;
  /** Messages refused for good and moved to the dead letters. */
  failed: number;
  /** Posts that will be tried again (429, 5xx, network). */
  retries: number;
}

export interface Outbox extends Notifier {
  /**
   * Stores the alert at the tail. Returns false, storing nothing, when `key` was enqueued before
   * (by any replica, within the seen-key TTL, also if that message was delivered long ago).
   */
  enqueue(key: string, alert: Alert): Promise<boolean>;
  /** The oldest pending message, left in place; undefined when empty. */
  peek(): Promise<OutboxHead | undefined>;
  /** Removes `head` if it is still the head (Slack accepted it). False if someone else removed it. */
  ack(head: OutboxHead): Promise<boolean>;
  /** Moves `head`, if still the head, to the capped dead-letter list. */
  deadLetter(head: OutboxHead, failure: { reason: string; status?: number }): Promise<boolean>;
  /** Counts a post that will be retried. */
  recordRetry(): void;
  /**
   * Takes or renews the single-deliverer lease for `owner` for `ttlMs`. True while `owner` holds
   * it. Only the holder may post, which keeps delivery ordered and within Slack's rate limit.
   */
  acquireLease(owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `owner` holds it, so another worker can take over at once. */
  releaseLease(owner: string): Promise<void>;
  /**
   * Nobody may post for the next `ms` (spacing, `Retry-After`, backoff). Shared, so a worker
   * taking over keeps honouring it. A duration rather than a time stamp, so replicas (and tests
   * with a fake clock) never compare each other's clocks.
   */
  pauseFor(ms: number): Promise<void>;
  /** How many ms the pause set by {@link pauseFor} still lasts; 0 if none. */
  pauseRemainingMs(): Promise<number>;
  /** Messages waiting (including one being posted). */
  depth(): Promise<number>;
  /** The most recent dead letters, newest first. */
  deadLetters(limit?: number): Promise<DeadLetter[]>;
  counters(): OutboxCounters;
  /** Calls `listener` after each local successful enqueue (wakes the local worker); returns an unsubscribe. */
  onEnqueue(listener: () => void): () => void;
}

/** Options shared by both implementations. */
export interface OutboxOptions {
  /** How long an enqueued key is remembered for deduplication, seconds. Default 7 days. */
  seenTtlSeconds?: number;
  /** Dead letters kept (oldest dropped). Default 1000. */
  deadLetterLimit?: number;
  now?: () => number;
}

export const DEFAULT_SEEN_TTL_SECONDS = 7 * 24 * 3600;
export const DEFAULT_DEAD_LETTER_LIMIT = 1000;

export function newCounters(): OutboxCounters {
  return { enqueued: 0, duplicates: 0, delivered: 0, failed: 0, retries: 0 };
}

/** Serializes a new message for storage. */
export function encodeMessage(key: string, alert: Alert, now: number): string {
  const message: OutboxMessage = { id: randomUUID(), key, alert, enqueuedAt: new Date(now).toISOString() };
  return JSON.stringify(message);
}

/** Reads a stored message; undefined if the string is not a message this version understands. */
export function decodeMessage(raw: string): OutboxMessage | undefined {
  try {
    const value = JSON.parse(raw) as Partial<OutboxMessage> | null;
    if (
      value &&
      typeof value === 'object' &&
      typeof value.id === 'string' &&
      typeof value.key === 'string' &&
      typeof value.enqueuedAt === 'string' &&
      value.alert &&
      typeof value.alert === 'object' &&
      typeof (value.alert as { type?: unknown }).type === 'string'
    ) {
      return value as OutboxMessage;
    }
  } catch {
    // fall through: unreadable
  }
  return undefined;
}

export function encodeDeadLetter(
  head: OutboxHead,
  failure: { reason: string; status?: number },
  now: number,
): string {
  return JSON.stringify({
    raw: head.raw,
    reason: failure.reason,
    status: failure.status,
    failedAt: new Date(now).toISOString(),
  });
}

export function decodeDeadLetter(raw: string): DeadLetter {
  try {
    const value = JSON.parse(raw) as {
      raw?: unknown;
      reason?: unknown;
      status?: unknown;
      failedAt?: unknown;
    };
    const stored = typeof value.raw === 'string' ? value.raw : '';
    return {
      raw: stored,
      message: decodeMessage(stored),
      reason: typeof value.reason === 'string' ? value.reason : 'unknown',
      ...(typeof value.status === 'number' ? { status: value.status } : {}),
      failedAt: typeof value.failedAt === 'string' ? value.failedAt : '',
    };
  } catch {
    return { raw, message: undefined, reason: 'unreadable', failedAt: '' };
  }
}

/** A tiny local listener set for `onEnqueue`. */
export class EnqueueSignal {
  readonly #listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(): void {
    for (const listener of this.#listeners) listener();
  }
}
