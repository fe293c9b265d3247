import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type AgentRecord, newAgentRecord } from './agent-state.js';
import { type AgentStateStore, type AgentStateView, ChangeLog } from './agent-state-store.js';

/**
 * Keys (under the client's `keyPrefix`), all in the `{agents}` hash tag:
 * - `agents:{agents}:state`        HASH agentId → the record as JSON (with its `version`). No TTL:
 *                                  a status set by a person persists (docs/interface.md §5); it is
 *                                  as big as the roster, and `forget` drops agents that left.
 * - `agents:{agents}:wrap-up-due`  ZSET agentId scored by the wrap-up deadline (ms): the tick
 *                                  finds due wrap-ups with one range query instead of a scan.
 * - `agents:{agents}:changes`      HASH v → change counter (+1 per committed record or forget),
 *                                  epoch → id of this counter's life (a flushed Redis starts anew)
 * - `agents:{agents}:changed`      ZSET agentId → the counter at its last change (one per agent)
 *
 * One tag for the whole roster rather than one per agent: the router reads its queue's agents on
 * every inbound call, and with one tag that read is one script on one Redis Cluster node (a
 * per-agent tag would scatter it over nodes, and ioredis cannot pipeline across slots). The
 * compare-and-set script touches the hash, the deadline set and the change log together, which
 * the shared tag also allows. A roster is at most a few hundred agents, so one slot holds it easily.
 *
 * Each replica keeps the records in process (`view`): a read sends the counter it holds and gets
 * back only the records changed since (ZRANGEBYSCORE + HMGET), so routing an inbound call reads
 * O(changed agents), not the roster (bench/RESULTS.md, issue 18).
 */

/** Lua: one more change of agent `agent`; `epoch` is offered in case the counter is new. */
const BUMP = `
local function bump(changes, changed, agent, epoch)
  redis.call('HSETNX', changes, 'epoch', epoch)
  redis.call('ZADD', changed, redis.call('HINCRBY', changes, 'v', 1), agent)
end
`;

/**
 * Compare-and-set of one record plus its deadline. KEYS: state, due, changes, changed.
 * ARGV: agentId, expected version, JSON, deadline or '', mode, expected JSON, epoch. Mode '1'
 * compares the whole stored JSON with the expected one ('' = none stored), so a record dropped
 * and re-created up to the same version is not mistaken for the one this process saw; mode '0'
 * compares the version inside the JSON. Returns {1} or {0, the stored JSON or ''}.
 */
const CAS = `${BUMP}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local ok = false
if ARGV[5] == '1' then
  ok = (cur or '') == ARGV[6]
else
  local version = 0
  if cur then
    local parsed, decoded = pcall(cjson.decode, cur)
    if parsed and type(decoded) == 'table' and tonumber(decoded['version']) then
      version = tonumber(decoded['version'])
    end
  end
  ok = version == tonumber(ARGV[2])
end
if not ok then
  return { 0, cur or '' }
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
bump(KEYS[3], KEYS[4], ARGV[1], ARGV[7])
return { 1 }`;

/** Drops agents and their deadlines. KEYS: state, due, changes, changed. ARGV: epoch, agentIds... */
const FORGET = `${BUMP}
for i = 2, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
  bump(KEYS[3], KEYS[4], ARGV[i], ARGV[1])
end
return 1`;

/** Past this many changed agents a view reads the whole hash instead of a delta. */
const MAX_DELTA = 256;

/**
 * The records changed since the counter a replica holds. KEYS: state, changes, changed.
 * ARGV: epoch held ('' = none), counter held. Reply: {epoch, counter, 'delta', ids, JSONs} or
 * {epoch, counter, 'full', flat HGETALL}.
 */
const VIEW = `
local p = redis.call('HMGET', KEYS[2], 'epoch', 'v')
local epoch = p[1] or ''
local v = tonumber(p[2] or '0')
local held = tonumber(ARGV[2]) or -1
if epoch == ARGV[1] and epoch ~= '' and held <= v then
  if held == v then return { epoch, v, 'delta', {}, {} } end
  local changed = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. held, '+inf', 'LIMIT', 0, ${MAX_DELTA})
  if #changed == 0 then return { epoch, v, 'delta', {}, {} } end
  if #changed < ${MAX_DELTA} then
    return { epoch, v, 'delta', changed, redis.call('HMGET', KEYS[1], unpack(changed)) }
  end
end
return { epoch, v, 'full', redis.call('HGETALL', KEYS[1]), {} }`;

const COMMANDS = {
  sbAgentStateCas2: { numberOfKeys: 4, lua: CAS },
  sbAgentStateForget: { numberOfKeys: 4, lua: FORGET },
  sbAgentStateView: { numberOfKeys: 3, lua: VIEW },
} as const;

