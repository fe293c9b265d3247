import { randomUUID } from 'node:crypto';
import type { Alert, AlertType, Notifier } from './alert.js';

/**
 * The durable outbox between "something happened" and "Slack has it". Producers `enqueue`; one
 * {@link OutboxWorker} at a time (the lease holder, across all replicas) reads the head, posts it
 * and removes it only once Slack accepted it or refused it for good. Two implementations run
 * through one test suite: `RedisOutbox` (durable, shared by replicas) and `MemoryOutbox` (the
 * embedded default: one process, lost on restart).
 *
 * Slack takes about one message a second per webhook, so a flood of calls must not bury what
 * matters behind hours of stale "incoming call" messages (see {@link ALERT_CLASS}):
 * 1. Two lanes: urgent alerts (missed, voicemail, low balance, job failing) are delivered before
 *    everything else; within a lane, oldest first.
 * 2. Folding: once the outbox holds `foldDepth` messages (Slack is behind), an alert that tells
 *    the rest of a call's story ({@link SUPERSEDES}) replaces that call's unsent routine messages and carries them along (`folded`), so each (call, event)
 *    still reaches Slack exactly once, inside one message. The message being posted right now
 *    (the head the worker peeked) is never folded.
 * 3. Summary: when the routine lane is longer than `routineLimit`, its queued call chatter is
 *    replaced by one `backlog` message ("312 incoming, …, 14:02–14:07") in the place of the
 *    oldest; later chatter merges into it while it is unsent.
 * Urgent and other routine alerts are never dropped. Each enqueue is one atomic step (a Lua
 * script in Redis), so replicas enqueueing at once keep these rules.
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
  /** Unsent messages of the same call this one replaced (see {@link SUPERSEDES}), oldest first. */
  folded?: OutboxMessage[];
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
  /** Messages replaced by a later one of the same call, by alert type (they travel inside it). */
  superseded: Record<string, number>;
  /** Events counted into a `backlog` summary instead of being posted one by one, by alert type. */
  summarized: Record<string, number>;
}

