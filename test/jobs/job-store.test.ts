import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisOutbox } from '../../src/alerts/redis-outbox.js';
import type { BalanceState, JobStore } from '../../src/jobs/job-store.js';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { RedisJobStore } from '../../src/jobs/redis-job-store.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';
import { type Backend, describeBackends } from '../support/describe-backends.js';

/** The job store as two replicas see it: `[0]` and `[1]` share one state. */
interface Replicas {
  store: [JobStore, JobStore];
  /** Moves the clock of the memory implementation; Redis expiry needs real time. */
  advance(ms: number): Promise<void>;
}

/** The job store on one backend; on Redis the two are two connections on the same keys. */
function open(backend: Backend): Replicas {
  let t = 1_000_000;
  return {
    store: backend.pair<JobStore>({
      memory: () => new MemoryJobStore(() => t),
      redis: (r) => new RedisJobStore(r),
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

describeBackends('job store: leases', (backend) => {
  const make = () => open(backend);
  it('gives each slot to one replica only', async () => {
    const { store: lease } = make();
    const claims = await Promise.all([
      lease[0].claimSlot('sync', SLOT, 60_000, 'a', 10_000),
      lease[1].claimSlot('sync', SLOT, 60_000, 'b', 10_000),
    ]);
    expect(claims.sort()).toEqual(['run', 'taken']);
  });

  it('skips a new slot while the job still runs, and frees it on release by the holder only', async () => {
    const { store: lease } = make();
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
    const { store: lease, advance } = make();
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

describeBackends('job store: health', (backend) => {
  const make = () => open(backend);
  it('starts healthy', async () => {
    const { store: health } = make();
    expect(await health[0].getHealth('sync')).toEqual({
      job: 'sync',
      consecutiveFailures: 0,
      successes: 0,
      failures: 0,
    });
  });

  it('counts a failure streak from its first slot, across replicas, and ends it on success', async () => {
    const { store: health } = make();
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
    expect(await health[0].getHealth('sync')).toMatchObject({
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
    const after = await health[0].getHealth('sync');
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
    const { store: health } = make();
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

describeBackends('job store: balance state', (backend) => {
  const make = () => open(backend);
  it('writes only on the revision it read', async () => {
    const { store: balance } = make();
    expect(await balance[0].getBalance()).toEqual({ revision: 0, state: undefined });
    const results = await Promise.all([
      balance[0].compareAndSetBalance(0, state('1.00')),
      balance[1].compareAndSetBalance(0, state('2.00')),
    ]);
    expect(results.sort()).toEqual([false, true]);
    const { revision, state: stored } = await balance[1].getBalance();
    expect(revision).toBe(1);
    expect(await balance[0].compareAndSetBalance(1, { ...stored!, amount: '3.00' })).toBe(true);
    expect((await balance[1].getBalance()).state?.amount).toBe('3.00');
  });
});

describe('job store in Redis: key names', () => {
  // A rolling deploy runs the old and the new version side by side on one Redis: the new one must
  // read and honour what the old one wrote. These names and formats are literal on purpose.
  let clients: Redis[] = [];
  let prefix = '';
  /** A client on this test's prefix: the store's, or a raw one to look at the keys. */
  const client = (): Redis => {
    const c = testRedis(prefix);
    clients.push(c);
    return c;
  };
  beforeEach(() => {
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    clients = [];
  });

  /** Every key on this test's prefix, without the prefix. */
  const keys = async (raw: Redis): Promise<string[]> => {
    const prefix = raw.options.keyPrefix ?? '';
    // ioredis does not prefix KEYS patterns; it answers with full key names.
    return (await raw.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).sort();
  };

  it('writes the keys and fields the previous version wrote', async () => {
    const store = new RedisJobStore(client());
    const raw = client();
    expect(await store.claimSlot('agent-sync', SLOT, 60_000, 'tok-1', 30_000)).toBe('run');
    await store.recordFailure('agent-sync', SLOT, '2026-03-02T09:00:00.500Z', 'boom', 12);
    await store.recordSuccess('agent-sync', '2026-03-02T09:00:01.500Z', 7);
    await store.compareAndSetBalance(0, state('12.00'));

    expect(await keys(raw)).toEqual([
      'balance:{state}',
      'job:{agent-sync}:health',
      'job:{agent-sync}:running',
      `job:{agent-sync}:slot:${SLOT}`,
    ]);
    expect(await raw.get(`job:{agent-sync}:slot:${SLOT}`)).toBe('tok-1');
    expect(await raw.pttl(`job:{agent-sync}:slot:${SLOT}`)).toBeGreaterThan(30_000);
    expect(await raw.get('job:{agent-sync}:running')).toBe('tok-1');
    expect(await raw.pttl('job:{agent-sync}:running')).toBeGreaterThan(0);
    expect(await raw.hgetall('job:{agent-sync}:health')).toEqual({
      consecutiveFailures: '0',
      failures: '1',
      lastDurationMs: '7',
      lastError: 'boom',
      lastFailureAt: '2026-03-02T09:00:00.500Z',
      lastSuccessAt: '2026-03-02T09:00:01.500Z',
      successes: '1',
    });
    expect(await raw.hgetall('balance:{state}')).toEqual({
      revision: '1',
      state: JSON.stringify(state('12.00')),
    });
  });

  it('reads and honours what the previous version wrote', async () => {
    const store = new RedisJobStore(client());
    const raw = client();
    // A run lease held by an old replica.
    await raw.set('job:{balance-check}:running', 'old-token', 'PX', 30_000);
    expect(await store.acquireRun('balance-check', 'new-token', 30_000)).toBe(false);
    expect(await store.claimSlot('balance-check', SLOT, 60_000, 'new-token', 30_000)).toBe('busy');
    // A slot an old replica claimed.
    await raw.set(`job:{agent-sync}:slot:${NEXT_SLOT}`, 'old-token', 'PX', 60_000);
    expect(await store.claimSlot('agent-sync', NEXT_SLOT, 60_000, 'new-token', 30_000)).toBe('taken');
    // A failure streak an old replica started.
    await raw.hset('job:{agent-presence}:health', {
      consecutiveFailures: '2',
      failingSince: SLOT,
      failures: '5',
      successes: '9',
      lastError: 'Telnyx API timed out',
      lastDurationMs: '40',
    });
    expect(await store.getHealth('agent-presence')).toMatchObject({
      consecutiveFailures: 2,
      failingSince: SLOT,
      failures: 5,
      successes: 9,
      lastError: 'Telnyx API timed out',
      lastDurationMs: 40,
    });
    expect(await store.recordSuccess('agent-presence', NEXT_SLOT, 3)).toEqual({
      recovered: { consecutiveFailures: 2, failingSince: SLOT },
    });
    // The balance state at revision 4.
    await raw.hset('balance:{state}', { revision: '4', state: JSON.stringify(state('70.00')) });
    expect(await store.getBalance()).toEqual({ revision: 4, state: state('70.00') });
    expect(await store.compareAndSetBalance(3, state('1.00'))).toBe(false);
    expect(await store.compareAndSetBalance(4, state('1.00'))).toBe(true);
  });

  it('holds the Slack outbox deliverer lease at job:{outbox:slack}:running', async () => {
    const raw = client();
    const redis = client();
    const outbox = new RedisOutbox(redis, { lease: new RedisJobStore(redis) });
    expect(await outbox.acquireLease('worker-new', 10_000)).toBe(true);
    expect(await raw.get('job:{outbox:slack}:running')).toBe('worker-new');
    await outbox.releaseLease('worker-new');
    // An old replica's worker holds it: the new one waits.
    await raw.set('job:{outbox:slack}:running', 'worker-old', 'PX', 10_000);
    expect(await outbox.acquireLease('worker-new', 10_000)).toBe(false);
  });
});
