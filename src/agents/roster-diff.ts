import type { RosterEntry } from './roster-store.js';

export interface RosterRename {
  id: string;
  from: string;
  to: string;
}

export interface RosterChanges {
  /** Names of agents whose connection id is new. */
  added: string[];
  /** Names of agents whose connection id is gone. */
  removed: string[];
  /** Same connection id, new connection name. */
  renamed: RosterRename[];
  /** Names of agents whose SIP URI changed (same id and name). */
  resipped: string[];
  /** Names of agents that became reachable or unreachable (same id). */
  reachability: string[];
  changed: boolean;
}

const byName = (a: string, b: string): number => a.localeCompare(b);

/**
 * Compares two agent lists by connection id. A rename is a change (flows and alerts show names),
 * reported apart from adds and removes so the diff says what really happened; so is a new
 * `user_name` (a new SIP URI changes where calls ring). Order alone is not a change.
 */
export function diffRoster(previous: readonly RosterEntry[], next: readonly RosterEntry[]): RosterChanges {
  const before = new Map(previous.map((a) => [a.id, a]));
  const after = new Map(next.map((a) => [a.id, a]));
  const added: string[] = [];
  const removed: string[] = [];
  const renamed: RosterRename[] = [];
  const resipped: string[] = [];
  const reachability: string[] = [];
  for (const [id, agent] of after) {
    const old = before.get(id);
    if (!old) {
      added.push(agent.name);
      continue;
    }
    if (old.name !== agent.name) renamed.push({ id, from: old.name, to: agent.name });
    else if (old.sip !== agent.sip) resipped.push(agent.name);
    if (old.unreachable !== agent.unreachable) reachability.push(agent.name);
  }
  for (const [id, agent] of before) if (!after.has(id)) removed.push(agent.name);
  added.sort(byName);
  removed.sort(byName);
  resipped.sort(byName);
  reachability.sort(byName);
  renamed.sort((a, b) => byName(a.to, b.to));
  return {
    added,
    removed,
    renamed,
    resipped,
    reachability,
    changed: added.length + removed.length + renamed.length + resipped.length + reachability.length > 0,
  };
}