export interface Outbox extends Notifier {
  /**
   * Stores the alert at the tail. Returns false, storing nothing, when `key` was enqueued before
   * (by any replica, within the seen-key TTL, also if that message was delivered long ago).
   */
  enqueue(key: string, alert: Alert): Promise<boolean>;
  /**
   * The next message to post (the oldest urgent one, else the oldest routine one), left in place
   * and marked as being posted, so it is not folded into another meanwhile; undefined when empty.
   * Only the lease holder calls it.
   */
  peek(): Promise<OutboxHead | undefined>;
  /** Removes `head` if it is still pending (Slack accepted it). False if someone else removed it. */
  ack(head: OutboxHead): Promise<boolean>;
  /** Moves `head`, if still pending, to the capped dead-letter list. */
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
/**
 * The single-deliverer lease: a token-guarded run lease per name. The scheduler's job store
 * (`JobStore` in src/jobs/job-store.ts) is one, so the outbox reuses the jobs' leases rather than
 * keeping its own; declared here so that alerts, which the jobs send, do not depend on the jobs.
 */
export interface RunLease {
  /** Takes the lease `name` for `ttlMs` under `token` if nobody holds it. */
  acquireRun(name: string, token: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease if `token` still holds it; false when it was lost. */
  renewRun(name: string, token: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease back if `token` holds it. */
  releaseRun(name: string, token: string): Promise<void>;
}

export interface OutboxOptions {
  /** Where the single-deliverer lease is held: the app's job store (`Stores.jobs`). */
  lease: RunLease;
  /** How long an enqueued key is remembered for deduplication, seconds. Default 7 days. */
  seenTtlSeconds?: number;
  /** Dead letters kept (oldest dropped). Default 1000. */
  deadLetterLimit?: number;
  /**
   * Routine lane length past which its call chatter is summarized into one message. Default
   * {@link DEFAULT_ROUTINE_LIMIT}.
   */
  routineLimit?: number;
  /**
   * Folding starts once the outbox holds this many messages (default {@link DEFAULT_FOLD_DEPTH}):
   * while Slack keeps up, every event gets its own message as it happens; once alerts wait,
   * stale ones merge.
   */
  foldDepth?: number;
  now?: () => number;
}

export const DEFAULT_SEEN_TTL_SECONDS = 7 * 24 * 3600;
export const DEFAULT_DEAD_LETTER_LIMIT = 1000;

export function newCounters(): OutboxCounters {
  return { enqueued: 0, duplicates: 0, delivered: 0, failed: 0, retries: 0, superseded: {}, summarized: {} };
}

export function copyCounters(c: OutboxCounters): OutboxCounters {
  return { ...c, superseded: { ...c.superseded }, summarized: { ...c.summarized } };
}

/** Serializes a new message for storage. */
export function encodeMessage(key: string, alert: Alert, now: number): string {
  const message: OutboxMessage = { id: randomUUID(), key, alert, enqueuedAt: new Date(now).toISOString() };
  return JSON.stringify(message);
}

/** Reads a stored message; undefined if the string is not a message this version understands. */
export function decodeMessage(raw: string): OutboxMessage | undefined {
  try {
    return asMessage(JSON.parse(raw));
  } catch {
    return undefined;
  }
}

function asMessage(parsed: unknown): OutboxMessage | undefined {
  {
    const value = parsed as Partial<OutboxMessage> | null;
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
      const message = value as OutboxMessage;
      if (message.folded !== undefined) {
        const folded = Array.isArray(message.folded) ? message.folded.map(asMessage) : [];
        message.folded = folded.filter((m): m is OutboxMessage => m !== undefined);
      }
      return message;
    }
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

/**
 * How the outbox treats each alert type under load (the record is exhaustive: a new alert type
 * does not compile until it is classified):
 * - `urgent`: someone must act (a caller is waiting for a call-back, money or a job is failing).
 *   Delivered before everything else, in order among themselves, never folded or summarized.
 * - `chatter`: the routine story of a call. Superseded by a later alert of the same call while
 *   still unsent, and summarized into one `backlog` message when the routine lane is too long.
 * - `routine`: everything else; delivered after the urgent ones, in order, never dropped.
 */
export const ALERT_CLASS: Record<AlertType, 'urgent' | 'chatter' | 'routine'> = {
  missed: 'urgent',
  voicemail: 'urgent',
  'low-balance': 'urgent',
  'job-failing': 'urgent',
  'roster-unreachable': 'urgent',
  'agent-auto-paused': 'urgent',
  'queue-abandoned': 'urgent',
  'service-level-breached': 'urgent',
  'no-agent-signed-in': 'urgent',
  'callback-failed': 'urgent',
  incoming: 'chatter',
  answered: 'chatter',
  completed: 'chatter',
  'outbound-ringing': 'chatter',
  'outbound-answered': 'chatter',
  'outbound-completed': 'chatter',
  'roster-changed': 'routine',
  'balance-recovered': 'routine',
  'job-recovered': 'routine',
  'daily-summary': 'routine',
  backlog: 'routine',
};

/**
 * Which still-unsent alerts of the same call a new alert replaces: it tells the rest of the story
 * (an "incoming" whose call was answered, missed or ended is not worth a message of its own). The
 * replaced messages travel inside the new one (`OutboxMessage.folded`) and are shown as one line
 * each, so every event of the call still appears exactly once in Slack.
 */
export const SUPERSEDES: Partial<Record<AlertType, readonly AlertType[]>> = {
  answered: ['incoming'],
  completed: ['incoming', 'answered'],
  missed: ['incoming', 'answered'],
  voicemail: ['incoming', 'answered'],
  // The closing message of a caller who hung up in a queue (it replaces `missed`, src/queues/queue-flow.ts).
  'queue-abandoned': ['incoming', 'answered'],
  'outbound-answered': ['outbound-ringing'],
  'outbound-completed': ['outbound-ringing', 'outbound-answered'],
};

/** Alert types some later alert can supersede: they are indexed by call while unsent. */
export const SUPERSEDABLE: ReadonlySet<AlertType> = new Set(Object.values(SUPERSEDES).flat());

/** Default length of the routine lane past which its chatter is summarized (≈ 100 s of Slack). */
export const DEFAULT_ROUTINE_LIMIT = 100;

/** Ten seconds of Slack at one message a second. */
export const DEFAULT_FOLD_DEPTH = 10;

/** The index field of an unsent call alert: `<type>|<callSid>` (no alert type contains `|`). */
export const foldField = (type: string, callSid: string): string => `${type}|${callSid}`;

export const callSidOf = (alert: Alert): string | undefined =>
  'callSid' in alert && typeof alert.callSid === 'string' ? alert.callSid : undefined;

/** What to do with one enqueue: its lane, its own index field, the fields it supersedes. */
export function enqueuePlan(alert: Alert): {
  lane: 'urgent' | 'routine';
  chatter: boolean;
  ownField: string | undefined;
  foldFields: string[];
} {
  const type = alert.type as AlertType;
  const cls = ALERT_CLASS[type] ?? 'routine';
  const sid = callSidOf(alert);
  return {
    lane: cls === 'urgent' ? 'urgent' : 'routine',
    chatter: cls === 'chatter',
    ownField: sid !== undefined && SUPERSEDABLE.has(type) ? foldField(type, sid) : undefined,
    foldFields: sid === undefined ? [] : (SUPERSEDES[type] ?? []).map((t) => foldField(t, sid)),
  };
}

/** Adds `folded` (stored message strings, oldest first) to a serialized message. */
export function withFolded(raw: string, folded: readonly string[]): string {
  return folded.length ? `${raw.slice(0, -1)},"folded":[${folded.join(',')}]}` : raw;
}

/**
 * Every event a stored message stands for, in order: the folded ones (flattened: a folded
 * "answered" may itself carry a folded "incoming") and then its own.
 */
export function eventsOf(message: OutboxMessage): Alert[] {
  return [...(message.folded ?? []).flatMap(eventsOf), message.alert];
}

/** Adds `n` to `counts[kind]`. */
export function tally(counts: Record<string, number>, kind: string, n = 1): void {
  counts[kind] = (counts[kind] ?? 0) + n;
}
