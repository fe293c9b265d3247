import type { Redis } from 'ioredis';
import { isWithheld } from './route-call.js';
import {
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
 *   {routing}:history:<caller>  hash   agentId → answered calls
 *   {routing}:counted:<callSid> string marker: this call's answer was counted (EX countedTtl)
 *   {routing}:idle              hash   agentId → ms epoch of the last leg end
 *   {routing}:busy              hash   agentId → "<answeredAt>:<legSid>"
 *   {routing}:ended:<legSid>    string marker: this leg ended (PX busyMax), so a late "answered"
 *                                      callback cannot mark the agent busy again
 *   {routing}:rotation          int    round-robin counter
 */
const TAG = '{routing}';
const keys = {
  history: (caller: string) => `${TAG}:history:${caller}`,
  counted: (callSid: string) => `${TAG}:counted:${callSid}`,
  idle: `${TAG}:idle`,
  busy: `${TAG}:busy`,
  ended: (legSid: string) => `${TAG}:ended:${legSid}`,
  rotation: `${TAG}:rotation`,
};

// KEYS: history, idle, busy, rotation. ARGV: read history (1/0), advance rotation (1/0).
const LOAD = `
local history = {}
if ARGV[1] == '1' then history = redis.call('HGETALL', KEYS[1]) end
local rotation = false
if ARGV[2] == '1' then rotation = redis.call('INCR', KEYS[4]) end
return { history, redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]), rotation }
`;

// KEYS: counted marker, history. ARGV: agentId, marker TTL (s). The marker and the increment
// happen together or not at all, so neither a repeat nor a crash can count a call twice.
const RECORD_ANSWER = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  return 1
end
return 0
`;

// KEYS: busy, ended marker. ARGV: agentId, answeredAt, legSid.
const MARK_BUSY = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
return 1
`;

// KEYS: busy, idle, ended marker. ARGV: agentId, endedAt, legSid, marker TTL (ms).
const MARK_IDLE = `
redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local sep = string.find(current, ':', 1, true)
  if sep and string.sub(current, sep + 1) == ARGV[3] then redis.call('HDEL', KEYS[1], ARGV[1]) end
end
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if not last or tonumber(ARGV[2]) > last then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return 1
`;

type Reply = string | number | null | Reply[];

/** The scripts, registered on the client under names no other component uses. */
interface RoutingCommands {
  switchboardRoutingLoad(...args: string[]): Promise<Reply>;
  switchboardRoutingRecordAnswer(...args: string[]): Promise<number>;
  switchboardRoutingMarkBusy(...args: string[]): Promise<number>;
  switchboardRoutingMarkIdle(...args: string[]): Promise<number>;
}

/**
 * Routing state in Redis, shared by all replicas. Takes the app's client (with its `keyPrefix`);
 * every operation is one script or command, so one round trip.
 */
export function createRedisRoutingStore(redis: Redis, options: RoutingStoreOptions = {}): RoutingStore {
  const now = options.now ?? Date.now;
  const countedTtlSeconds = String(options.countedTtlSeconds ?? DEFAULT_COUNTED_TTL_SECONDS);
  const busyMaxMs = options.busyMaxMs ?? DEFAULT_BUSY_MAX_MS;

  redis.defineCommand('switchboardRoutingLoad', { numberOfKeys: 4, lua: LOAD });
  redis.defineCommand('switchboardRoutingRecordAnswer', { numberOfKeys: 2, lua: RECORD_ANSWER });
  redis.defineCommand('switchboardRoutingMarkBusy', { numberOfKeys: 2, lua: MARK_BUSY });
  redis.defineCommand('switchboardRoutingMarkIdle', { numberOfKeys: 3, lua: MARK_IDLE });
  const scripts = redis as unknown as RoutingCommands;

  return {
    async load(caller: string | undefined, loadOptions: LoadOptions = {}): Promise<RoutingState> {
      const withheld = isWithheld(caller);
      const reply = await scripts.switchboardRoutingLoad(
        keys.history(withheld ? '' : callerKey(caller!)),
        keys.idle,
        keys.busy,
        keys.rotation,
        withheld ? '0' : '1',
        loadOptions.withRotation ? '1' : '0',
      );
      const [historyPairs, idlePairs, busyPairs, rotation] = reply as [string[], string[], string[], unknown];
      const state: RoutingState = {
        history: numbersOf(historyPairs),
        idle: numbersOf(idlePairs),
        busy: new Set(),
      };
      const oldest = now() - busyMaxMs;
      for (let i = 0; i + 1 < busyPairs.length; i += 2) {
        const answeredAt = Number.parseInt(busyPairs[i + 1]!, 10);
        if (answeredAt >= oldest) state.busy.add(busyPairs[i]!);
      }
      // Lua `false` (no rotation asked for) arrives as null; only a real counter value counts.
      if (typeof rotation === 'number' || typeof rotation === 'string') state.rotation = Number(rotation);
      return state;
    },

    async recordAnswer(callSid: string, caller: string | undefined, agentId: string): Promise<boolean> {
      if (isWithheld(caller)) return false;
      const counted = await scripts.switchboardRoutingRecordAnswer(
        keys.counted(callSid),
        keys.history(callerKey(caller!)),
        agentId,
        countedTtlSeconds,
      );
      return Number(counted) === 1;
    },

    async markBusy(agentId: string, legSid: string, at: number): Promise<void> {
      await scripts.switchboardRoutingMarkBusy(
        keys.busy,
        keys.ended(legSid),
        agentId,
        String(epochMs(at)),
        legSid,
      );
    },

    async markIdle(agentId: string, legSid: string, at: number): Promise<void> {
      await scripts.switchboardRoutingMarkIdle(
        keys.busy,
        keys.idle,
        keys.ended(legSid),
        agentId,
        String(epochMs(at)),
        legSid,
        String(busyMaxMs),
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
