import type { CallCenterConfig } from './call-center-file.js';

/**
 * Which agents serve which queues (docs/interface.md §7, §9), resolved against the current
 * roster. A queue's `agents` entries are:
 * - `*`: every agent;
 * - `tag:<tag>`: every agent carrying the tag;
 * - anything else: the agent with that name (case-insensitive) or id; when no agent has that
 *   name, it is read as a tag (so `agents: [billing]` works for a tag too).
 * An agent's tags are those the file's `tags:` section gives its name, plus any the roster
 * carries on the agent. One agent may serve several queues; its state is still one (§5).
 */

/** What resolution needs of an agent (the roster's `Agent` fits). */
export interface RosterAgent {
  id: string;
  name: string;
  /** Tags from the roster, if it has any. */
  tags?: readonly string[];
}

export interface QueueMembership {
  /** Queue → agent ids, in roster order. Every queue of the file has an entry (maybe empty). */
  byQueue: ReadonlyMap<string, readonly string[]>;
  /** Agent id → the queues it serves, in file order. Agents in no queue have no entry. */
  byAgent: ReadonlyMap<string, readonly string[]>;
  /** Entries that matched no agent (a typo, or an agent not in the roster yet): worth a warning. */
  unresolved: ReadonlyArray<{ queue: string; entry: string }>;
}

/** Resolves every queue of `config` against `agents` (one pass; cheap enough per call). */
export function resolveQueueMembership(
  config: CallCenterConfig,
  agents: readonly RosterAgent[],
): QueueMembership {
  const byName = new Map<string, RosterAgent>();
  const byId = new Map<string, RosterAgent>();
  for (const a of agents) {
    byName.set(a.name.toLowerCase(), a);
    byId.set(a.id, a);
  }
  const fileTags = new Map<string, Set<string>>();
  for (const [tag, names] of config.tags) {
    for (const n of names) {
      const key = n.toLowerCase();
      if (!fileTags.has(key)) fileTags.set(key, new Set());
      fileTags.get(key)!.add(tag.toLowerCase());
    }
  }
  const hasTag = (a: RosterAgent, tag: string) =>
    fileTags.get(a.name.toLowerCase())?.has(tag) === true ||
    (a.tags ?? []).some((t) => t.toLowerCase() === tag);

  const byQueue = new Map<string, string[]>();
  const byAgent = new Map<string, string[]>();
  const unresolved: Array<{ queue: string; entry: string }> = [];
  for (const [queue, q] of config.queues) {
    const members = new Set<string>();
    for (const entry of q.agents) {
      const before = members.size;
      let matched = false;
      if (entry === '*') {
        for (const a of agents) members.add(a.id);
        matched = agents.length > 0;
      } else if (entry.toLowerCase().startsWith('tag:')) {
        const tag = entry.slice(4).trim().toLowerCase();
        for (const a of agents) if (hasTag(a, tag)) members.add(a.id);
        matched = members.size > before || agents.some((a) => hasTag(a, tag));
      } else {
        const named = byName.get(entry.toLowerCase()) ?? byId.get(entry);
        if (named) {
          members.add(named.id);
          matched = true;
        } else {
          const tag = entry.toLowerCase();
          for (const a of agents) if (hasTag(a, tag)) members.add(a.id);
          matched = agents.some((a) => hasTag(a, tag));
        }
      }
      if (!matched) unresolved.push({ queue, entry });
    }
    // Roster order, so "first agent" means the same thing in every queue.
    const ids = agents.filter((a) => members.has(a.id)).map((a) => a.id);
    byQueue.set(queue, ids);
    for (const id of ids) {
      if (!byAgent.has(id)) byAgent.set(id, []);
      byAgent.get(id)!.push(queue);
    }
  }
  return { byQueue, byAgent, unresolved };
}

/** The queues `agentId` serves (what `offerNextCaller` needs when the agent becomes free). */
export function queuesOfAgent(
  config: CallCenterConfig,
  agents: readonly RosterAgent[],
  agentId: string,
): string[] {
  return [...(resolveQueueMembership(config, agents).byAgent.get(agentId) ?? [])];
}

/** The agent ids of `queue` (empty for an unknown queue). */
export function agentsOfQueue(
  config: CallCenterConfig,
  agents: readonly RosterAgent[],
  queue: string,
): string[] {
  return [...(resolveQueueMembership(config, agents).byQueue.get(queue) ?? [])];
}
