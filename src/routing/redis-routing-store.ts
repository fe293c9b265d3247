import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isWithheld } from './route-call.js';
import {
  ANSWERED_DAY_TTL_SECONDS,
  answeredDay,
  callerKey,
  DEFAULT_BUSY_MAX_MS,
  DEFAULT_COUNTED_TTL_SECONDS,
  epochMs,
  type LoadOptions,
  type RoutingState,
  type RoutingStore,
  type RoutingStoreOptions,
} from './routing-store.js';

/*
 * Keys (after the client's keyPrefix). All share the hash tag `{routing}`: `load` reads a caller's
 * history together with the roster-wide idle and busy hashes in one script, and a Redis Cluster
 * script may only touch keys of one slot. The price is that routing lives on one shard; it is a
 * few small commands per call, and a caller's hash holds one field per agent they talked to.
 *
 *   {routing}:history:<caller>  hash   agentId → answered calls; at most HISTORY_AGENTS fields,
 *                                      expires historyDays after the caller's last answered call
 *   {routing}:counted:<callSid> string marker: this call's answer was counted (EX countedTtl)
 *   {routing}:answered:<day>    hash   agentId → inbound calls answered that local day (TZ), for
 *                                      `fewest-calls`; counted under the same marker as the history,
 *                                      expires ANSWERED_DAY_TTL_SECONDS after its last answer
 *   {routing}:idle              hash   agentId → ms epoch of the last leg end
 *   {routing}:busy              hash   agentId → "<answeredAt>:<legSid>"
 *   {routing}:ended:<legSid>    string marker: this leg ended (PX busyMax), so a late "answered"
 *                                      callback cannot mark the agent busy again
 *   {routing}:rotation          int    round-robin counter
 *   {routing}:presence          hash   v → presence version (+1 per idle/busy change),
 *                                      epoch → id of this counter's life (a flushed Redis starts anew)
 *   {routing}:changed           zset   agentId → presence version of its last change (one per agent)
 *
 * Each replica keeps the idle and busy hashes in process; `load` sends the version it holds and
 * gets back only the agents changed since (ZRANGEBYSCORE + HMGET), so a decision reads
 * O(changed agents), not the roster (bench/RESULTS.md, issue 18).
 */
const TAG = '{routing}';
const keys = {
  history: (caller: string) => `${TAG}:history:${caller}`,
  counted: (callSid: string) => `${TAG}:counted:${callSid}`,
  answered: (day: string) => `${TAG}:answered:${day}`,
  idle: `${TAG}:idle`,
  busy: `${TAG}:busy`,
  ended: (legSid: string) => `${TAG}:ended:${legSid}`,
  rotation: `${TAG}:rotation`,
  presence: `${TAG}:presence`,
  changed: `${TAG}:changed`,
};

/** Agents a caller's history keeps: the ones they talked to most (the share is taken over these). */
export const HISTORY_AGENTS = 20;
/** Past this many changed agents a load returns the whole hashes instead of a delta. */
const MAX_DELTA = 256;

/** Lua: drops the fields with the fewest calls (never ARGV keep) until the hash holds `cap`. */
const TRIM_HISTORY = `
local function trim(key, cap, keep)
  local flat = redis.call('HGETALL', key)
  local n = #flat / 2
  if n <= cap then return end
  local rows = {}
  for i = 1, #flat, 2 do rows[#rows + 1] = { flat[i], tonumber(flat[i + 1]) or 0 } end
  table.sort(rows, function(a, b)
    if a[1] == keep then return false end
    if b[1] == keep then return true end
    if a[2] ~= b[2] then return a[2] < b[2] end
    return a[1] < b[1]
  end)
  for i = 1, n - cap do redis.call('HDEL', key, rows[i][1]) end
end
`;

