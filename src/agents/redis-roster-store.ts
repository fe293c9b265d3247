import type { Redis } from 'ioredis';
import type { RosterEntry, RosterStore, StoredRoster } from './roster-store.js';

// Both keys carry the `{agents}` hash tag: the scripts below touch them together (Redis Cluster).
const META = 'roster:{agents}:meta';
const PRESENCE = 'roster:{agents}:presence';

/** KEYS: meta, presence. ARGV: expected version, agents JSON, syncedAt, ids to keep presence for… */
const REPLACE_AGENTS = `
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if v ~= tonumber(ARGV[1]) then return -1 end
v = v + 1
local synced = redis.call('HGET', KEYS[1], 'syncedAt')
if (not synced) or synced < ARGV[3] then synced = ARGV[3] end
redis.call('HSET', KEYS[1], 'version', v, 'agents', ARGV[2], 'syncedAt', synced)
local keep = {}
for i = 4, #ARGV do keep[ARGV[i]] = true end
for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do
  if not keep[id] then redis.call('HDEL', KEYS[2], id) end
end
return v
`;

/** KEYS: meta, presence. ARGV: checkedAt, then id, '1'|'0' pairs. */
const SET_PRESENCE = `
local changed = false
for i = 2, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[2], ARGV[i]) or '0'
  if old ~= ARGV[i + 1] then changed = true end
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if changed then v = redis.call('HINCRBY', KEYS[1], 'version', 1) end
local checked = redis.call('HGET', KEYS[1], 'presenceCheckedAt')
if (not checked) or checked < ARGV[1] then redis.call('HSET', KEYS[1], 'presenceCheckedAt', ARGV[1]) end
return v
`;

/** KEYS: meta. ARGV: syncedAt. */
const MARK_SYNCED = `
local synced = redis.call('HGET', KEYS[1], 'syncedAt')
if (not synced) or synced < ARGV[1] then redis.call('HSET', KEYS[1], 'syncedAt', ARGV[1]) end
return 1
`;

/**
 * The roster shared by all replicas: one hash holds the version and the agent list as a single
 * JSON value (so a reader never sees half a roster), a second hash holds presence per agent id.
 * Every write is one Lua script, so version bumps and the data they describe land together.
 */
export class RedisRosterStore implements RosterStore {
  constructor(private readonly redis: Redis) {}

  async load(): Promise<StoredRoster> {
    const replies = await this.redis.multi().hgetall(META).hgetall(PRESENCE).exec();
    if (!replies) throw new Error('roster load aborted');
    const [metaReply, presenceReply] = replies;
    if (metaReply?.[0]) throw metaReply[0];
    if (presenceReply?.[0]) throw presenceReply[0];
    const meta = (metaReply?.[1] ?? {}) as Record<string, string>;
    const rawPresence = (presenceReply?.[1] ?? {}) as Record<string, string>;
    const presence: Record<string, boolean> = {};
    for (const [id, value] of Object.entries(rawPresence)) presence[id] = value === '1';
    return {
      version: Number(meta.version ?? 0),
      agents: parseAgents(meta.agents),
      presence,
      syncedAt: meta.syncedAt,
      presenceCheckedAt: meta.presenceCheckedAt,
    };
  }

  async replaceAgents(
    expectedVersion: number,
    agents: readonly RosterEntry[],
    syncedAt: string,
  ): Promise<number | null> {
    const json = JSON.stringify(
      agents.map((a) => ({
        id: a.id,
        name: a.name,
        sip: a.sip,
        ...(a.unreachable && { unreachable: a.unreachable }),
      })),
    );
    const result = await this.redis.eval(
      REPLACE_AGENTS,
      2,
      META,
      PRESENCE,
      String(expectedVersion),
      json,
      syncedAt,
      ...agents.map((a) => a.id),
    );
    const version = Number(result);
    return version < 0 ? null : version;
  }

  async markSynced(syncedAt: string): Promise<void> {
    await this.redis.eval(MARK_SYNCED, 1, META, syncedAt);
  }

  async setPresence(presence: Readonly<Record<string, boolean>>, checkedAt: string): Promise<number> {
    const pairs = Object.entries(presence).flatMap(([id, online]) => [id, online ? '1' : '0']);
    return Number(await this.redis.eval(SET_PRESENCE, 2, META, PRESENCE, checkedAt, ...pairs));
  }
}

function parseAgents(json: string | undefined): RosterEntry[] {
  if (!json) return [];
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error('stored roster is not a list');
  return parsed
    .filter(
      (a): a is RosterEntry =>
        typeof a === 'object' &&
        a !== null &&
        typeof a.id === 'string' &&
        typeof a.name === 'string' &&
        typeof a.sip === 'string',
    )
    .map((a) => ({
      id: a.id,
      name: a.name,
      sip: a.sip,
      ...(a.unreachable === 'sip-uri-calling-disabled' && { unreachable: a.unreachable }),
    }));
}
