import type {
  BalanceState,
  FailureStreak,
  JobHealth,
  JobStore,
  SlotClaim,
  VersionedBalanceState,
} from './job-store.js';

/**
 * The job store of a single replica (no `REDIS_URL`): the same rules as the Redis store, in
 * process memory (lost on restart), so a job still never overlaps itself.
 */
export class MemoryJobStore implements JobStore {
  readonly #slots = new Map<string, number>();
  readonly #runs = new Map<string, { token: string; until: number }>();
  readonly #health = new Map<string, JobHealth>();
  #balanceRevision = 0;
  #balanceJson: string | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  async claimSlot(
    job: string,
    slot: string,
    slotTtlMs: number,
    token: string,
    runTtlMs: number,
  ): Promise<SlotClaim> {
    const t = this.now();
    for (const [key, until] of this.#slots) if (until <= t) this.#slots.delete(key);
    const key = `${job}\n${slot}`;
    if (this.#slots.has(key)) return 'taken';
    this.#slots.set(key, t + slotTtlMs);
    return (await this.acquireRun(job, token, runTtlMs)) ? 'run' : 'busy';
  }

  async acquireRun(job: string, token: string, runTtlMs: number): Promise<boolean> {
    const t = this.now();
    const held = this.#runs.get(job);
    if (held && held.until > t) return false;
    this.#runs.set(job, { token, until: t + runTtlMs });
    return true;
  }

  async renewRun(job: string, token: string, runTtlMs: number): Promise<boolean> {
    const held = this.#runs.get(job);
    if (!held || held.token !== token || held.until <= this.now()) return false;
    held.until = this.now() + runTtlMs;
    return true;
  }

  async releaseRun(job: string, token: string): Promise<void> {
    if (this.#runs.get(job)?.token === token) this.#runs.delete(job);
  }

  #entry(job: string): JobHealth {
    let health = this.#health.get(job);
    if (!health) {
      health = { job, consecutiveFailures: 0, successes: 0, failures: 0 };
      this.#health.set(job, health);
    }
    return health;
  }

  async recordSuccess(job: string, at: string, durationMs: number): Promise<{ recovered?: FailureStreak }> {
    const health = this.#entry(job);
    const ended =
      health.consecutiveFailures > 0
        ? { consecutiveFailures: health.consecutiveFailures, failingSince: health.failingSince ?? '' }
        : undefined;
    health.lastSuccessAt = at;
    health.lastDurationMs = durationMs;
    health.consecutiveFailures = 0;
    health.failingSince = undefined;
    health.successes += 1;
    return ended ? { recovered: ended } : {};
  }

  async recordFailure(
    job: string,
    slot: string,
    at: string,
    error: string,
    durationMs: number,
  ): Promise<FailureStreak> {
    const health = this.#entry(job);
    health.consecutiveFailures += 1;
    if (health.consecutiveFailures === 1) health.failingSince = slot;
    health.lastFailureAt = at;
    health.lastError = error;
    health.lastDurationMs = durationMs;
    health.failures += 1;
    return { consecutiveFailures: health.consecutiveFailures, failingSince: health.failingSince ?? slot };
  }

  async getHealth(job: string): Promise<JobHealth> {
    const health = this.#health.get(job);
    return health ? { ...health } : { job, consecutiveFailures: 0, successes: 0, failures: 0 };
  }

  async getBalance(): Promise<VersionedBalanceState> {
    return {
      revision: this.#balanceRevision,
      state: this.#balanceJson ? (JSON.parse(this.#balanceJson) as BalanceState) : undefined,
    };
  }

  async compareAndSetBalance(revision: number, next: BalanceState): Promise<boolean> {
    if (revision !== this.#balanceRevision) return false;
    this.#balanceJson = JSON.stringify(next);
    this.#balanceRevision += 1;
    return true;
  }
}
