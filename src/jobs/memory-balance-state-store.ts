import type { BalanceState, BalanceStateStore, VersionedBalanceState } from './balance-state-store.js';

/** The balance state of a single-replica deployment (no `REDIS_URL`): lost on restart. */
export class MemoryBalanceStateStore implements BalanceStateStore {
  #revision = 0;
  #json: string | undefined;

  async get(): Promise<VersionedBalanceState> {
    return {
      revision: this.#revision,
      state: this.#json ? (JSON.parse(this.#json) as BalanceState) : undefined,
    };
  }

  async compareAndSet(revision: number, next: BalanceState): Promise<boolean> {
    if (revision !== this.#revision) return false;
    this.#json = JSON.stringify(next);
    this.#revision += 1;
    return true;
  }
}
