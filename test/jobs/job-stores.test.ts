import { expect, it } from 'vitest';
import type { BalanceState, BalanceStateStore } from '../../src/jobs/balance-state-store.js';
import type { JobHealthStore } from '../../src/jobs/job-health-store.js';
import type { JobLease } from '../../src/jobs/job-lease.js';
import { MemoryBalanceStateStore } from '../../src/jobs/memory-balance-state-store.js';
import { MemoryJobHealthStore } from '../../src/jobs/memory-job-health-store.js';
import { MemoryJobLease } from '../../src/jobs/memory-job-lease.js';
import { RedisBalanceStateStore } from '../../src/jobs/redis-balance-state-store.js';
import { RedisJobHealthStore } from '../../src/jobs/redis-job-health-store.js';
import { RedisJobLease } from '../../src/jobs/redis-job-lease.js';
import { type Backend, describeBackends } from '../support/describe-backends.js';

/** Everything the jobs keep, as two replicas see it: `a` and `b` share one state. */
interface Stores {
  lease: [JobLease, JobLease];
  health: [JobHealthStore, JobHealthStore];
  balance: [BalanceStateStore, BalanceStateStore];
  /** Moves the clock of the memory implementations; Redis expiry needs real time. */
  advance(ms: number): Promise<void>;
}

/** The three job stores on one backend; on Redis `a` and `b` are two connections on the same keys. */
function open(backend: Backend): Stores {
  let t = 1_000_000;
  const memoryLease = new MemoryJobLease(() => t);
  return {
    lease: backend.pair<JobLease>({ memory: () => memoryLease, redis: (r) => new RedisJobLease(r) }),
    health: backend.pair<JobHealthStore>({
      memory: () => new MemoryJobHealthStore(),
      redis: (r) => new RedisJobHealthStore(r),
    }),
    balance: backend.pair<BalanceStateStore>({
      memory: () => new MemoryBalanceStateStore(),
      redis: (r) => new RedisBalanceStateStore(r),
    }),
    advance:
      backend.name === 'memory'
        ? async (ms) => {
            t += ms;
          }
        : (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

const SLOT = '2026-03-02T09:00:00.000Z';
const NEXT_SLOT = '2026-03-02T09:00:01.000Z';

describeBackends('job lease', (backend) => {
  const make = () => open(backend);
  it('gives each slot to one replica only', async () => {
    const { lease } = make();
    const claims = await Promise.all([
      lease[0].claimSlot('sync', SLOT, 60_000, 'a', 10_000),
      lease[1].claimSlot('sync', SLOT, 60_000, 'b', 10_000),
    ]);
    expect(claims.sort()).toEqual(['run', 'taken']);
  });

  it('skips a new slot while the job still runs, and frees it on release by the holder only', async () => {
    const { lease } = make();
    expect(await lease[0].claimSlot('sync', SLOT, 60_000, 'a', 10_000)).toBe('run');
    expect(await lease[1].claimSlot('sync', NEXT_SLOT, 60_000, 'b', 10_000)).toBe('busy');
    expect(await lease[1].acquireRun('sync', 'c', 10_000)).toBe(false);
    await lease[1].releaseRun('sync', 'not-the-holder');
    expect(await lease[1].acquireRun('sync', 'c', 10_000)).toBe(false);
    await lease[0].releaseRun('sync', 'a');
    expect(await lease[1].acquireRun('sync', 'c', 10_000)).toBe(true);
    // Other jobs are independent.
    expect(await lease[0].acquireRun('balance', 'd', 10_000)).toBe(true);
  });

  it('lets a run lease expire unless its holder renews it', async () => {
    const { lease, advance } = make();
    expect(await lease[0].acquireRun('sync', 'a', 400)).toBe(true);
    await advance(250);
    expect(await lease[0].renewRun('sync', 'a', 400)).toBe(true);
    expect(await lease[1].renewRun('sync', 'b', 400)).toBe(false);
    await advance(100);
    expect(await lease[1].acquireRun('sync', 'b', 400)).toBe(false);
    await advance(450);
    expect(await lease[1].acquireRun('sync', 'b', 400)).toBe(true);
    expect(await lease[0].renewRun('sync', 'a', 400)).toBe(false);
  });
});

describeBackends('job health store', (backend) => {
  const make = () => open(backend);
  it('starts healthy', async () => {
    const { health } = make();
    expect(await health[0].get('sync')).toEqual({
      job: 'sync',
      consecutiveFailures: 0,
      successes: 0,
      failures: 0,
    });
  });

  it('counts a failure streak from its first slot, across replicas, and ends it on success', async () => {
    const { health } = make();
    expect(
      await health[0].recordFailure('sync', SLOT, '2026-03-02T09:00:00.500Z', 'Telnyx API timed out', 10),
    ).toEqual({
      consecutiveFailures: 1,
      failingSince: SLOT,
    });
    expect(await health[1].recordFailure('sync', NEXT_SLOT, '2026-03-02T09:00:01.500Z', 'boom', 12)).toEqual({
      consecutiveFailures: 2,
      failingSince: SLOT,
    });
    expect(await health[0].get('sync')).toMatchObject({
      consecutiveFailures: 2,
      failingSince: SLOT,
      lastFailureAt: '2026-03-02T09:00:01.500Z',
      lastError: 'boom',
      lastDurationMs: 12,
      failures: 2,
    });
    expect(await health[1].recordSuccess('sync', '2026-03-02T09:00:02.100Z', 7)).toEqual({
      recovered: { consecutiveFailures: 2, failingSince: SLOT },
    });
    expect(await health[0].recordSuccess('sync', '2026-03-02T09:00:03.100Z', 7)).toEqual({});
    const after = await health[0].get('sync');
    expect(after).toMatchObject({
      consecutiveFailures: 0,
      successes: 2,
      failures: 2,
      lastSuccessAt: '2026-03-02T09:00:03.100Z',
    });
    expect(after.failingSince).toBeUndefined();
    expect(after.lastError).toBe('boom');
  });

  it('lets exactly one of two simultaneous failures start the streak', async () => {
    const { health } = make();
    const results = await Promise.all([
      health[0].recordFailure('sync', SLOT, SLOT, 'x', 1),
      health[1].recordFailure('sync', SLOT, SLOT, 'x', 1),
    ]);
    expect(results.map((r) => r.consecutiveFailures).sort()).toEqual([1, 2]);
  });
});

const state = (amount: string): BalanceState => ({
  low: false,
  reminders: 0,
  amount,
  currency: 'USD',
  checkedAt: SLOT,
  pending: [],
});

describeBackends('balance state store', (backend) => {
  const make = () => open(backend);
  it('writes only on the revision it read', async () => {
    const { balance } = make();
    expect(await balance[0].get()).toEqual({ revision: 0, state: undefined });
    const results = await Promise.all([
      balance[0].compareAndSet(0, state('1.00')),
      balance[1].compareAndSet(0, state('2.00')),
    ]);
    expect(results.sort()).toEqual([false, true]);
    const { revision, state: stored } = await balance[1].get();
    expect(revision).toBe(1);
    expect(await balance[0].compareAndSet(1, { ...stored!, amount: '3.00' })).toBe(true);
    expect((await balance[1].get()).state?.amount).toBe('3.00');
  });
});
