import type { JobLease, SlotClaim } from './job-lease.js';

/**
 * Leases for a single replica (no `REDIS_URL`): the same rules as the Redis lease, in process
 * memory, so a job still never overlaps itself.
 */
export class MemoryJobLease implements JobLease {
  readonly #slots = new Map<string, number>();
  readonly #runs = new Map<string, { token: string; until: number }>();

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
}
