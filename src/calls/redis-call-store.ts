import type { Redis } from 'ioredis';
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
 * Two indexes live in their own slots and are maintained after the commit (idempotently):
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What this process last committed (or read) for one call: version and state JSON. */
interface Known {
  version: string;
  json: string;
}

/** Call state in Redis, shared by every replica. */
export class RedisCallStore implements CallStore {
  private readonly redis: WithScripts;
  private readonly queues = new Map<string, Promise<void>>();
  /** Least recently used first (a Map keeps insertion order; a hit is re-inserted). */
  private readonly known = new Map<string, Known>();

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
    this.remember(sid, version, json);
    return { version, state: json ? (JSON.parse(json) as CallState) : null, pending: decodeEffects(fx) };
  }

  private remember(sid: string, version: string, json: string): void {
    this.known.delete(sid);
    if (!json) return;
    this.known.set(sid, { version, json });
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
    let state: CallState | null = known ? (JSON.parse(known.json) as CallState) : null;
    let fresh = false; // `state` came from Redis just now (not from memory)
    let conflicts = 0;
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
      const res = await this.redis.callCas(stateKey(sid), timelineKey(sid), effectsKey(sid), ...args);
      if (Number(res[0]) === 1) {
        this.remember(sid, next, json);
        await this.index(sid, state, t.state);
        return { state: t.state, changed: true, pending: decodeEffects(res.slice(1)) };
      }
      // Someone else committed first (or this memory was stale): re-apply to what is stored.
      const storedVersion = String(res[1] ?? '');
      const storedJson = String(res[2] ?? '');
      this.remember(sid, storedVersion, storedJson);
      version = storedVersion;
      state = storedJson ? (JSON.parse(storedJson) as CallState) : null;
      fresh = true;
      if (!applyEvents(state, events)) return this.unchanged(sid, state, decodeEffects(res.slice(3)));
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
   * Keeps the two indexes in step with the committed state; only writes when membership changes.
   * A new entry also drops the entries too old to be running (ZREMRANGEBYSCORE, O(log n + removed)).
   */
  private async index(sid: string, before: CallState | null, after: CallState): Promise<void> {
    const wasActive = before !== null && before.phase !== 'ended';
    const isActive = after.phase !== 'ended';
    const p = this.redis.pipeline();
    if (isActive && !wasActive) {
      p.zadd(ACTIVE, after.startedAt, sid);
      p.zremrangebyscore(ACTIVE, '-inf', `(${this.activeFloor()}`);
    }
    if (!isActive && (wasActive || before === null)) p.zrem(ACTIVE, sid);
    if (after.finalizeAt !== before?.finalizeAt) {
      if (after.finalizeAt !== undefined) p.zadd(FINALIZE, after.finalizeAt, sid);
      else p.zrem(FINALIZE, sid);
    }
    if (p.length) await p.exec();
  }

  async ack(sid: string, effectIds: readonly string[]): Promise<void> {
    if (effectIds.length) await this.redis.hdel(effectsKey(sid), ...effectIds);
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
