import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
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
  foldField,
  newCounters,
  type Outbox,
  type OutboxCounters,
  type OutboxHead,
  type OutboxOptions,
  type RunLease,
  tally,
} from './outbox.js';

/**
 * Keys (under the client's `keyPrefix`), all in one hash tag so every script runs on one Redis
 * Cluster slot:
 * - `outbox:{slack}:urgent`      ZSET of serialized messages, score = order (urgent lane)
 * - `outbox:{slack}:routine`     ZSET, the routine lane (a superseding message takes the oldest
 *                                superseded one's score)
 * - `outbox:{slack}:seq`         order counter
 * - `outbox:{slack}:index`       HASH `<type>|<callSid>` → stored message, for unsent
 *                                supersedable call alerts (emptied as they leave)
 * - `outbox:{slack}:inflight`    the head the worker peeked (being posted): never folded
 * - `outbox:{slack}:summary`     the unsent `backlog` message later chatter merges into
 * - `outbox:{slack}:seen:<key>`  dedupe marker, `SET NX EX` (7 days)
 * - `outbox:{slack}:dead`        LIST of dead letters, newest first, capped
 * - `job:{outbox:slack}:running` single-deliverer lease: owner id (the scheduler's run lease)
 * - `outbox:{slack}:pause`       exists while nobody may post; its PTTL is the wait (Redis's
 *                                clock, so replicas with skewed clocks agree)
 * - `outbox:{slack}:queue`       the LIST of earlier versions; `peek` moves what it holds into
 *                                the lanes, so an upgrade loses nothing
 */

const CHATTER_LUA = `{${Object.entries(ALERT_CLASS)
  .filter(([, cls]) => cls === 'chatter')
  .map(([type]) => `['${type}']=true`)
  .join(',')}}`;
const URGENT_LUA = `{${Object.entries(ALERT_CLASS)
  .filter(([, cls]) => cls === 'urgent')
  .map(([type]) => `['${type}']=true`)
  .join(',')}}`;

/**
 * Dedupe, fold, append and summarize in one step, so replicas enqueueing at once keep the rules
 * and a crash cannot lose or double a message.
 * KEYS: seen, urgent, routine, seq, index, inflight, summary.
 * ARGV: raw, seen TTL (s), lane, own index field or '', routine limit, summary key, now (ISO),
 * fold depth, then the index fields this message supersedes.
 * Returns { 1|0, superseded kinds..., '', summarized kind, count, ... }.
 */
