import type { FailureStreak, JobHealth, JobHealthStore } from './job-health-store.js';

/** Job health of a single-replica deployment (no `REDIS_URL`): lost on restart. */
export class MemoryJobHealthStore implements JobHealthStore {
  readonly #jobs = new Map<string, JobHealth>();

  #entry(job: string): JobHealth {
    let health = this.#jobs.get(job);
    if (!health) {
      health = { job, consecutiveFailures: 0, successes: 0, failures: 0 };
      this.#jobs.set(job, health);
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

  async get(job: string): Promise<JobHealth> {
    const health = this.#jobs.get(job);
    return health ? { ...health } : { job, consecutiveFailures: 0, successes: 0, failures: 0 };
  }
}
