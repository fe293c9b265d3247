import type { Redis } from 'ioredis';
import {
  preference,
  type QueuedCaller,
  type QueueEntry,
  summarize,
  waitSeconds,
  withoutOffer,
} from './queue-entry.js';
import {
  afterFailedAttempt,
  type CallbackFailure,
  DEFAULT_CLAIM_GUARD_SECONDS,
  DEFAULT_OFFER_TIMEOUT_SECONDS,
  DEFAULT_QUEUE_MAX_AGE_SECONDS,
  type EnqueueOptions,
  type EnqueueRequest,
  type EnqueueResult,
  isCurrentAttempt,
  type QueueStore,
  type QueueStoreOptions,
  type QueueSummary,
  type RemovedEntry,
  type RemoveReason,
  withCallbackRequest,
} from './queue-store.js';

/**
 * Keys (under the client's `keyPrefix`), all in the `{queues}` hash tag, because `claimNext` looks
 * at every queue an agent serves in one script (one Redis Cluster slot):
 * - `queues:{queues}:entries`       HASH callSid → entry JSON (with its `seq`)
 * - `queues:{queues}:line:<queue>`  ZSET, one per queue: score = firstJoinedAt (ms), member =
 *                                   `<seq, 15 digits>:<callSid>`, so equal join times order by
 *                                   enqueue sequence and ZRANK is the place in line
 * - `queues:{queues}:seq`           the enqueue counter (tie-breaker)
 * - `queues:{queues}:held`          ZSET of callers held for their preferred agent (sticky
 *                                   routing, docs/interface.md §5.1): member `{"a":agent,"s":sid}`,
 *                                   score `preferredUntil`. A hint, never the truth (the entry's own
 *                                   fields are): it lets a claim stop at each line's first claimable
 *                                   caller unless a caller further on may be held for this agent
 * - `queues:{queues}:claiming`       HASH agentId → `<until ms>:<callSid>`: the agent's claim not
 *                                   yet settled (`QueueStore.claimNext`); a claim for that agent
 *                                   before `until` claims nobody. `settleClaim` deletes the field
 * Every key expires `maxAgeSeconds` after the last enqueue, and an entry older than that is
 * dropped by `enqueue` (its line), `claimNext` and `prune`: a lost hang-up event cannot leave a
 * ghost caller in line for ever. Lines are short (`maxWaiting`, 50 by default), so scripts read
 * them whole.
 */

const SID_AT = 17; // member = 15 digits + ':' + sid

const ENQUEUE = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  return {1, existing}
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
for _, m in ipairs(stale) do
  redis.call('HDEL', KEYS[1], string.sub(m, ${SID_AT}))
end
if #stale > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
end
local waiting = redis.call('ZCARD', KEYS[2])
if waiting >= tonumber(ARGV[3]) then
  return {0, tostring(waiting)}
end
local seq = redis.call('INCR', KEYS[3])
local entry = cjson.decode(ARGV[2])
entry['seq'] = seq
local raw = cjson.encode(entry)
local member = string.format('%015d:%s', seq, ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], raw)
redis.call('ZADD', KEYS[2], ARGV[6], member)
if entry['preferredUntil'] and entry['preferredAgent'] then
  redis.call('ZADD', KEYS[4], entry['preferredUntil'], cjson.encode({a = entry['preferredAgent'], s = ARGV[1]}))
end
for i = 1, 4 do
  redis.call('EXPIRE', KEYS[i], ARGV[5])
end
return {2, raw, redis.call('ZRANK', KEYS[2], member) + 1}`;

/**
 * The earliest claimable entry over the given lines (KEYS[4..]), marked offered; nil when none,
 * or when a claim for this agent is not yet settled (KEYS[3], see \`QueueStore.claimNext\`).
 * An entry held for another agent (sticky routing: \`preferredAgent\` until \`preferredUntil\`) is
 * passed over; one held for this agent wins over any other. A line is read up to its first
 * claimable entry; past it, only the callers the held set (KEYS[2]) says may be held for this
 * agent are looked at.
 */
const CLAIM = `
local agent = ARGV[1]
local now = tonumber(ARGV[2])
local cutoff = tonumber(ARGV[3])
local offerValidAfter = tonumber(ARGV[4])
local pending = redis.call('HGET', KEYS[3], agent)
if pending and (tonumber(string.match(pending, '^(%d+):')) or 0) > now then
  return false
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local maybeMine, anyMine = {}, false
for _, h in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local ok, v = pcall(cjson.decode, h)
  if ok and type(v) == 'table' and v['a'] == agent and v['s'] then
    maybeMine[v['s']] = true
    anyMine = true
  end
