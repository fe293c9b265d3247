import type { RosterEntry, RosterStore, StoredRoster } from './roster-store.js';

/**
 * The roster store of a single-replica deployment (no `REDIS_URL`). Same semantics as the Redis
 * store; values are copied in and out so callers can never mutate what is stored.
 */
export class MemoryRosterStore implements RosterStore {
  #version = 0;
  #agents: RosterEntry[] = [];
  #presence = new Map<string, boolean>();
  #syncedAt: string | undefined;
  #presenceCheckedAt: string | undefined;

  async load(): Promise<StoredRoster> {
    return {
      version: this.#version,
      agents: this.#agents.map((a) => ({ ...a })),
      presence: Object.fromEntries(this.#presence),
      syncedAt: this.#syncedAt,
      presenceCheckedAt: this.#presenceCheckedAt,
    };
  }

  async replaceAgents(
    expectedVersion: number,
    agents: readonly RosterEntry[],
    syncedAt: string,
  ): Promise<number | null> {
    if (this.#version !== expectedVersion) return null;
    this.#agents = agents.map((a) => ({
      id: a.id,
      name: a.name,
      sip: a.sip,
      ...(a.unreachable && { unreachable: a.unreachable }),
    }));
    const ids = new Set(agents.map((a) => a.id));
    for (const id of [...this.#presence.keys()]) if (!ids.has(id)) this.#presence.delete(id);
    this.#version += 1;
    this.#syncedAt = later(this.#syncedAt, syncedAt);
    return this.#version;
  }

  async markSynced(syncedAt: string): Promise<void> {
    this.#syncedAt = later(this.#syncedAt, syncedAt);
  }

  async setPresence(presence: Readonly<Record<string, boolean>>, checkedAt: string): Promise<number> {
    let changed = false;
    for (const [id, online] of Object.entries(presence)) {
      // Never checked counts as offline, so a first "offline" is no change for call flows.
      if ((this.#presence.get(id) ?? false) !== online) changed = true;
      this.#presence.set(id, online);
    }
    if (changed) this.#version += 1;
    this.#presenceCheckedAt = later(this.#presenceCheckedAt, checkedAt);
    return this.#version;
  }
}

/** ISO timestamps of one format compare correctly as strings. */
const later = (a: string | undefined, b: string): string => (a !== undefined && a > b ? a : b);