// KEYS: history, idle, busy, rotation, presence, changed, answered today.
// ARGV: read history (1/0), advance rotation (1/0), epoch held ('' = none), version held, history
// cap, read answered today (1/0).
// Reply: { history, rotation|false, epoch, version, mode, a, b, answered } where mode 'full' → a, b
// = the idle and busy hashes (flat), 'delta' → a = changed agent ids, b = { idle values, busy
// values }; answered = today's hash (flat), or false when not asked for.
const LOAD = `${TRIM_HISTORY}
local answered = false
if ARGV[6] == '1' then answered = redis.call('HGETALL', KEYS[7]) end
local history = {}
if ARGV[1] == '1' then
  if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[5]) then trim(KEYS[1], tonumber(ARGV[5]), '') end
  history = redis.call('HGETALL', KEYS[1])
end
local rotation = false
if ARGV[2] == '1' then rotation = redis.call('INCR', KEYS[4]) end
local p = redis.call('HMGET', KEYS[5], 'epoch', 'v')
local epoch = p[1] or ''
local v = tonumber(p[2] or '0')
local held = tonumber(ARGV[4]) or -1
if epoch == ARGV[3] and epoch ~= '' and held <= v then
  if held == v then return { history, rotation, epoch, v, 'delta', {}, {}, answered } end
  local changed = redis.call('ZRANGEBYSCORE', KEYS[6], '(' .. held, '+inf', 'LIMIT', 0, ${MAX_DELTA})
  if #changed == 0 then return { history, rotation, epoch, v, 'delta', {}, {}, answered } end
  if #changed < ${MAX_DELTA} then
    return { history, rotation, epoch, v, 'delta', changed,
      { redis.call('HMGET', KEYS[2], unpack(changed)), redis.call('HMGET', KEYS[3], unpack(changed)) }, answered }
  end
end
return { history, rotation, epoch, v, 'full', redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]), answered }
`;

// Lua: one presence change of agent ARGV[1]; KEYS[p] = presence, KEYS[c] = changed, epoch = a new id.
const BUMP = `
local function bump(presence, changed, agent, epoch)
  redis.call('HSETNX', presence, 'epoch', epoch)
  redis.call('ZADD', changed, redis.call('HINCRBY', presence, 'v', 1), agent)
end
`;

// KEYS: counted marker, history, answered today. ARGV: agentId, marker TTL (s), history TTL (s),
// history cap, write history (1/0: not for a withheld caller), answered-day TTL (s).
// The marker and the increments happen together or not at all, so neither a repeat nor a crash
// can count a call twice.
const RECORD_ANSWER = `${TRIM_HISTORY}
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
  redis.call('EXPIRE', KEYS[3], ARGV[6])
  if ARGV[5] == '1' then
    redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
    if redis.call('HLEN', KEYS[2]) > tonumber(ARGV[4]) then trim(KEYS[2], tonumber(ARGV[4]), ARGV[1]) end
    redis.call('EXPIRE', KEYS[2], ARGV[3])
  end
  return 1
end
return 0
`;

// KEYS: busy, ended marker, presence, changed. ARGV: agentId, answeredAt, legSid, epoch.
const MARK_BUSY = `${BUMP}
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
bump(KEYS[3], KEYS[4], ARGV[1], ARGV[4])
return 1
`;

// KEYS: busy, idle, ended marker, presence, changed. ARGV: agentId, endedAt, legSid, marker TTL (ms), epoch.
const MARK_IDLE = `${BUMP}
redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
local changed = false
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local sep = string.find(current, ':', 1, true)
  if sep and string.sub(current, sep + 1) == ARGV[3] then
    redis.call('HDEL', KEYS[1], ARGV[1])
    changed = true
  end
end
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if not last or tonumber(ARGV[2]) > last then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  changed = true
end
if changed then bump(KEYS[4], KEYS[5], ARGV[1], ARGV[5]) end
return 1
`;

type Reply = string | number | null | Reply[];

/** The scripts, registered on the client under names no other component uses. */
interface RoutingCommands {
  switchboardRoutingLoad3(...args: string[]): Promise<Reply>;
  switchboardRoutingRecordAnswer3(...args: string[]): Promise<number>;
  switchboardRoutingMarkBusy2(...args: string[]): Promise<number>;
  switchboardRoutingMarkIdle2(...args: string[]): Promise<number>;
}

export interface RedisRoutingStoreOptions extends RoutingStoreOptions {
  /** ROUTING_HISTORY_DAYS: a caller's history expires this long after their last answered call. Default 365. */
  historyDays?: number;
}

/**
 * Idle times and busy flags as this replica last read them, at presence version `version`. The
 * objects are updated in place by later loads (O(changed agents)), so a `RoutingState` is a live
 * view: read it right after `load`, as the router does, and never change it.
 */
