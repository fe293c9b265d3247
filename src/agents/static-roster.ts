import type { StaticAgentEntry } from '../config.js';
import type { Agent, Roster, RosterSnapshot } from './agent.js';
import { sipKey } from './sip-uri.js';

/** `AGENTS` entries as agents: the name is the id, and a static agent is always online. */
export function staticAgents(entries: readonly StaticAgentEntry[]): Agent[] {
  return entries.map((e) => ({ id: e.name, name: e.name, sip: e.sip, online: true, source: 'static' }));
}

/**
 * The roster when there is no Telnyx API key: the `AGENTS` setting, fixed for the life of the
 * process (version 0, never synced).
 */
export class StaticRoster implements Roster {
  readonly #snapshot: RosterSnapshot;
  readonly #bySip: Map<string, Agent>;

  constructor(entries: readonly StaticAgentEntry[]) {
    const agents = Object.freeze(staticAgents(entries).map((a) => Object.freeze(a)));
    this.#snapshot = Object.freeze({ version: 0, agents });
    this.#bySip = indexBySip(agents);
  }

  current(): RosterSnapshot {
    return this.#snapshot;
  }

  bySip(sip: string): Agent | undefined {
    const key = sipKey(sip);
    return key ? this.#bySip.get(key) : undefined;
  }
}

/** SIP key → agent; the first agent wins when two share a SIP URI. */
export function indexBySip(agents: readonly Agent[]): Map<string, Agent> {
  const index = new Map<string, Agent>();
  for (const agent of agents) {
    const key = sipKey(agent.sip);
    if (key && !index.has(key)) index.set(key, agent);
  }
  return index;
}
