/** How a scheduled job has been doing, for `GET /api/agents`, `/metrics` and the alerts. */
export interface JobHealth {
  job: string;
  lastSuccessAt?: string;
  lastFailureAt?: string;
  /** Short, secret-free description of the last failure. */
  lastError?: string;
  lastDurationMs?: number;
  /** Failures since the last success (0 = healthy). */
  consecutiveFailures: number;
  /** Slot (ISO) of the first failure of the current streak. */
  failingSince?: string;
  /** Totals since the store was created, for Prometheus counters. */
  successes: number;
  failures: number;
}

export interface FailureStreak {
  consecutiveFailures: number;
  failingSince: string;
}

export interface JobHealthStore {
  /** Records a success; reports the streak it ended, if the job was failing (exactly once). */
  recordSuccess(job: string, at: string, durationMs: number): Promise<{ recovered?: FailureStreak }>;
  /**
   * Records a failure of the run for `slot`; the first failure after a success starts a streak at
   * `slot`. Atomic, so exactly one caller sees `consecutiveFailures === 1` per streak.
   */
  recordFailure(
    job: string,
    slot: string,
    at: string,
    error: string,
    durationMs: number,
  ): Promise<FailureStreak>;
  get(job: string): Promise<JobHealth>;
}
