import type { Redis } from 'ioredis';
import {
  applyEvents,
  type CallEvent,
  type CallState,
  type Effect,
  type TimelineEntry,
} from './call-state.js';
import {
  activeHorizonMs,
  type CallStore,
  CallStoreConflictError,
  MAX_TIMELINE,
  stateTtlSeconds,
  type UpdateResult,
} from './call-store.js';

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

/** Commit a transition only if nobody else did since we read version ARGV[1]. */
const CAS_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], 'v') or ''
if cur ~= ARGV[1] then return false end
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
return redis.call('HGETALL', KEYS[3])
`;

/** The client once `defineCommand` added the script as a method. */
type WithCas = Redis & {
  callCas(
    stateKey: string,
    timelineKey: string,
    effectsKey: string,
    ...args: (string | number)[]
  ): Promise<string[] | null>;
};

const MAX_ATTEMPTS = 30;

/** Pending effects in the order their transitions owed them. */
function decodeEffects(values: readonly string[]): Effect[] {
  return values
    .map((v) => JSON.parse(v) as [number, Effect])
    .sort((a, b) => a[0] - b[0])
    .map(([, fx]) => fx);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Call state in Redis, shared by every replica. */
export class RedisCallStore implements CallStore {
  private readonly redis: WithCas;
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    redis: Redis,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!('callCas' in redis)) redis.defineCommand('callCas', { numberOfKeys: 3, lua: CAS_SCRIPT });
    this.redis = redis as WithCas;
  }

  /** One command: the version and the state. Pending effects are only read when nothing changes. */
  private async read(sid: string): Promise<{ version: string; state: CallState | null }> {
    const [version, json] = await this.redis.hmget(stateKey(sid), 'v', 's');
    return { version: version ?? '', state: json ? (JSON.parse(json) as CallState) : null };
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

  private async updateNow(sid: string, event: CallEvent | readonly CallEvent[]): Promise<UpdateResult> {
    const events: readonly CallEvent[] = Array.isArray(event) ? event : [event];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(Math.random() * Math.min(50, 2 ** attempt));
      const { version, state } = await this.read(sid);
      const t = applyEvents(state, events);
      if (!t) {
        // A repeated or late callback: hand back what an earlier update may have left undone.
        const pending = decodeEffects(Object.values(await this.redis.hgetall(effectsKey(sid))));
        // A repeated callback of an ended call also repairs the index, in case the replica that
        // ended it died before removing it (the count would be off until the entry aged out).
        // Only removal: ended is final, whereas re-adding could race with another replica's end.
        if (state?.phase === 'ended') await this.redis.zrem(ACTIVE, sid);
        return { state, changed: false, pending };
      }
      const next = String(Number(version || '0') + 1);
      const args: (string | number)[] = [
        version,
        next,
        JSON.stringify(t.state),
        stateTtlSeconds(t.state, this.ttlSeconds),
        t.timeline.length,
        ...t.timeline.map((e) => JSON.stringify(e)),
        MAX_TIMELINE,
      ];
      // Each effect carries its place (version, index): a hash does not keep insertion order.
      for (const [i, fx] of t.effects.entries())
        args.push(fx.id, JSON.stringify([Number(next) * 1000 + i, fx]));
      const res = await this.redis.callCas(stateKey(sid), timelineKey(sid), effectsKey(sid), ...args);
      if (res === null) continue; // someone else committed first: re-read and re-apply
      const all = decodeEffects(res.filter((_, i) => i % 2 === 1));
      await this.index(sid, state, t.state);
      return { state: t.state, changed: true, pending: all };
    }
    throw new CallStoreConflictError(sid);
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