type Reply = string | number | null | Reply[];
type ScriptCommands = {
  [K in keyof typeof COMMANDS]: (...args: Array<string | number>) => Promise<Reply>;
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

/** A record as this process last saw it, with the exact JSON stored (for the compare-and-set). */
interface Seen {
  record: AgentRecord;
  raw: string;
}

/** Agent states in Redis, shared by every replica. Takes the app's ioredis client (with its keyPrefix). */
export class RedisAgentStateStore implements AgentStateStore {
  readonly #redis: Redis;
  readonly #scripts: ScriptCommands;
  readonly #state = 'agents:{agents}:state';
  readonly #due = 'agents:{agents}:wrap-up-due';
  readonly #changes = 'agents:{agents}:changes';
  readonly #changed = 'agents:{agents}:changed';
  /** Each write that may create the change counter offers a new epoch (HSETNX keeps the first). */
  readonly #replicaId = randomUUID();
  #writes = 0;
  /** Records this process saw (stored agents only; '' raw = seen as not stored). */
  readonly #seen = new Map<string, Seen>();
  /** Set once a view read the whole hash: `#seen` then holds every stored agent. */
  #log: ChangeLog | undefined;

  constructor(redis: Redis) {
    this.#redis = redis;
    for (const [command, definition] of Object.entries(COMMANDS)) {
      if (typeof (redis as unknown as Record<string, unknown>)[command] !== 'function') {
        redis.defineCommand(command, definition);
      }
    }
    this.#scripts = redis as unknown as ScriptCommands;
  }

  #epoch(): string {
    return `${this.#replicaId}.${++this.#writes}`;
  }

  /** Notes what a read or a commit just showed (replies are applied in the order Redis sent them). */
  #saw(agentId: string, raw: string | null | undefined): AgentRecord {
    const record = decode(agentId, raw);
    if (raw) this.#seen.set(agentId, { record, raw });
    else if (this.#log) this.#seen.delete(agentId);
    else this.#seen.set(agentId, { record, raw: '' });
    return record;
  }

  async get(agentId: string): Promise<AgentRecord> {
    return this.#saw(agentId, await this.#redis.hget(this.#state, agentId));
  }

  async getMany(agentIds: readonly string[]): Promise<Map<string, AgentRecord>> {
    const out = new Map<string, AgentRecord>();
    if (!agentIds.length) return out;
    const raws = await this.#redis.hmget(this.#state, ...agentIds);
    agentIds.forEach((id, i) => {
      out.set(id, this.#saw(id, raws[i]));
    });
    return out;
  }

  async all(): Promise<AgentRecord[]> {
    const raw = await this.#redis.hgetall(this.#state);
    return Object.entries(raw).map(([id, value]) => this.#saw(id, value));
  }

  peek(agentId: string): AgentRecord | undefined {
    const seen = this.#seen.get(agentId);
    if (seen) return seen.record;
    return this.#log ? newAgentRecord(agentId) : undefined;
  }

  async compareAndSet(next: AgentRecord, expectedVersion: number): Promise<AgentRecord | undefined> {
    const stored: AgentRecord = { ...next, version: expectedVersion + 1 };
    const deadline = stored.state === 'wrap-up' && stored.wrapUpUntil !== undefined ? stored.wrapUpUntil : '';
    // The exact JSON this process saw at that version, when it has it: compared whole.
    const seen =
      this.#seen.get(next.agentId) ??
      (this.#log ? { record: newAgentRecord(next.agentId), raw: '' } : undefined);
    const exact = seen && seen.record.version === expectedVersion ? seen.raw : undefined;
    const json = JSON.stringify(stored);
    const reply = (await this.#scripts.sbAgentStateCas2(
      this.#state,
      this.#due,
      this.#changes,
      this.#changed,
      next.agentId,
      expectedVersion,
      json,
      deadline,
      exact === undefined ? '0' : '1',
      exact ?? '',
      this.#epoch(),
    )) as [number, string?];
    if (Number(reply[0]) === 1) {
      this.#saw(next.agentId, json);
      return stored;
    }
    this.#saw(next.agentId, reply[1] || null);
    return undefined;
  }

  async view(): Promise<AgentStateView> {
    const held = this.#log;
    const reply = (await this.#scripts.sbAgentStateView(
      this.#state,
      this.#changes,
      this.#changed,
      held?.epoch ?? '',
      String(held?.version ?? -1),
    )) as [string, number, string, string[], (string | null)[]];
    const [epoch, v, mode, a, b] = reply;
    const version = Number(v);
    // Replies are applied in the order Redis answered; a concurrent view may have moved on since
    // this one was sent, so compare with what is held now.
    const cur = this.#log;
    const sameEpoch = cur !== undefined && cur.epoch === String(epoch);
    if (mode === 'full' && !(sameEpoch && version < (cur as ChangeLog).version)) {
      this.#seen.clear();
      for (let i = 0; i + 1 < a.length; i += 2) {
        const id = a[i] as string;
        const raw = a[i + 1] as string;
        this.#seen.set(id, { record: decode(id, raw), raw });
      }
      this.#log = new ChangeLog(String(epoch), version);
    } else if (mode === 'delta' && sameEpoch && version > (cur as ChangeLog).version) {
      const changes = cur as ChangeLog;
      a.forEach((id, i) => {
        const raw = b[i];
        if (raw) this.#seen.set(id, { record: decode(id, raw), raw });
        else this.#seen.delete(id);
        changes.add(id, version);
      });
      changes.version = version;
    }
    const current = this.#log as ChangeLog;
    const name = current.name;
    return {
      version: name,
      record: (agentId) => this.#seen.get(agentId)?.record ?? newAgentRecord(agentId),
      changedSince: (held) => (this.#log === current ? current.changedSince(held) : null),
    };
  }

  async dueWrapUps(now: number, limit = 100): Promise<string[]> {
    return this.#redis.zrangebyscore(this.#due, '-inf', now, 'LIMIT', 0, Math.max(1, limit));
  }

  async forget(agentIds: readonly string[]): Promise<void> {
    if (!agentIds.length) return;
    await this.#scripts.sbAgentStateForget(
      this.#state,
      this.#due,
      this.#changes,
      this.#changed,
      this.#epoch(),
      ...agentIds,
    );
    for (const id of agentIds) this.#saw(id, null);
  }
}