interface PresenceCache {
  epoch: string;
  version: number;
  idle: Record<string, number>;
  /** agentId → answeredAt of its busy flag (stale ones included: staleness depends on the clock). */
  busy: Map<string, number>;
  busySet: Set<string>;
  /** The oldest answeredAt in `busySet`: once it is older than busyMax, the set is rebuilt. */
  oldestBusy: number;
  /** The last changes, oldest first: (agent, version of the load that brought it), for `changedSince`. */
  log: { id: string; v: number }[];
  /** `log` holds every change after this version. */
  logFloor: number;
}

const LOG_LENGTH = 2048;

/**
 * Routing state in Redis, shared by all replicas. Takes the app's client (with its `keyPrefix`);
 * every operation is one script or command, so one round trip.
 */
export function createRedisRoutingStore(redis: Redis, options: RedisRoutingStoreOptions = {}): RoutingStore {
  const now = options.now ?? Date.now;
  const countedTtlSeconds = String(options.countedTtlSeconds ?? DEFAULT_COUNTED_TTL_SECONDS);
  const busyMaxMs = options.busyMaxMs ?? DEFAULT_BUSY_MAX_MS;
  const historyTtlSeconds = String(Math.round((options.historyDays ?? 365) * 86_400));
  const timeZone = options.timeZone ?? 'UTC';
  const today = () => answeredDay(now(), timeZone);
  // Each write that may create the presence counter offers a new epoch id (HSETNX keeps the first),
  // so a counter re-created after a flush is never mistaken for the one a replica held.
  const replicaId = randomUUID();
  let writes = 0;
  const newEpoch = () => `${replicaId}.${++writes}`;

  redis.defineCommand('switchboardRoutingLoad3', { numberOfKeys: 7, lua: LOAD });
  redis.defineCommand('switchboardRoutingRecordAnswer3', { numberOfKeys: 3, lua: RECORD_ANSWER });
  redis.defineCommand('switchboardRoutingMarkBusy2', { numberOfKeys: 4, lua: MARK_BUSY });
  redis.defineCommand('switchboardRoutingMarkIdle2', { numberOfKeys: 5, lua: MARK_IDLE });
  const scripts = redis as unknown as RoutingCommands;
  let cache: PresenceCache | undefined;

  function rebuildBusy(c: PresenceCache): void {
    const oldest = now() - busyMaxMs;
    c.busySet = new Set();
    c.oldestBusy = Number.POSITIVE_INFINITY;
    for (const [id, at] of c.busy) {
      if (at < oldest) continue;
      c.busySet.add(id);
      if (at < c.oldestBusy) c.oldestBusy = at;
    }
  }

  /** Applies a load's presence part: the whole hashes, or the agents changed since `cache.version`. */
  function applyPresence(
    replyEpoch: string,
    version: number,
    mode: string,
    a: Reply,
    b: Reply,
  ): PresenceCache {
    if (mode === 'full' || !cache || cache.epoch !== replyEpoch) {
      const busy = new Map<string, number>();
      const pairs = b as string[];
      for (let i = 0; i + 1 < pairs.length; i += 2) busy.set(pairs[i]!, Number.parseInt(pairs[i + 1]!, 10));
      const fresh: PresenceCache = {
        epoch: replyEpoch,
        version,
        idle: numbersOf(a as string[]),
        busy,
        busySet: new Set(),
        oldestBusy: 0,
        log: [],
        logFloor: version,
      };
      rebuildBusy(fresh);
      cache = fresh;
      return fresh;
    }
    const c = cache;
    const ids = a as string[];
    // A reply older than what a concurrent load already applied changes nothing.
    if (ids.length === 0 || version <= c.version) return c;
    const [idleValues, busyValues] = b as [(string | null)[], (string | null)[]];
    const oldest = now() - busyMaxMs;
    ids.forEach((id, i) => {
      const at = idleValues[i];
      if (at == null) delete c.idle[id];
      else c.idle[id] = Number(at);
      const flag = busyValues[i];
      if (flag == null) {
        c.busy.delete(id);
        c.busySet.delete(id);
      } else {
        const answeredAt = Number.parseInt(flag, 10);
        c.busy.set(id, answeredAt);
        if (answeredAt >= oldest) {
          c.busySet.add(id);
          if (answeredAt < c.oldestBusy) c.oldestBusy = answeredAt;
        } else c.busySet.delete(id);
      }
      c.log.push({ id, v: version });
    });
    if (c.log.length > LOG_LENGTH) {
      const dropped = c.log.splice(0, c.log.length - LOG_LENGTH);
      // Entries share their load's version: the log is complete only after the last dropped one's.
      c.logFloor = Math.max(c.logFloor, dropped.at(-1)!.v);
    }
    c.version = version;
    return c;
  }

  return {
    async load(caller: string | undefined, loadOptions: LoadOptions = {}): Promise<RoutingState> {
      const withheld = isWithheld(caller);
      // Read afresh on every fewest-calls decision (one HGETALL of the agents who answered today,
      // in the same script): it changes with every answered call, so it is not worth caching.
      const reply = await scripts.switchboardRoutingLoad3(
        keys.history(withheld ? '' : callerKey(caller!)),
        keys.idle,
        keys.busy,
        keys.rotation,
        keys.presence,
        keys.changed,
        // Not read unless asked for: no local-day computation on the other strategies' hot path.
        keys.answered(loadOptions.withAnsweredToday ? today() : ''),
        withheld ? '0' : '1',
        loadOptions.withRotation ? '1' : '0',
        cache?.epoch ?? '',
        String(cache?.version ?? -1),
        String(HISTORY_AGENTS),
        loadOptions.withAnsweredToday ? '1' : '0',
      );
      const [historyPairs, rotation, replyEpoch, version, mode, a, b, answered] = reply as [
        string[],
        unknown,
        string,
        number,
        string,
        Reply,
        Reply,
        unknown,
      ];
      const c = applyPresence(String(replyEpoch), Number(version), String(mode), a, b);
      // A flag older than busyMax is stale (its `completed` never came): rebuild the set without it.
      // A new Set, so a router holding the old one sees a different presence and starts over.
      if (c.oldestBusy < now() - busyMaxMs) rebuildBusy(c);
      const state: RoutingState = { history: numbersOf(historyPairs), idle: c.idle, busy: c.busySet };
      state.presence = {
        version: `${c.epoch}:${c.version}`,
        changedSince(held: string): readonly string[] | null {
          const sep = held.lastIndexOf(':');
          if (cache !== c || held.slice(0, sep) !== c.epoch) return null;
          const v = Number(held.slice(sep + 1));
          // Not covered by the log (or ahead of it): unknown, start over.
          if (!(v <= c.version && v >= c.logFloor)) return null;
          const out: string[] = [];
          for (let i = c.log.length - 1; i >= 0 && c.log[i]!.v > v; i--) out.push(c.log[i]!.id);
          return out;
        },
      };
      // Lua `false` (no rotation asked for) arrives as null; only a real counter value counts.
      if (typeof rotation === 'number' || typeof rotation === 'string') state.rotation = Number(rotation);
      if (loadOptions.withAnsweredToday)
        state.answeredToday = numbersOf(Array.isArray(answered) ? answered : []);
      return state;
    },

    async recordAnswer(callSid: string, caller: string | undefined, agentId: string): Promise<boolean> {
      const withheld = isWithheld(caller);
      const counted = await scripts.switchboardRoutingRecordAnswer3(
        keys.counted(callSid),
        keys.history(withheld ? '' : callerKey(caller!)),
        keys.answered(today()),
        agentId,
        countedTtlSeconds,
        historyTtlSeconds,
        String(HISTORY_AGENTS),
        withheld ? '0' : '1',
        String(ANSWERED_DAY_TTL_SECONDS),
      );
      return Number(counted) === 1;
    },

    async markBusy(agentId: string, legSid: string, at: number): Promise<void> {
      await scripts.switchboardRoutingMarkBusy2(
        keys.busy,
        keys.ended(legSid),
        keys.presence,
        keys.changed,
        agentId,
        String(epochMs(at)),
        legSid,
        newEpoch(),
      );
    },

    async markIdle(agentId: string, legSid: string, at: number): Promise<void> {
      await scripts.switchboardRoutingMarkIdle2(
        keys.busy,
        keys.idle,
        keys.ended(legSid),
        keys.presence,
        keys.changed,
        agentId,
        String(epochMs(at)),
        legSid,
        String(busyMaxMs),
        newEpoch(),
      );
    },

    async nextRotation(): Promise<number> {
      return redis.incr(keys.rotation);
    },
  };
}

/** A flat HGETALL reply as a prototype-free record, so an agent id like `__proto__` stays data. */
function numbersOf(pairs: readonly string[]): Record<string, number> {
  const out = Object.create(null) as Record<string, number>;
  for (let i = 0; i + 1 < pairs.length; i += 2) out[pairs[i]!] = Number(pairs[i + 1]);
  return out;
}
