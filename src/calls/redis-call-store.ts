import type { Redis } from 'ioredis';
import { plainCopy } from '../plain-copy.js';
import { applyEvents } from './call-state.js';
import {
  activeHorizonMs,
  type CallStore,
  CallStoreConflictError,
  MAX_TIMELINE,
  stateTtlSeconds,
  type UpdateResult,
} from './call-store.js';
import type { CallEvent, CallState, Effect, TimelineEntry } from './call-types.js';

/*
 * Keys (behind the client's keyPrefix). The three keys of one call share the hash tag {sid}, so
 * the compare-and-set script is valid on Redis Cluster too:
 *   call:{sid}      hash  v = version, s = state JSON
 *   call:{sid}:tl   list  timeline entries (JSON), capped
 *   call:{sid}:fx   hash  effect id → effect JSON, until acknowledged
 * Two indexes live in their own slots, so no script may touch them (Redis Cluster); their writes
 * are sent in the same turn of the event loop as the compare-and-set, so with the app's client
 * (`coalesceWrites`, src/redis.ts) they leave in the same socket write (one round trip), computed
 * from the state the commit expects, and are written again from the committed state when that
 * guess was wrong. They are plain commands, not a pipeline: a pipeline would batch them the same
 * way but costs as much CPU as a round trip to build (bench/RESULTS.md). They are idempotent:
 *   calls:active    zset  sid → startedAt, while the call runs; entries older than a call can
 *                         live (activeHorizonMs) are dropped by score, so a call whose `completed`
 *                         callback never came leaves it within hours, whatever the index size
 *   calls:finalize  zset  sid → finalizeAt, while a voicemail decision is pending
 */

const stateKey = (sid: string) => `call:{${sid}}`;
const timelineKey = (sid: string) => `call:{${sid}}:tl`;
const effectsKey = (sid: string) => `call:{${sid}}:fx`;
const ACTIVE = 'calls:active';
const FINALIZE = 'calls:finalize';

/**
 * Commit a transition only if nobody else did since we read version ARGV[1]. On a mismatch it hands
 * back what is stored instead — {0, version, state JSON, effects…} — so a replica whose remembered
 * state was stale re-applies without a second read; on success {1, effects…} (all pending effects).
 * ARGV: version, next, state, ttl, timeline (count, entries, cap), effects (id, JSON)….
 */
const CAS_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], 'v') or ''
if cur ~= ARGV[1] then
  local out = { 0, cur, redis.call('HGET', KEYS[1], 's') or '' }
  for _, x in ipairs(redis.call('HVALS', KEYS[3])) do out[#out + 1] = x end
  return out
end
local ttl = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
redis.call('EXPIRE', KEYS[1], ttl)
local n = tonumber(ARGV[5])
if n > 0 then
  redis.call('RPUSH', KEYS[2], unpack(ARGV, 6, 5 + n))
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[6 + n]), -1)
  redis.call('EXPIRE', KEYS[2], ttl)
end
local i = 7 + n
while i < #ARGV do
  redis.call('HSETNX', KEYS[3], ARGV[i], ARGV[i + 1])
  i = i + 2
