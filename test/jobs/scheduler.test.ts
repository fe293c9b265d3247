import { pino } from 'pino';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { JobStore } from '../../src/jobs/job-store.js';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { RedisJobStore } from '../../src/jobs/redis-job-store.js';
import { type JobDefinition, JobScheduler } from '../../src/jobs/scheduler.js';
import { describeBackends } from '../support/describe-backends.js';
import { RecordingNotifier } from './recording-notifier.js';

const logger = pino({ level: 'silent' });
const EVERY_SECOND = '* * * * * *';
/** A schedule that never fires during a test (1 January, midnight). */
const NEVER = '0 0 1 1 *';

/** A replica whose lease requests arrive late (slow network, busy event loop, clock skew). */
function lagging(store: JobStore, ms: number): JobStore {
  const later = () => new Promise((resolve) => setTimeout(resolve, ms));
  return {
    claimSlot: async (...args) => {
      await later();
      return store.claimSlot(...args);
    },
    acquireRun: (...args) => store.acquireRun(...args),
    renewRun: (...args) => store.renewRun(...args),
    releaseRun: (...args) => store.releaseRun(...args),
    recordSuccess: (...args) => store.recordSuccess(...args),
    recordFailure: (...args) => store.recordFailure(...args),
    getHealth: (...args) => store.getHealth(...args),
    getBalance: () => store.getBalance(),
    compareAndSetBalance: (...args) => store.compareAndSetBalance(...args),
  };
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// Replicas share one job store: on Redis each has its own connection on the test's prefix; in
// memory they share one instance, as schedulers in one process would.
describeBackends('JobScheduler across replicas', (backend) => {
  let schedulers: JobScheduler[];
  let notifier: RecordingNotifier;
  let clock: number | undefined;
  let shared: MemoryJobStore;

  beforeEach(() => {
    schedulers = [];
    notifier = new RecordingNotifier();
    clock = undefined;
    shared = new MemoryJobStore();
  });

  afterEach(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
  });

  /** One replica of the scheduler on the shared job store. */
  function replica(options: { lagMs?: number } = {}): JobScheduler {
    const store = backend.one<JobStore>({ memory: () => shared, redis: (r) => new RedisJobStore(r) });
    const scheduler = new JobScheduler({
      store: options.lagMs ? lagging(store, options.lagMs) : store,
      notifier,
      logger,
      timezone: 'UTC',
      now: () => clock ?? Date.now(),
    });
    schedulers.push(scheduler);
    return scheduler;
  }

  it('runs each slot once, whichever replica claims it', async () => {
    const runs: Array<{ slot: string; by: string }> = [];
    const job = (by: string): JobDefinition => ({
      name: 'tick',
      cron: EVERY_SECOND,
      run: async ({ slot, reason }) => {
        expect(reason).toBe('scheduled');
        runs.push({ slot: slot.toISOString(), by });
      },
    });
    // b asks 300 ms late, after a's instant run has already given the run lease back.
    const a = replica();
    const b = replica({ lagMs: 300 });
    a.register(job('a'));
    b.register(job('b'));
    await Promise.all([a.start(), b.start()]);
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(3), { timeout: 6000, interval: 50 });
    await Promise.all([a.stop(), b.stop()]);

    const slots = runs.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length);
    for (const slot of slots) expect(slot).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    const [health] = await a.health();
    expect(health).toMatchObject({ job: 'tick', successes: runs.length, failures: 0 });
  });

  it('never overlaps a job with itself, on one replica or across two', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const job: JobDefinition = {
      name: 'slow',
      cron: EVERY_SECOND,
      run: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 1300));
        active -= 1;
        runs += 1;
      },
    };
    const a = replica();
    const b = replica();
    a.register(job);
    b.register({ ...job });
    await Promise.all([a.start(), b.start()]);
    await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(2), { timeout: 8000, interval: 50 });
    await Promise.all([a.stop(), b.stop()]);
    expect(maxActive).toBe(1);
    expect(active).toBe(0);
  });

  it('sends one job-failing alert per failure streak and one recovery, from scheduled runs on two replicas', async () => {
    let failing = true;
    const job: JobDefinition = {
      name: 'flaky',
      cron: EVERY_SECOND,
      run: async () => {
        if (failing) throw new Error('Telnyx API 503 Service unavailable');
      },
    };
    const a = replica();
    const b = replica();
    a.register(job);
    b.register({ ...job });
    await Promise.all([a.start(), b.start()]);
    await vi.waitFor(
      async () => expect((await a.health())[0]?.consecutiveFailures).toBeGreaterThanOrEqual(2),
      {
        timeout: 6000,
        interval: 50,
      },
    );
    failing = false;
    await vi.waitFor(() => expect(notifier.of('job-recovered')).toHaveLength(1), {
      timeout: 6000,
      interval: 50,
    });
    await Promise.all([a.stop(), b.stop()]);

    const failingAlerts = notifier.calls.filter((c) => c.alert.type === 'job-failing');
    expect(failingAlerts).toHaveLength(1);
    const [health] = await b.health();
    expect(failingAlerts[0]?.alert).toMatchObject({
      job: 'flaky',
      error: 'Telnyx API 503 Service unavailable',
    });
    expect(failingAlerts[0]?.key).toMatch(/^job:flaky:fail:\d{4}-.*Z$/);
    const [recovered] = notifier.of('job-recovered');
    expect(recovered?.failures).toBeGreaterThanOrEqual(2);
    expect(recovered?.key).toBe(failingAlerts[0]?.key.replace(':fail:', ':recovered:'));
    expect(health).toMatchObject({ consecutiveFailures: 0, lastError: 'Telnyx API 503 Service unavailable' });
  });

  it('alerts again for a new streak after a recovery (manual runs, injected clock)', async () => {
    let failing = true;
    const job: JobDefinition<string> = {
      name: 'sync',
      cron: NEVER,
      run: async () => {
        if (failing) throw new Error('Telnyx API unreachable');
        return 'ok';
      },
    };
    const a = replica();
    const b = replica();
    a.register(job);
    b.register({ ...job });
    const t0 = Date.parse('2026-03-02T09:00:00.400Z');
    clock = t0;
    await expect(a.runNow('sync')).rejects.toThrow('Telnyx API unreachable');
    clock += 60_000;
    await expect(b.runNow('sync')).rejects.toThrow('Telnyx API unreachable');
    clock += 60_000;
    await expect(a.runNow('sync')).rejects.toThrow('Telnyx API unreachable');
    expect(notifier.calls.map((c) => c.key)).toEqual(['job:sync:fail:2026-03-02T09:00:00.000Z']);
    expect((await b.health())[0]).toMatchObject({
      consecutiveFailures: 3,
      failingSince: '2026-03-02T09:00:00.000Z',
      lastFailureAt: '2026-03-02T09:02:00.400Z',
    });

    failing = false;
    clock += 60_000;
    expect(await b.runNow('sync')).toEqual({ status: 'ran', result: 'ok' });
    expect(await a.runNow('sync')).toEqual({ status: 'ran', result: 'ok' });
    expect(notifier.of('job-recovered')).toEqual([
      {
        type: 'job-recovered',
        job: 'sync',
        failures: 3,
        at: '2026-03-02T09:03:00.400Z',
        key: 'job:sync:recovered:2026-03-02T09:00:00.000Z',
      },
    ]);

    failing = true;
    clock += 60_000;
    await expect(a.runNow('sync')).rejects.toThrow();
    expect(notifier.of('job-failing').map((f) => f.key)).toEqual([
      'job:sync:fail:2026-03-02T09:00:00.000Z',
      'job:sync:fail:2026-03-02T09:04:00.000Z',
    ]);
  });

  it('answers busy while another replica runs the job, and joins a run in progress locally', async () => {
    const gate = deferred();
    let runs = 0;
    const job: JobDefinition<number> = {
      name: 'sync',
      cron: NEVER,
      run: async () => {
        runs += 1;
        await gate.promise;
        return runs;
      },
    };
    const a = replica();
    const b = replica();
    a.register(job);
    b.register({ ...job });
    const first = a.runNow<number>('sync');
    await vi.waitFor(() => expect(a.isRunning('sync')).toBe(true));
    expect(await b.runNow('sync')).toEqual({ status: 'busy' });
    const joined = a.runNow<number>('sync');
    gate.resolve();
    expect(await first).toEqual({ status: 'ran', result: 1 });
    expect(await joined).toEqual({ status: 'ran', result: 1 });
    expect(runs).toBe(1);
    expect(await b.runNow('sync')).toEqual({ status: 'ran', result: 2 });
  });

  it('runs the at-start jobs one after another on start, and stop() waits for a running job', async () => {
    const order: string[] = [];
    const gate = deferred();
    const a = replica();
    a.register({
      name: 'sync',
      cron: NEVER,
      runAtStart: true,
      run: async () => {
        order.push('sync:start');
        await new Promise((resolve) => setTimeout(resolve, 50));
        order.push('sync:end');
      },
    });
    a.register({ name: 'not-at-start', cron: NEVER, run: async () => order.push('never') });
    a.register({
      name: 'presence',
      cron: NEVER,
      runAtStart: true,
      run: async () => {
        order.push('presence');
      },
    });
    await a.start();
    expect(order).toEqual(['sync:start', 'sync:end', 'presence']);

    a.register({ name: 'long', cron: NEVER, run: () => gate.promise });
    const running = a.runNow('long');
    let stopped = false;
    const stopping = a.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    await running;
    expect(stopped).toBe(true);
  });

  it('rejects bad job definitions', () => {
    const a = replica();
    a.register({ name: 'sync', cron: NEVER, run: async () => undefined });
    expect(() => a.register({ name: 'sync', cron: NEVER, run: async () => undefined })).toThrow(/already/);
    expect(() => a.register({ name: 'bad', cron: '61 * * * *', run: async () => undefined })).toThrow(
      /invalid cron/,
    );
    expect(() => a.register({ name: 'job:{x}', cron: NEVER, run: async () => undefined })).toThrow(/name/);
    return expect(a.runNow('nope')).rejects.toThrow(/unknown job/);
  });
});