const ENQUEUE = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return {0} end
local CHATTER = ${CHATTER_LUA}
local inflight = redis.call('GET', KEYS[6])
local out = {1}
local folded = {}
local score = nil
local behind = redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[8])
local promote = {}
for i = 9, #ARGV do
  local old = redis.call('HGET', KEYS[5], ARGV[i])
  if old then
    local s = redis.call('ZSCORE', KEYS[3], old)
    if not s then
      redis.call('HDEL', KEYS[5], ARGV[i])
    elseif behind and old ~= inflight then
      redis.call('HDEL', KEYS[5], ARGV[i])
      redis.call('ZREM', KEYS[3], old)
      s = tonumber(s)
      if not score or s < score then score = s end
      folded[#folded + 1] = old
      out[#out + 1] = string.match(ARGV[i], '^[^|]+')
    elseif ARGV[3] == 'urgent' then
      redis.call('HDEL', KEYS[5], ARGV[i])
      promote[#promote + 1] = { tonumber(s), old }
    end
  end
end
-- Not folded (Slack keeps up, or it is being posted right now): an urgent alert must still not
-- overtake its own call's earlier alerts, so those move to the urgent lane just ahead of it.
table.sort(promote, function(x, y) return x[1] < y[1] end)
for _, p in ipairs(promote) do
  redis.call('ZREM', KEYS[3], p[2])
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), p[2])
end
local raw = ARGV[1]
if #folded > 0 then raw = string.sub(raw, 1, -2) .. ',"folded":[' .. table.concat(folded, ',') .. ']}' end
if ARGV[3] == 'urgent' then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), raw)
else
  redis.call('ZADD', KEYS[3], score or redis.call('INCR', KEYS[4]), raw)
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[5], ARGV[4], raw) end
out[#out + 1] = ''
if ARGV[3] ~= 'routine' or redis.call('ZCARD', KEYS[3]) <= tonumber(ARGV[5]) then return out end

-- The routine lane is too long: its chatter becomes one backlog message.
local counts, newly = {}, {}
local since, till, low = nil, nil, nil
local current = redis.call('GET', KEYS[7])
if current and current ~= inflight and redis.call('ZSCORE', KEYS[3], current) then
  local ok, m = pcall(cjson.decode, current)
  if ok and type(m) == 'table' and type(m.alert) == 'table' and type(m.alert.counts) == 'table' then
    for k, n in pairs(m.alert.counts) do counts[k] = n end
    since, till = m.alert.since, m.alert['until']
  end
  low = tonumber(redis.call('ZSCORE', KEYS[3], current))
  redis.call('ZREM', KEYS[3], current)
else
  current = nil
end
local function count(m)
  if type(m.folded) == 'table' then
    for _, f in ipairs(m.folded) do if type(f) == 'table' and type(f.alert) == 'table' then count(f) end end
  end
  local t, at = m.alert.type, m.alert.at
  counts[t] = (counts[t] or 0) + 1
  newly[t] = (newly[t] or 0) + 1
  if type(at) == 'string' then
    if not since or at < since then since = at end
    if not till or at > till then till = at end
  end
end
local members = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local m = members[i]
  if m ~= inflight then
    local ok, msg = pcall(cjson.decode, m)
    if ok and type(msg) == 'table' and type(msg.alert) == 'table' and CHATTER[msg.alert.type] then
      redis.call('ZREM', KEYS[3], m)
      if type(msg.alert.callSid) == 'string' then
        local field = msg.alert.type .. '|' .. msg.alert.callSid
        if redis.call('HGET', KEYS[5], field) == m then redis.call('HDEL', KEYS[5], field) end
      end
      count(msg)
      local s = tonumber(members[i + 1])
      if not low or s < low then low = s end
    end
  end
end
if not low or not since then return out end
local summary = cjson.encode({
  id = ARGV[6], key = 'backlog:' .. ARGV[6], enqueuedAt = ARGV[7],
  alert = { type = 'backlog', counts = counts, since = since, ['until'] = till, at = till },
})
redis.call('ZADD', KEYS[3], low, summary)
redis.call('SET', KEYS[7], summary)
for k, n in pairs(newly) do
  out[#out + 1] = k
  out[#out + 1] = n
end
return out`;

/**
 * The head: the oldest urgent message, else the oldest routine one; remembered as in flight so
 * it is not folded while being posted. First moves a batch of an older version's queue into the
 * lanes. KEYS: urgent, routine, inflight, legacy queue, seq. ARGV: in-flight marker TTL (ms).
 */
const PEEK = `
local legacy = redis.call('LRANGE', KEYS[4], 0, 99)
if #legacy > 0 then
  local URGENT = ${URGENT_LUA}
  for _, raw in ipairs(legacy) do
    local ok, m = pcall(cjson.decode, raw)
    local urgent = ok and type(m) == 'table' and type(m.alert) == 'table' and URGENT[m.alert.type]
    -- Older than anything enqueued by this version: ahead of it in its lane.
    redis.call('ZADD', urgent and KEYS[1] or KEYS[2], redis.call('INCR', KEYS[5]) - 1e15, raw)
  end
  redis.call('LTRIM', KEYS[4], #legacy, -1)
end
local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1] or redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if head then redis.call('SET', KEYS[3], head, 'PX', ARGV[1]) else redis.call('DEL', KEYS[3]) end
return head`;

/** Removes one pending message and its bookkeeping. KEYS: urgent, routine, index, inflight, summary. */
const REMOVE_LUA = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
if removed == 0 then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[3], ARGV[2]) end
if redis.call('GET', KEYS[5]) == ARGV[1] then redis.call('DEL', KEYS[5]) end`;

/** Removes the message if still pending (Slack accepted it). ARGV: raw, index field or ''. */
const ACK = `${REMOVE_LUA}
return 1`;

/** KEYS: as ACK, then the dead letters. ARGV: raw, index field, dead letter, limit. */
const DEAD_LETTER = `${REMOVE_LUA}
redis.call('LPUSH', KEYS[6], ARGV[3])
redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[4]) - 1)
return 1`;

const COMMANDS = {
  sbOutboxEnqueue2: { numberOfKeys: 7, lua: ENQUEUE },
  sbOutboxPeek: { numberOfKeys: 5, lua: PEEK },
  sbOutboxAck2: { numberOfKeys: 5, lua: ACK },
  sbOutboxDeadLetter2: { numberOfKeys: 6, lua: DEAD_LETTER },
} as const;

type ScriptCommands = {
  [K in keyof typeof COMMANDS]: (...args: Array<string | number>) => Promise<unknown>;
};

export interface RedisOutboxOptions extends OutboxOptions {
  /** The hash tag and namespace of the keys; one outbox (and one lease) per name. Default `slack`. */
  name?: string;
}

/** How long a peeked head counts as being posted: beyond the longest post (webhook timeout, 10 s). */
const INFLIGHT_MS = 60_000;

/** The index field of a stored message's own alert ('' if it has none). */
const ownFieldOf = (head: OutboxHead): string => {
  const alert = head.message?.alert;
  const sid = alert && callSidOf(alert);
  return alert && sid !== undefined ? foldField(alert.type, sid) : '';
};

/**
 * The durable outbox in Redis, shared by all replicas: messages survive restarts and Slack
 * outages, any replica may enqueue, and the lease makes exactly one worker deliver at a time.
 * Takes the app's ioredis client (with its `keyPrefix`); Lua scripts are registered on it with
 * `defineCommand`, so they run by SHA and reload themselves after a Redis restart.
 */
export class RedisOutbox implements Outbox {
  readonly #redis: Redis;
  readonly #scripts: ScriptCommands;
  readonly #keys: {
    urgent: string;
    routine: string;
    seq: string;
    index: string;
    inflight: string;
    summary: string;
    legacy: string;
    seen: string;
    dead: string;
    pause: string;
  };
  readonly #counters = newCounters();
  readonly #signal = new EnqueueSignal();
  readonly #seenTtlSeconds: number;
  readonly #deadLetterLimit: number;
  readonly #routineLimit: number;
  readonly #foldDepth: number;
  readonly #now: () => number;
  readonly #lease: RunLease;
  readonly #leaseJob: string;

  constructor(redis: Redis, options: RedisOutboxOptions) {
    const name = options.name ?? 'slack';
    if (/[{}]/.test(name)) throw new Error('outbox name must not contain { or }');
    const base = `outbox:{${name}}:`;
    this.#keys = {
      urgent: `${base}urgent`,
      routine: `${base}routine`,
      seq: `${base}seq`,
      index: `${base}index`,
      inflight: `${base}inflight`,
      summary: `${base}summary`,
      legacy: `${base}queue`,
      seen: `${base}seen:`,
      dead: `${base}dead`,
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
    this.#routineLimit = Math.max(1, options.routineLimit ?? DEFAULT_ROUTINE_LIMIT);
    this.#foldDepth = Math.max(0, options.foldDepth ?? DEFAULT_FOLD_DEPTH);
    this.#now = options.now ?? Date.now;
    this.#lease = options.lease;
    this.#leaseJob = `outbox:${name}`;
  }

  async enqueue(key: string, alert: Alert): Promise<boolean> {
    const now = this.#now();
    const plan = enqueuePlan(alert);
    const k = this.#keys;
    const reply = (await this.#scripts.sbOutboxEnqueue2(
      k.seen + key,
      k.urgent,
      k.routine,
      k.seq,
      k.index,
      k.inflight,
      k.summary,
      encodeMessage(key, alert, now),
      this.#seenTtlSeconds,
      plan.lane,
      plan.ownField ?? '',
      this.#routineLimit,
      randomUUID(),
      new Date(now).toISOString(),
      this.#foldDepth,
      ...plan.foldFields,
    )) as Array<string | number>;
    if (Number(reply[0]) !== 1) {
      this.#counters.duplicates += 1;
      return false;
    }
    const split = reply.indexOf('');
    for (const kind of reply.slice(1, split)) tally(this.#counters.superseded, String(kind));
    const summarized = reply.slice(split + 1);
    for (let i = 0; i + 1 < summarized.length; i += 2) {
      tally(this.#counters.summarized, String(summarized[i]), Number(summarized[i + 1]));
    }
    this.#counters.enqueued += 1;
    this.#signal.emit();
    return true;
  }

  async peek(): Promise<OutboxHead | undefined> {
    const k = this.#keys;
    const raw = (await this.#scripts.sbOutboxPeek(
      k.urgent,
      k.routine,
      k.inflight,
      k.legacy,
      k.seq,
      INFLIGHT_MS,
    )) as string | null;
    return raw === null || raw === undefined ? undefined : { raw, message: decodeMessage(raw) };
  }

  async ack(head: OutboxHead): Promise<boolean> {
    const k = this.#keys;
    const popped =
      Number(
        await this.#scripts.sbOutboxAck2(
          k.urgent,
          k.routine,
          k.index,
          k.inflight,
          k.summary,
          head.raw,
          ownFieldOf(head),
        ),
      ) === 1;
    if (popped) this.#counters.delivered += 1;
    return popped;
  }

  async deadLetter(head: OutboxHead, failure: { reason: string; status?: number }): Promise<boolean> {
    const k = this.#keys;
    const popped =
      Number(
        await this.#scripts.sbOutboxDeadLetter2(
          k.urgent,
          k.routine,
          k.index,
          k.inflight,
          k.summary,
          k.dead,
          head.raw,
          ownFieldOf(head),
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

  // The scheduler's run lease (`options.lease`, a `RedisJobStore` in the app), job `outbox:<name>`:
  // the key `job:{outbox:<name>}:running` holds the deliverer's id.
  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.round(ttlMs));
    return (
      (await this.#lease.renewRun(this.#leaseJob, owner, ttl)) ||
      (await this.#lease.acquireRun(this.#leaseJob, owner, ttl))
    );
  }

  async releaseLease(owner: string): Promise<void> {
    await this.#lease.releaseRun(this.#leaseJob, owner);
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
    const res = await this.#redis
      .multi()
      .zcard(this.#keys.urgent)
      .zcard(this.#keys.routine)
      .llen(this.#keys.legacy)
      .exec();
    return (res ?? []).reduce((sum, [err, n]) => {
      if (err) throw err;
      return sum + Number(n);
    }, 0);
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const raws = await this.#redis.lrange(this.#keys.dead, 0, Math.max(0, limit - 1));
    return raws.map(decodeDeadLetter);
  }

  counters(): OutboxCounters {
    return copyCounters(this.#counters);
  }

  onEnqueue(listener: () => void): () => void {
    return this.#signal.subscribe(listener);
  }
}
