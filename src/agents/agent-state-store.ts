import {
  type AgentEvent,
  type AgentRecord,
  type AgentRules,
  type AgentTransition,
  applyAgentEvent,
} from './agent-state.js';

/**
 * Where every agent's status and state live, shared by all replicas (docs/interface.md §5: "one
 * agent, one state"; a status set by a person persists across restarts and replicas). Two
 * implementations run through one test suite: `RedisAgentStateStore` and `MemoryAgentStateStore`
 * (the embedded default: one process).
 *
 * Writes go through `compareAndSet` only, so two replicas that see events for the same agent at
 * once cannot both commit a transition computed from the same old record: the second one re-reads
 * and re-applies (`transitionAgent`). That is what makes "two replicas offer two callers to the
 * same free agent" end with exactly one offer.
 */
export interface AgentStateStore {
  /** The agent's record; a new agent's (available, idle, version 0) when none was ever stored. */
  get(agentId: string): Promise<AgentRecord>;
  /**
   * The records of these agents in one round trip (the router reads its queue's roster on every
   * inbound call). Every id asked for is in the map, new agents with their default record.
   */
  getMany(agentIds: readonly string[]): Promise<Map<string, AgentRecord>>;
  /** Every stored record (agents that never changed are not stored: they are new agents). */
  all(): Promise<AgentRecord[]>;
  /**
   * Stores `next` (with version `expectedVersion + 1`) if the stored version is still
   * `expectedVersion` (0 = never stored), and files its wrap-up deadline. Returns the stored
   * record, or undefined when another write came first.
   */
  compareAndSet(next: AgentRecord, expectedVersion: number): Promise<AgentRecord | undefined>;
  /** Agents whose wrap-up deadline is at or before `now`, earliest first (for the periodic tick). */
  dueWrapUps(now: number, limit?: number): Promise<string[]>;
  /** Drops agents that left the roster (their status and deadline). */
  forget(agentIds: readonly string[]): Promise<void>;
}

/** A compare-and-set kept losing: someone writes this agent in a tight loop. */
export class AgentStateConflictError extends Error {
  constructor(agentId: string, attempts: number) {
    super(`agent ${agentId}: state changed concurrently ${attempts} times in a row`);
    this.name = 'AgentStateConflictError';
  }
}

/**
 * Applies `event` to the agent's stored record: read, reduce, compare-and-set, and on a conflict
 * read again and re-apply (the event is judged against the record that actually won). Only the
 * caller that committed gets `outcome: 'applied'`, so only it logs the events and sends the alerts.
 */
export async function transitionAgent(
  store: AgentStateStore,
  agentId: string,
  event: AgentEvent,
  rules: AgentRules,
  maxAttempts = 8,
): Promise<AgentTransition> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await store.get(agentId);
    const result = applyAgentEvent(current, event, rules);
    if (result.outcome !== 'applied') return result;
    const stored = await store.compareAndSet(result.record, current.version);
    if (stored) return { ...result, record: stored };
  }
  throw new AgentStateConflictError(agentId, maxAttempts);
}
