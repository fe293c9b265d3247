import { plainCopy } from '../plain-copy.js';
import type { AgentRecord } from './agent-state.js';
import { newAgentRecord } from './agent-state.js';
import { type AgentStateStore, type AgentStateView, ChangeLog } from './agent-state-store.js';

/** Agent states in process memory: the embedded default (one replica), lost on restart. */
export class MemoryAgentStateStore implements AgentStateStore {
  readonly #records = new Map<string, AgentRecord>();
  readonly #log = new ChangeLog('memory', 0);

  #changed(agentId: string): void {
    this.#log.version++;
    this.#log.add(agentId, this.#log.version);
  }

  /** The live records (read-only) and what changed since a version: O(changed) for the router. */
  async view(): Promise<AgentStateView> {
    return {
      version: this.#log.name,
      record: (agentId) => this.#records.get(agentId) ?? newAgentRecord(agentId),
      changedSince: (held) => this.#log.changedSince(held),
    };
  }

  async get(agentId: string): Promise<AgentRecord> {
    const r = this.#records.get(agentId);
    return r ? plainCopy(r) : newAgentRecord(agentId);
  }

  async getMany(agentIds: readonly string[]): Promise<Map<string, AgentRecord>> {
    const out = new Map<string, AgentRecord>();
    for (const id of agentIds) out.set(id, await this.get(id));
    return out;
  }

  async all(): Promise<AgentRecord[]> {
    return [...this.#records.values()].map((r) => plainCopy(r));
  }

  async compareAndSet(next: AgentRecord, expectedVersion: number): Promise<AgentRecord | undefined> {
    const current = this.#records.get(next.agentId)?.version ?? 0;
    if (current !== expectedVersion) return undefined;
    const stored = { ...plainCopy(next), version: expectedVersion + 1 };
    this.#records.set(next.agentId, stored);
    this.#changed(next.agentId);
    return plainCopy(stored);
  }

  async dueWrapUps(now: number, limit = 100): Promise<string[]> {
    return [...this.#records.values()]
      .filter((r) => r.state === 'wrap-up' && r.wrapUpUntil !== undefined && r.wrapUpUntil <= now)
      .sort((a, b) => (a.wrapUpUntil ?? 0) - (b.wrapUpUntil ?? 0) || (a.agentId < b.agentId ? -1 : 1))
      .slice(0, limit)
      .map((r) => r.agentId);
  }

  async forget(agentIds: readonly string[]): Promise<void> {
    for (const id of agentIds) {
      this.#records.delete(id);
      this.#changed(id);
    }
  }
}
