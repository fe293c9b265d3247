import type { Redis } from 'ioredis';
import { type AgentRecord, newAgentRecord } from './agent-state.js';
import type { AgentStateStore } from './agent-state-store.js';

/**
 * Keys (under the client's `keyPrefix`), all in the `{agents}` hash tag:
 * - `agents:{agents}:state`        HASH agentId → the record as JSON (with its `version`). No TTL:
 *                                  a status set by a person persists (docs/interface.md §5); it is
 *                                  as big as the roster, and `forget` drops agents that left.
 * - `agents:{agents}:wrap-up-due`  ZSET agentId scored by the wrap-up deadline (ms): the tick
 *                                  finds due wrap-ups with one range query instead of a scan.
 *
 * One tag for the whole roster rather than one per agent: the router reads its queue's agents on
 * every inbound call, and with one tag that read is one HMGET on one Redis Cluster node (a
 * per-agent tag would scatter it over nodes, and ioredis cannot pipeline across slots). The
 * compare-and-set script touches the hash and the deadline set together, which the shared tag
 * also allows. A roster is at most a few hundred agents, so one slot holds it easily.
 */

/** Compare-and-set of one record plus its deadline; the version lives inside the JSON. */
const CAS = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local version = 0
if cur then
  local ok, decoded = pcall(cjson.decode, cur)
  if ok and type(decoded) == 'table' and tonumber(decoded['version']) then
    version = tonumber(decoded['version'])
  end
end
if version ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1`;

const COMMANDS = {
  sbAgentStateCas: { numberOfKeys: 2, lua: CAS },
} as const;

type ScriptCommands = {
  [K in keyof typeof COMMANDS]: (...args: Array<string | number>) => Promise<number>;
};

function decode(agentId: string, raw: string | null | undefined): AgentRecord {
  if (!raw) return newAgentRecord(agentId);
  try {
    const value = JSON.parse(raw) as AgentRecord;
    if (value && typeof value === 'object' && typeof value.version === 'number') return { ...value, agentId };
  } catch {
    // fall through: an unreadable record is replaced by the next write (its version is unknown,
    // so the script reads it as 0 and the default record's compare-and-set matches).
  }
  return newAgentRecord(agentId);
}

/** Agent states in Redis, shared by every replica. Takes the app's ioredis client (with its keyPrefix). */
export class RedisAgentStateStore implements AgentStateStore {
  readonly #redis: Redis;
  readonly #scripts: ScriptCommands;
  readonly #state = 'agents:{agents}:state';
  readonly #due = 'agents:{agents}:wrap-up-due';

  constructor(redis: Redis) {
    this.#redis = redis;
    for (const [command, definition] of Object.entries(COMMANDS)) {
      if (typeof (redis as unknown as Record<string, unknown>)[command] !== 'function') {
        redis.defineCommand(command, definition);
      }
    }
    this.#scripts = redis as unknown as ScriptCommands;
  }

  async get(agentId: string): Promise<AgentRecord> {
    return decode(agentId, await this.#redis.hget(this.#state, agentId));
  }

  async getMany(agentIds: readonly string[]): Promise<Map<string, AgentRecord>> {
    const out = new Map<string, AgentRecord>();
    if (!agentIds.length) return out;
    const raws = await this.#redis.hmget(this.#state, ...agentIds);
    agentIds.forEach((id, i) => {
      out.set(id, decode(id, raws[i]));
    });
    return out;
  }

  async all(): Promise<AgentRecord[]> {
    const raw = await this.#redis.hgetall(this.#state);
    return Object.entries(raw).map(([id, value]) => decode(id, value));
  }

  async compareAndSet(next: AgentRecord, expectedVersion: number): Promise<AgentRecord | undefined> {
    const stored: AgentRecord = { ...next, version: expectedVersion + 1 };
    const deadline = stored.state === 'wrap-up' && stored.wrapUpUntil !== undefined ? stored.wrapUpUntil : '';
    const ok = await this.#scripts.sbAgentStateCas(
      this.#state,
      this.#due,
      next.agentId,
      expectedVersion,
      JSON.stringify(stored),
      deadline,
    );
    return Number(ok) === 1 ? stored : undefined;
  }

  async dueWrapUps(now: number, limit = 100): Promise<string[]> {
    return this.#redis.zrangebyscore(this.#due, '-inf', now, 'LIMIT', 0, Math.max(1, limit));
  }

  async forget(agentIds: readonly string[]): Promise<void> {
    if (!agentIds.length) return;
    await this.#redis
      .multi()
      .hdel(this.#state, ...agentIds)
      .zrem(this.#due, ...agentIds)
      .exec();
  }
}