end
local best, mine
local function earlier(a, b)
  return not b or a['firstJoinedAt'] < b['firstJoinedAt']
    or (a['firstJoinedAt'] == b['firstJoinedAt'] and a['seq'] < b['seq'])
end
for i = 4, #KEYS do
  local members = redis.call('ZRANGE', KEYS[i], 0, -1)
  local found = false
  for _, m in ipairs(members) do
    local sid = string.sub(m, ${SID_AT})
    local raw, ok, e = nil, false, nil
    -- Past this line's first claimable caller only one held for this agent can still win.
    local look = not found or maybeMine[sid]
    if look then
      raw = redis.call('HGET', KEYS[1], sid)
      if raw then
        ok, e = pcall(cjson.decode, raw)
      end
    end
    if not look then
      -- skipped: read only if it may be held for this agent
    elseif not ok or type(e) ~= 'table' then
      -- gone, or unreadable: drop it rather than block the line
      redis.call('HDEL', KEYS[1], sid)
      redis.call('ZREM', KEYS[i], m)
    elseif e['firstJoinedAt'] <= cutoff then
      redis.call('ZREM', KEYS[i], m)
      redis.call('HDEL', KEYS[1], sid)
    else
      local offered = e['offeredTo'] and (tonumber(e['offeredAt']) or 0) > offerValidAfter
      local notYet = type(e['callback']) == 'table' and e['callback']['nextAttemptAt'] > now
      local held = e['preferredAgent'] and (tonumber(e['preferredUntil']) or 0) > now
        and e['preferredAgent'] or nil
      if not offered and not notYet then
        if held == agent then
          if earlier(e, mine) then mine = e end
          break
        elseif not held and not found then
          found = true
          if earlier(e, best) then best = e end
          if not anyMine then break end
        end
      end
    end
  end
end
best = mine or best
if not best then
  return false
end
best['offeredTo'] = ARGV[1]
best['offeredAt'] = now
local raw = cjson.encode(best)
redis.call('HSET', KEYS[1], best['callSid'], raw)
redis.call('HSET', KEYS[3], agent, string.format('%d:%s', now + tonumber(ARGV[5]), best['callSid']))
redis.call('EXPIRE', KEYS[3], ARGV[6])
return raw`;

/** Settle an agent's claim (KEYS[1] the claiming hash): only the claim of that caller. */
const SETTLE = `
local pending = redis.call('HGET', KEYS[1], ARGV[1])
if pending and string.match(pending, '^%d+:(.*)$') == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0`;

/** Replace an entry only if it is still exactly what the caller read (compare-and-set). */
const UPDATE = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

/** Remove an entry (read as ARGV[2]) from the hash and its line; answer its place. */
const REMOVE = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return false
end
local rank = redis.call('ZRANK', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('HDEL', KEYS[1], ARGV[1])
return (rank or 0) + 1`;

const COMMANDS = {
  sbQueueEnqueue: { numberOfKeys: 4, lua: ENQUEUE },
  sbQueueUpdate: { numberOfKeys: 1, lua: UPDATE },
  sbQueueRemove: { numberOfKeys: 2, lua: REMOVE },
  sbQueueSettle: { numberOfKeys: 1, lua: SETTLE },
} as const;

type ScriptCommands = {
  [K in keyof typeof COMMANDS]: (...args: Array<string | number>) => Promise<unknown>;
} & {
  sbQueueClaim: (numberOfKeys: number, ...args: Array<string | number>) => Promise<string | null>;
};

const member = (entry: QueueEntry): string => `${String(entry.seq).padStart(15, '0')}:${entry.callSid}`;

function decode(raw: string | null | undefined): QueueEntry | undefined {
  if (!raw) return undefined;
  try {
    const e = JSON.parse(raw) as QueueEntry;
    return typeof e?.callSid === 'string' && typeof e.firstJoinedAt === 'number' ? e : undefined;
  } catch {
    return undefined;
  }
}

function checkName(kind: string, value: string): void {
  if (!value || /[{}]/.test(value)) throw new RangeError(`${kind} must be non-empty and free of { }`);
}

/** Queues in Redis, shared by every replica. Takes the app's ioredis client (with its keyPrefix). */
export class RedisQueueStore implements QueueStore {
  readonly #redis: Redis;
  readonly #scripts: ScriptCommands;
  readonly #maxAgeMs: number;
  readonly #offerTimeoutMs: number;
  readonly #entries = 'queues:{queues}:entries';
  readonly #seq = 'queues:{queues}:seq';
  readonly #held = 'queues:{queues}:held';
  readonly #claiming = 'queues:{queues}:claiming';
  readonly #claimGuardMs: number;

