import type { Alert } from '../alerts/alert.js';

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

export interface BalanceStateStore {
  get(): Promise<VersionedBalanceState>;
  /** Stores `next` as `revision + 1` only if the stored revision is still `revision`. */
  compareAndSet(revision: number, next: BalanceState): Promise<boolean>;
}