end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('EXPIRE', KEYS[3], ttl) end
local out = { 1 }
for _, x in ipairs(redis.call('HVALS', KEYS[3])) do out[#out + 1] = x end
return out
`;

/** Version, state JSON and pending effects of one call, in one round trip: {version, state, effects…}. */
const READ_SCRIPT = `
local out = { redis.call('HGET', KEYS[1], 'v') or '', redis.call('HGET', KEYS[1], 's') or '' }
for _, x in ipairs(redis.call('HVALS', KEYS[2])) do out[#out + 1] = x end
return out
`;

/** The client once `defineCommand` added the scripts as methods. */
type WithScripts = Redis & {
  callCas(
    stateKey: string,
    timelineKey: string,
    effectsKey: string,
    ...args: (string | number)[]
  ): Promise<(string | number)[]>;
  callRead(stateKey: string, effectsKey: string): Promise<string[]>;
};

const MAX_ATTEMPTS = 30;

/**
 * How many calls' last committed version this process remembers. A call's callbacks mostly reach
 * the replica that handled its earlier ones only by chance, so this is a saving, never a truth: a
 * stale entry costs nothing extra (the compare-and-set hands back what is stored).
 */
const REMEMBERED_CALLS = 2_000;

/** Pending effects in the order their transitions owed them. */
function decodeEffects(values: readonly (string | number)[]): Effect[] {
  return values
    .map((v) => JSON.parse(String(v)) as [number, Effect])
    .sort((a, b) => a[0] - b[0])
    .map(([, fx]) => fx);
}

/** One write to an index (another slot than the call's keys). */
type IndexWrite =
  | ['zadd', string, number, string]
  | ['zrem', string, string]
  | ['zremrangebyscore', string, string, string];

function sendWrite(redis: Redis, w: IndexWrite): Promise<unknown> {
  if (w[0] === 'zadd') return redis.zadd(w[1], w[2], w[3]);
  if (w[0] === 'zrem') return redis.zrem(w[1], w[2]);
  return redis.zremrangebyscore(w[1], w[2], w[3]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What this process last committed (or read) for one call: its version and its state, parsed
 * once. The state is this store's own copy (never handed out), and `applyEvents` copies what it is
 * given, so it cannot be changed behind the store's back; keeping it parsed saves a JSON.parse
 * per update (≈ 3 µs for a 1 KB state; bench/RESULTS.md, issue 18 wave 4).
 */
interface Known {
  version: string;
  state: CallState;
}

/** Call state in Redis, shared by every replica. */
export class RedisCallStore implements CallStore {
  private readonly redis: WithScripts;
  private readonly queues = new Map<string, Promise<void>>();
  /** Least recently used first (a Map keeps insertion order; a hit is re-inserted). */
  private readonly known = new Map<string, Known>();
  /** Acknowledgements waiting for this turn of the event loop to end, sent as one pipeline. */
  private acks: { sid: string; ids: readonly string[]; done: (err?: unknown) => void }[] = [];

  constructor(
    redis: Redis,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!('callCas' in redis)) redis.defineCommand('callCas', { numberOfKeys: 3, lua: CAS_SCRIPT });
    if (!('callRead' in redis)) redis.defineCommand('callRead', { numberOfKeys: 2, lua: READ_SCRIPT });
    this.redis = redis as WithScripts;
  }

  /** One round trip: the version, the state and the pending effects. */
  private async read(sid: string): Promise<{ version: string; state: CallState | null; pending: Effect[] }> {
    const [version = '', json = '', ...fx] = await this.redis.callRead(stateKey(sid), effectsKey(sid));
    const state = json ? (JSON.parse(json) as CallState) : null;
    this.remember(sid, version, state);
    return { version, state, pending: decodeEffects(fx) };
  }

  /** Remembers a copy of `state` (the caller keeps the original; null forgets the call). */
  private remember(sid: string, version: string, state: CallState | null): void {
    this.known.delete(sid);
    if (!state) return;
    this.known.set(sid, { version, state: plainCopy(state) });
    if (this.known.size > REMEMBERED_CALLS) this.known.delete(this.known.keys().next().value as string);
  }

  async get(sid: string): Promise<CallState | null> {
    const json = await this.redis.hget(stateKey(sid), 's');
    return json ? (JSON.parse(json) as CallState) : null;
  }

  /**
   * Updates of one call run one after another within this process, so compare-and-set conflicts
   * only come from other replicas; those are retried with a jittered backoff.
   */
  update(sid: string, event: CallEvent | readonly CallEvent[]): Promise<UpdateResult> {
    const previous = this.queues.get(sid) ?? Promise.resolve();
    const run = previous.then(
      () => this.updateNow(sid, event),
      () => this.updateNow(sid, event),
    );
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(sid, tail);
    void tail.then(() => {
      if (this.queues.get(sid) === tail) this.queues.delete(sid);
    });
    return run;
  }

  /**
   * The compare-and-set goes out without a read first when this process knows the call's last
   * version (it committed it), or the events would create the call (tried on "no call yet"). A
   * wrong guess costs no extra round trip: the script answers a mismatch with what is stored.
   * Only when the events change nothing on what is remembered (a duplicate, or the memory is
   * stale) is the call read — one round trip that also brings its pending effects.
   */
  private async updateNow(sid: string, event: CallEvent | readonly CallEvent[]): Promise<UpdateResult> {
    const events: readonly CallEvent[] = Array.isArray(event) ? event : [event];
    const known = this.known.get(sid);
    let version = known?.version ?? '';
    let state: CallState | null = known?.state ?? null;
    let fresh = false; // `state` came from Redis just now (not from memory)
    let conflicts = 0;
    let strayIndex = false; // a refused attempt sent index writes guessed from a stale state
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let t = applyEvents(state, events);
      if (!t && !fresh) {
        const read = await this.read(sid);
        version = read.version;
        state = read.state;
        fresh = true;
        t = applyEvents(state, events);
        if (!t) return this.unchanged(sid, state, read.pending);
      }
      if (!t) throw new Error('unreachable: a fresh state that changes nothing was answered above');
      const next = String(Number(version || '0') + 1);
      const json = JSON.stringify(t.state);
      const args: (string | number)[] = [
        version,
        next,
        json,
        stateTtlSeconds(t.state, this.ttlSeconds),
        t.timeline.length,
        ...t.timeline.map((e) => JSON.stringify(e)),
        MAX_TIMELINE,
      ];
      // Each effect carries its place (version, index): a hash does not keep insertion order.
      for (const [i, fx] of t.effects.entries())
        args.push(fx.id, JSON.stringify([Number(next) * 1000 + i, fx]));
      // The index writes this commit implies go out in the same turn, so in the same socket write
      // (another slot: not in the script; see the top of this file). If the commit does not go
      // through, they are written again from what is stored.
      const writes = this.indexWrites(sid, state, t.state);
      const guessed = writes.length > 0;
      const cas = this.redis.callCas(stateKey(sid), timelineKey(sid), effectsKey(sid), ...args);
      const indexed = Promise.all(writes.map((w) => sendWrite(this.redis, w)));
      // Settled together, as the pipeline they replace was; only the CAS's outcome decides, as then
      // (they share one connection: an index write fails alone only in exotic cases).
      const [casResult] = await Promise.allSettled([cas, indexed]);
      if (casResult.status === 'rejected') throw casResult.reason;
      const res = casResult.value;
      if (Number(res[0]) === 1) {
        this.remember(sid, next, t.state);
        // An earlier attempt's index writes were guessed from a stale state: set the truth.
        if (strayIndex) await this.indexExactly(sid, t.state);
        return { state: t.state, changed: true, pending: decodeEffects(res.slice(1)) };
      }
      // Someone else committed first (or this memory was stale): re-apply to what is stored.
      const storedVersion = String(res[1] ?? '');
      const storedJson = String(res[2] ?? '');
      version = storedVersion;
      state = storedJson ? (JSON.parse(storedJson) as CallState) : null;
      this.remember(sid, storedVersion, state);
      fresh = true;
      strayIndex ||= guessed;
      if (!applyEvents(state, events)) {
        // Nothing to commit after all: undo what the index writes guessed.
        if (strayIndex) await this.indexExactly(sid, state);
        return this.unchanged(sid, state, decodeEffects(res.slice(3)));
      }
      // The first mismatch is a stale memory or a wrong "no call yet" guess; the next are
      // contention with another replica: back off with jitter.
      if (++conflicts > 1) await sleep(Math.random() * Math.min(50, 2 ** conflicts));
    }
    throw new CallStoreConflictError(sid);
  }

  /** A repeated or late callback: hand back what an earlier update may have left undone. */
  private async unchanged(sid: string, state: CallState | null, pending: Effect[]): Promise<UpdateResult> {
    // A repeated callback of an ended call also repairs the index, in case the replica that
    // ended it died before removing it (the count would be off until the entry aged out).
    // Only removal: ended is final, whereas re-adding could race with another replica's end.
    if (state?.phase === 'ended') await this.redis.zrem(ACTIVE, sid);
    return { state, changed: false, pending };
  }

  /**
   * The index writes that take `before` to `after` (none when membership does not change). A new
   * entry also drops the entries too old to be running (ZREMRANGEBYSCORE, O(log n + removed)).
   */
  private indexWrites(sid: string, before: CallState | null, after: CallState): IndexWrite[] {
    const wasActive = before !== null && before.phase !== 'ended';
    const isActive = after.phase !== 'ended';
    const out: IndexWrite[] = [];
    if (isActive && !wasActive) {
      out.push(['zadd', ACTIVE, after.startedAt, sid]);
      out.push(['zremrangebyscore', ACTIVE, '-inf', `(${this.activeFloor()}`]);
    }
    if (!isActive && (wasActive || before === null)) out.push(['zrem', ACTIVE, sid]);
    if (after.finalizeAt !== before?.finalizeAt) {
      if (after.finalizeAt !== undefined) out.push(['zadd', FINALIZE, after.finalizeAt, sid]);
      else out.push(['zrem', FINALIZE, sid]);
    }
    return out;
  }

  /** Sets the call's index entries from its state alone (after a wrong guess; null: no call). */
  private async indexExactly(sid: string, state: CallState | null): Promise<void> {
    const p = this.redis.pipeline();
    if (state && state.phase !== 'ended') p.zadd(ACTIVE, state.startedAt, sid);
    else p.zrem(ACTIVE, sid);
    if (state?.finalizeAt !== undefined) p.zadd(FINALIZE, state.finalizeAt, sid);
    else p.zrem(FINALIZE, sid);
    await p.exec();
  }

  /**
   * Sends the acknowledgements of this turn of the event loop together: plain commands in one
   * turn, so one socket write with the app's client (`coalesceWrites`), without a pipeline's cost.
   */
  private flushAcks(): void {
    const batch = this.acks;
    this.acks = [];
    for (const a of batch)
      this.redis.hdel(effectsKey(a.sid), ...a.ids).then(
        () => a.done(),
        (err: unknown) => a.done(err),
      );
  }

  /**
   * Resolves once Redis dropped the effects, so no replica is handed them again; the
   * acknowledgements of all calls made in one turn of the event loop go out together (one socket
   * write: under load, several callbacks finish their effects in the same turn).
   */
  ack(sid: string, effectIds: readonly string[]): Promise<void> {
    if (!effectIds.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (!this.acks.length) setImmediate(() => this.flushAcks());
      this.acks.push({ sid, ids: effectIds, done: (err) => (err ? reject(err) : resolve()) });
    });
  }

  async timeline(sid: string): Promise<TimelineEntry[]> {
    const items = await this.redis.lrange(timelineKey(sid), 0, -1);
    return items.map((i) => JSON.parse(i) as TimelineEntry);
  }

  /** Index entries scored below this started too long ago to be running. */
  private activeFloor(): number {
    return this.now() - activeHorizonMs(this.ttlSeconds);
  }

  /** Drops index entries older than a call can live, then counts the rest: two O(log n) commands. */
  async activeCount(): Promise<number> {
    const res = await this.redis
      .multi()
      .zremrangebyscore(ACTIVE, '-inf', `(${this.activeFloor()}`)
      .zcard(ACTIVE)
      .exec();
    const [err, count] = res?.[1] ?? [new Error('transaction aborted'), 0];
    if (err) throw err;
    return Number(count);
  }

  async active(limit = 200): Promise<CallState[]> {
    await this.redis.zremrangebyscore(ACTIVE, '-inf', `(${this.activeFloor()}`);
    const sids = await this.redis.zrevrange(ACTIVE, 0, limit - 1);
    if (!sids.length) return [];
    const p = this.redis.pipeline();
    for (const sid of sids) p.hget(stateKey(sid), 's');
    const res = (await p.exec()) ?? [];
    const out: CallState[] = [];
    const stale: string[] = [];
    res.forEach(([err, json], i) => {
      const state = !err && typeof json === 'string' ? (JSON.parse(json) as CallState) : null;
      if (state && state.phase !== 'ended') out.push(state);
      else stale.push(sids[i] as string);
    });
    // An index entry whose call ended or expired (a replica died between commit and index): drop it.
    if (stale.length) await this.redis.zrem(ACTIVE, ...stale);
    return out;
  }

  async dueForFinalize(now: number, limit = 100): Promise<string[]> {
    return this.redis.zrangebyscore(FINALIZE, '-inf', now, 'LIMIT', 0, limit);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }
}