  constructor(redis: Redis, options: QueueStoreOptions = {}) {
    this.#redis = redis;
    const r = redis as unknown as Record<string, unknown>;
    for (const [command, definition] of Object.entries(COMMANDS)) {
      if (typeof r[command] !== 'function') redis.defineCommand(command, definition);
    }
    // The claim script takes one line per queue the agent serves: a variable number of keys.
    if (typeof r.sbQueueClaim !== 'function') redis.defineCommand('sbQueueClaim', { lua: CLAIM });
    this.#scripts = redis as unknown as ScriptCommands;
    this.#maxAgeMs = Math.max(1, options.maxAgeSeconds ?? DEFAULT_QUEUE_MAX_AGE_SECONDS) * 1000;
    this.#offerTimeoutMs = Math.max(1, options.offerTimeoutSeconds ?? DEFAULT_OFFER_TIMEOUT_SECONDS) * 1000;
    this.#claimGuardMs = Math.max(0, options.claimGuardSeconds ?? DEFAULT_CLAIM_GUARD_SECONDS) * 1000;
  }

  #line(queue: string): string {
    checkName('queue name', queue);
    return `queues:{queues}:line:${queue}`;
  }

  async enqueue(request: EnqueueRequest, options: EnqueueOptions): Promise<EnqueueResult> {
    checkName('callSid', request.callSid);
    const firstJoinedAt = request.firstJoinedAt ?? options.now;
    const draft: QueueEntry = {
      callSid: request.callSid,
      queue: request.queue,
      firstJoinedAt,
      seq: 0,
      caller: request.caller,
      ...(request.accountSid ? { accountSid: request.accountSid } : {}),
      ...preference(request),
    };
    const reply = (await this.#scripts.sbQueueEnqueue(
      this.#entries,
      this.#line(request.queue),
      this.#seq,
      this.#held,
      request.callSid,
      JSON.stringify(draft),
      options.maxWaiting,
      options.now - this.#maxAgeMs,
      Math.ceil(this.#maxAgeMs / 1000),
      firstJoinedAt,
    )) as [number, string, number?];
    const [kind, value, position] = reply;
    if (Number(kind) === 0) {
      return { ok: false, reason: 'full', waiting: Number(value), maxWaiting: options.maxWaiting };
    }
    const entry = decode(value);
    if (!entry) throw new Error(`queue entry ${request.callSid} is unreadable`);
    if (Number(kind) === 1) {
      return { ok: true, entry, position: (await this.position(entry.callSid)) ?? 1, rejoined: true };
    }
    return { ok: true, entry, position: Number(position), rejoined: false };
  }

  async get(callSid: string): Promise<QueueEntry | undefined> {
    return decode(await this.#redis.hget(this.#entries, callSid));
  }

  async position(callSid: string): Promise<number | undefined> {
    const entry = await this.get(callSid);
    if (!entry) return undefined;
    const rank = await this.#redis.zrank(this.#line(entry.queue), member(entry));
    return rank === null ? undefined : rank + 1;
  }

  async claimNext(queues: readonly string[], agentId: string, now: number): Promise<QueueEntry | undefined> {
    const lines = [...new Set(queues)].map((q) => this.#line(q));
    if (!lines.length) return undefined;
    const raw = await this.#scripts.sbQueueClaim(
      3 + lines.length,
      this.#entries,
      this.#held,
      this.#claiming,
      ...lines,
      agentId,
      now,
      now - this.#maxAgeMs,
      now - this.#offerTimeoutMs,
      this.#claimGuardMs,
      Math.ceil(this.#maxAgeMs / 1000),
    );
    return decode(raw);
  }

  async settleClaim(agentId: string, callSid: string): Promise<void> {
    await this.#scripts.sbQueueSettle(this.#claiming, agentId, callSid);
  }

  /** Read-modify-write of one entry with compare-and-set; retries when another write came first. */
  async #update(
    callSid: string,
    change: (entry: QueueEntry) => QueueEntry | undefined,
  ): Promise<{ before: QueueEntry; after: QueueEntry | undefined } | undefined> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const raw = await this.#redis.hget(this.#entries, callSid);
      const before = decode(raw);
      if (!raw || !before) return undefined;
      const after = change(before);
      if (!after) return { before, after: undefined };
      const ok = await this.#scripts.sbQueueUpdate(this.#entries, callSid, raw, JSON.stringify(after));
      if (Number(ok) === 1) return { before, after };
    }
    throw new Error(`queue entry ${callSid} changed concurrently too often`);
  }

  async release(
    callSid: string,
    agentId?: string,
    options: { rangOut?: boolean } = {},
  ): Promise<QueueEntry | undefined> {
    const result = await this.#update(callSid, (e) => {
      if (e.offeredTo === undefined) return undefined;
      if (agentId !== undefined && e.offeredTo !== agentId) return undefined;
      return options.rangOut ? { ...withoutOffer(e), ringOuts: (e.ringOuts ?? 0) + 1 } : withoutOffer(e);
    });
    return result?.after;
  }

  async requestCallback(
    callSid: string,
    number: string,
    now: number,
    options: { base?: string } = {},
  ): Promise<QueueEntry | undefined> {
    const result = await this.#update(callSid, (e) => withCallbackRequest(e, number, now, options.base));
    return result && (result.after ?? result.before);
  }

  async callbackAttemptStarted(
    callSid: string,
    agentId: string,
    attemptSid: string,
  ): Promise<QueueEntry | undefined> {
    const result = await this.#update(callSid, (e) =>
      e.callback && e.offeredTo === agentId ? { ...e, callback: { ...e.callback, attemptSid } } : undefined,
    );
    return result?.after;
  }

  async callbackAttemptFailed(
    callSid: string,
    options: CallbackFailure,
  ): Promise<{ entry: QueueEntry; exhausted: boolean; removed?: RemovedEntry } | undefined> {
    const result = await this.#update(callSid, (e) =>
      isCurrentAttempt(e, options) ? afterFailedAttempt(e, options) : undefined,
    );
    const entry = result?.after;
    if (!entry?.callback) return undefined;
    if (entry.callback.attempts < options.maxAttempts) return { entry, exhausted: false };
    const removed = await this.remove(callSid, 'callback-failed', options.now);
    return { entry, exhausted: true, ...(removed ? { removed } : {}) };
  }

  async remove(callSid: string, reason: RemoveReason, now: number): Promise<RemovedEntry | undefined> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const raw = await this.#redis.hget(this.#entries, callSid);
      const entry = decode(raw);
      if (!raw || !entry) return undefined;
      const position = await this.#scripts.sbQueueRemove(
        this.#entries,
        this.#line(entry.queue),
        callSid,
        raw,
        member(entry),
      );
      // null: the entry changed (an offer, a callback) or went since we read it: read again.
      if (position !== null)
        return { entry, reason, waitSeconds: waitSeconds(entry, now), position: Number(position) };
    }
    throw new Error(`queue entry ${callSid} changed concurrently too often`);
  }

  async #lines(queues: readonly string[]): Promise<QueueEntry[][]> {
    if (!queues.length) return [];
    const pipeline = this.#redis.pipeline();
    for (const q of queues) pipeline.zrange(this.#line(q), '0', '-1');
    const replies = (await pipeline.exec()) ?? [];
    const members = replies.map(([err, value]) => {
      if (err) throw err;
      return value as string[];
    });
    const sids = members.flat().map((m) => m.slice(SID_AT - 1));
    const raws = sids.length ? await this.#redis.hmget(this.#entries, ...sids) : [];
    const bySid = new Map<string, QueueEntry>();
    raws.forEach((raw) => {
      const e = decode(raw);
      if (e) bySid.set(e.callSid, e);
    });
    return members.map((line) =>
      line.map((m) => bySid.get(m.slice(SID_AT - 1))).filter((e): e is QueueEntry => e !== undefined),
    );
  }

  async list(queue: string, now: number): Promise<QueuedCaller[]> {
    const [line = []] = await this.#lines([queue]);
    return line.map((e, i) => ({ ...e, position: i + 1, waitSeconds: waitSeconds(e, now) }));
  }

  async summaries(queues: readonly string[], now: number): Promise<QueueSummary[]> {
    const lines = await this.#lines(queues);
    return queues.map((q, i) => summarize(q, lines[i] ?? [], now, this.#offerTimeoutMs));
  }

  async prune(now: number): Promise<QueueEntry[]> {
    const all = await this.#redis.hgetall(this.#entries);
    const out: QueueEntry[] = [];
    for (const raw of Object.values(all)) {
      const e = decode(raw);
      if (e && e.firstJoinedAt <= now - this.#maxAgeMs && (await this.remove(e.callSid, 'timeout', now)))
        out.push(e);
    }
    return out;
  }
}
