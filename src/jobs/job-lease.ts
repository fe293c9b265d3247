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

export interface JobLease {
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
}
