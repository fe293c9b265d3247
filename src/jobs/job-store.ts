import type { Alert } from '../alerts/alert.js';

/**
 * Everything the scheduled jobs keep between runs, shared by all replicas: who runs a job (slot
 * claims and run leases), how each job has been doing (health), and the balance check's alert
 * state. One interface, a Redis implementation (`redis-job-store.ts`) and an in-memory one
 * (`memory-job-store.ts`, no `REDIS_URL`).
 */

/**
 * Who runs a scheduled job. Each firing of a schedule is a slot (its scheduled time, to the
 * second); a slot is claimed once across all replicas, and a job holds a run lease while it runs
 * so it never overlaps itself, here or on another replica. node-cron's "distributed" option is only
 * a hook (`RunCoordinator`); this is the lock behind it.
 */
export type SlotClaim =
  /** This caller owns the slot and the run lease: run the job. */
  | 'run'
  /** Another replica already claimed this slot. */
  | 'taken'
  /** The slot is claimed but the job is still running somewhere: skip this slot. */
  | 'busy';

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

/** An alert decided by a balance check but not yet confirmed queued; retried on the next check. */
export interface PendingAlert {
  key: string;
  alert: Alert;
}

/** What the balance check remembers between runs, shared by all replicas. */
export interface BalanceState {
  /** Available credit was below the threshold at the last check. */
  low: boolean;
  /** ISO time the current crossing below the threshold was first seen (set while `low`). */
  crossingStartedAt?: string;
  /** Reminders already sent for the current crossing. */
  reminders: number;
  /** Last reading, decimal string exactly as Telnyx sent it. */
  amount: string;
  currency: string;
  checkedAt: string;
  pending: PendingAlert[];
}

export interface VersionedBalanceState {
  /** 0 when nothing is stored yet. */
  revision: number;
  state?: BalanceState;
}

export interface JobStore {
  // Leases.

  /**
   * Claims `slot` of `job` for `slotTtlMs` (long enough to cover clock skew between replicas) and,
   * if claimed, the job's run lease for `runTtlMs` under `token`.
   */
  claimSlot(
    job: string,
    slot: string,
    slotTtlMs: number,
    token: string,
    runTtlMs: number,
  ): Promise<SlotClaim>;
  /** Takes only the run lease (runs outside the schedule: at start, from the admin API). */
  acquireRun(job: string, token: string, runTtlMs: number): Promise<boolean>;
  /** Extends the run lease if `token` still holds it; false when it was lost. */
  renewRun(job: string, token: string, runTtlMs: number): Promise<boolean>;
  /** Gives the run lease back if `token` holds it. */
  releaseRun(job: string, token: string): Promise<void>;

  // Health.

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
  getHealth(job: string): Promise<JobHealth>;

  // The balance check's state.

  getBalance(): Promise<VersionedBalanceState>;
  /** Stores `next` as `revision + 1` only if the stored revision is still `revision`. */
  compareAndSetBalance(revision: number, next: BalanceState): Promise<boolean>;
}
