import type { Redis } from 'ioredis';
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
 * Keys (under the client's `keyPrefix`), all in one hash tag so every script runs on one Redis
 * Cluster slot:
 * - `outbox:{slack}:queue`       LIST of serialized messages, head = oldest
 * - `outbox:{slack}:seen:<key>`  dedupe marker, `SET NX EX` (7 days)
 * - `outbox:{slack}:dead`        LIST of dead letters, newest first, capped
 * - `outbox:{slack}:lease`       single-deliverer lease: owner id, `SET NX PX`
 * - `outbox:{slack}:pause`       exists while nobody may post; its PTTL is the wait (Redis's
 *                                clock, so replicas with skewed clocks agree)
 */

/** Dedupe and append in one step, so a crash between the two cannot lose or double a message. */
const ENQUEUE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0`;

/** Compare-and-pop: only the message that was posted is removed, never one behind it. */
const ACK = `
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  return 1
end
return 0`;

const DEAD_LETTER = `
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  redis.call('LPUSH', KEYS[2], ARGV[2])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
  return 1
end
return 0`;

/** Take the lease if free, renew it if ours. */
const LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

const COMMANDS = {
  sbOutboxEnqueue: { numberOfKeys: 2, lua: ENQUEUE },
  sbOutboxAck: { numberOfKeys: 1, lua: ACK },
  sbOutboxDeadLetter: { numberOfKeys: 2, lua: DEAD_LETTER },
  sbOutboxLease: { numberOfKeys: 1, lua: LEASE },
  sbOutboxRelease: { numberOfKeys: 1, lua: RELEASE },
} as const;

type ScriptCommands = {
  [K in keyof typeof COMMANDS]: (...args: Array<string | number>) => Promise<number>;
};

export interface RedisOutboxOptions extends OutboxOptions {
  /** The hash tag and namespace of the keys; one outbox (and one lease) per name. Default `slack`. */
  name?: string;
}

/**
 * The durable outbox in Redis, shared by all replicas: messages survive restarts and Slack
 * outages, any replica may enqueue, and the lease makes exactly one worker deliver at a time.
 * Takes the app's ioredis client (with its `keyPrefix`); Lua scripts are registered on it with
 * `defineCommand`, so they run by SHA and reload themselves after a Redis restart.
 */
export class RedisOutbox implements Outbox {
  readonly #redis: Redis;
  readonly #scripts: ScriptCommands;
  readonly #keys: { queue: string; seen: string; dead: string; lease: string; pause: string };
  readonly #counters = newCounters();
  readonly #signal = new EnqueueSignal();
  readonly #seenTtlSeconds: number;
  readonly #deadLetterLimit: number;
  readonly #now: () => number;

  constructor(redis: Redis, options: RedisOutboxOptions = {}) {
    const name = options.name ?? 'slack';
    if (/[{}]/.test(name)) throw new Error('outbox name must not contain { or }');
    const base = `outbox:{${name}}:`;
    this.#keys = {
      queue: `${base}queue`,
      seen: `${base}seen:`,
      dead: `${base}dead`,
      lease: `${base}lease`,
      pause: `${base}pause`,
    };
    this.#redis = redis;
    for (const [command, definition] of Object.entries(COMMANDS)) {
      if (typeof (redis as unknown as Record<string, unknown>)[command] !== 'function') {
        redis.defineCommand(command, definition);
      }
    }
    this.#scripts = redis as unknown as ScriptCommands;
    this.#seenTtlSeconds = Math.max(1, Math.round(options.seenTtlSeconds ?? DEFAULT_SEEN_TTL_SECONDS));
    this.#deadLetterLimit = Math.max(1, options.deadLetterLimit ?? DEFAULT_DEAD_LETTER_LIMIT);
    this.#now = options.now ?? Date.now;
  }

  async enqueue(key: string, alert: Alert): Promise<boolean> {
    const raw = encodeMessage(key, alert, this.#now());
    const added = await this.#scripts.sbOutboxEnqueue(
      this.#keys.seen + key,
      this.#keys.queue,
      raw,
      this.#seenTtlSeconds,
    );
    if (Number(added) !== 1) {
      this.#counters.duplicates += 1;
      return false;
    }
    this.#counters.enqueued += 1;
    this.#signal.emit();
    return true;
  }

  async peek(): Promise<OutboxHead | undefined> {
    const raw = await this.#redis.lindex(this.#keys.queue, 0);
    return raw === null ? undefined : { raw, message: decodeMessage(raw) };
  }

  async ack(head: OutboxHead): Promise<boolean> {
    const popped = Number(await this.#scripts.sbOutboxAck(this.#keys.queue, head.raw)) === 1;
    if (popped) this.#counters.delivered += 1;
    return popped;
  }

  async deadLetter(head: OutboxHead, failure: { reason: string; status?: number }): Promise<boolean> {
    const popped =
      Number(
        await this.#scripts.sbOutboxDeadLetter(
          this.#keys.queue,
          this.#keys.dead,
          head.raw,
          encodeDeadLetter(head, failure, this.#now()),
          this.#deadLetterLimit,
        ),
      ) === 1;
    if (popped) this.#counters.failed += 1;
    return popped;
  }

  recordRetry(): void {
    this.#counters.retries += 1;
  }

  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    return (
      Number(await this.#scripts.sbOutboxLease(this.#keys.lease, owner, Math.max(1, Math.round(ttlMs)))) === 1
    );
  }

  async releaseLease(owner: string): Promise<void> {
    await this.#scripts.sbOutboxRelease(this.#keys.lease, owner);
  }

  async pauseFor(ms: number): Promise<void> {
    const wait = Math.ceil(ms);
    if (wait > 0) await this.#redis.set(this.#keys.pause, '1', 'PX', wait);
    else await this.#redis.del(this.#keys.pause);
  }

  async pauseRemainingMs(): Promise<number> {
    return Math.max(0, await this.#redis.pttl(this.#keys.pause));
  }

  async depth(): Promise<number> {
    return this.#redis.llen(this.#keys.queue);
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const raws = await this.#redis.lrange(this.#keys.dead, 0, Math.max(0, limit - 1));
    return raws.map(decodeDeadLetter);
  }

  counters(): OutboxCounters {
    return { ...this.#counters };
  }

  onEnqueue(listener: () => void): () => void {
    return this.#signal.subscribe(listener);
  }
}
