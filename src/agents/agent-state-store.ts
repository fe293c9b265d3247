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
  /**
   * Every agent's record as this process knows it, brought up to date in one round trip that
   * reads only the records changed since the last call (O(changed agents), not O(roster)): what
   * the router reads on every inbound call (bench/RESULTS.md, issue 18). Optional: without it,
   * callers use `getMany`.
   */
  view?(): Promise<AgentStateView>;
  /**
   * The record this process last saw for the agent (by `view`, `get` or its own commits), without
   * I/O; undefined when it knows nothing. It may be stale: `transitionAgent` only commits from it
   * through `compareAndSet`, which refuses a stale record, and judges anything else on a fresh read.
   */
  peek?(agentId: string): AgentRecord | undefined;
}

/**
 * The records of all agents at one version of the store, kept in process and updated in place by
 * later `view()` calls: read it right after `view()` resolves, never change what it returns.
 */
export interface AgentStateView {
  /** Names this state; `changedSince(version)` of a later view lists what changed after it. */
  readonly version: string;
  /** The agent's record (a new agent's default record when none is stored). */
  record(agentId: string): AgentRecord;
  /**
   * The agents whose record changed after `version` (a version this view handed out earlier), or
   * null when that is not known any more (another epoch, or too long ago): derive everything anew.
   */
  changedSince(version: string): readonly string[] | null;
}

/**
 * Which agents changed at which version, for `AgentStateView.changedSince`: the last
 * `capacity` changes, oldest first. Shared by both stores.
 */
export class ChangeLog {
  private log: { id: string; v: number }[] = [];
  /** Every change after this version is in `log`. */
  private floor: number;

  constructor(
    readonly epoch: string,
    public version: number,
    private readonly capacity = 2048,
  ) {
    this.floor = version;
  }

  add(id: string, version: number): void {
    this.log.push({ id, v: version });
    if (this.log.length > this.capacity) {
      const dropped = this.log.splice(0, this.log.length - this.capacity);
      // Entries share their read's version: the log is complete only after the last dropped one's.
      this.floor = Math.max(this.floor, (dropped.at(-1) as { v: number }).v);
    }
  }

  get name(): string {
    return `${this.epoch}:${this.version}`;
  }

  changedSince(held: string): readonly string[] | null {
    const sep = held.lastIndexOf(':');
    if (sep < 0 || held.slice(0, sep) !== this.epoch) return null;
    const v = Number(held.slice(sep + 1));
    if (!(v <= this.version && v >= this.floor)) return null;
    const out: string[] = [];
    for (let i = this.log.length - 1; i >= 0 && (this.log[i] as { v: number }).v > v; i--)
      out.push((this.log[i] as { id: string }).id);
    return out;
  }
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
    // What this process last saw saves the read when it commits: the compare-and-set refuses it
    // if it was stale. Any other outcome (ignored, refused) is judged on a fresh read.
    let current = store.peek?.(agentId);
    let result = current && applyAgentEvent(current, event, rules);
    if (!current || !result || result.outcome !== 'applied') {
      current = await store.get(agentId);
      result = applyAgentEvent(current, event, rules);
      if (result.outcome !== 'applied') return result;
    }
    const stored = await store.compareAndSet(result.record, current.version);
    if (stored) return { ...result, record: stored };
  }
  throw new AgentStateConflictError(agentId, maxAttempts);
}
