import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type BalanceCheckOptions,
  checkBalance,
  DAY_MS,
  decideBalance,
} from '../../src/jobs/balance-check.js';
import type { BalanceState, JobStore } from '../../src/jobs/job-store.js';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { RedisJobStore } from '../../src/jobs/redis-job-store.js';
import { JobScheduler } from '../../src/jobs/scheduler.js';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { describeBackends } from '../support/describe-backends.js';
import { RecordingNotifier } from './recording-notifier.js';

const logger = pino({ level: 'silent' });
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const usd = (amount: string) => ({ amount, currency: 'USD' });

describe('decideBalance', () => {
  const run = (readings: Array<[string, number]>, threshold = '80') => {
    let state: BalanceState | undefined;
    const alerts: Array<[string, string, boolean?]> = [];
    for (const [amount, at] of readings) {
      const d = decideBalance(state, usd(amount), threshold, at);
      state = d.next;
      if (d.alert) {
        const a = d.alert.alert;
        alerts.push([d.alert.key, a.type, a.type === 'low-balance' ? a.reminder : undefined]);
      }
    }
    return { state, alerts };
  };

  it('compares exactly: 79.99 is below 80, 80.00 is not', () => {
    expect(run([['80.00', T0]]).alerts).toEqual([]);
    expect(run([['80', T0]]).alerts).toEqual([]);
    expect(run([['79.99', T0]]).alerts).toEqual([
      ['balance:low:2026-03-02T09:00:00.000Z', 'low-balance', false],
    ]);
    expect(run([['-5.20', T0]]).alerts).toHaveLength(1);
    expect(run([['12.50', T0]], '12.5').alerts).toEqual([]);
  });

  it('alerts once per crossing, reminds each full day while low, and announces the recovery', () => {
    const { alerts, state } = run([
      ['79.99', T0],
      ['50.00', T0 + 3_600_000],
      ['40.00', T0 + DAY_MS - 1],
      ['40.00', T0 + DAY_MS],
      ['39.00', T0 + DAY_MS + 60_000],
      ['-5.20', T0 + 2 * DAY_MS + 1],
      ['80.00', T0 + 2 * DAY_MS + 2],
      ['100.00', T0 + 2 * DAY_MS + 3],
      ['10.00', T0 + 3 * DAY_MS],
    ]);
    const c1 = '2026-03-02T09:00:00.000Z';
    const c2 = '2026-03-05T09:00:00.000Z';
    expect(alerts).toEqual([
      [`balance:low:${c1}`, 'low-balance', false],
      [`balance:low:${c1}:reminder:1`, 'low-balance', true],
      [`balance:low:${c1}:reminder:2`, 'low-balance', true],
      [`balance:recovered:${c1}`, 'balance-recovered', undefined],
      [`balance:low:${c2}`, 'low-balance', false],
    ]);
    expect(state).toMatchObject({ low: true, crossingStartedAt: c2, reminders: 0, amount: '10.00' });
  });

  it('sends one reminder, not a backlog, after a long pause in checks', () => {
    const { alerts } = run([
      ['1.00', T0],
      ['1.00', T0 + 3 * DAY_MS + 5],
      ['1.00', T0 + 3 * DAY_MS + 10],
    ]);
    expect(alerts.map((a) => a[0])).toEqual([
      'balance:low:2026-03-02T09:00:00.000Z',
      'balance:low:2026-03-02T09:00:00.000Z:reminder:3',
    ]);
  });

  it('shows amount, currency and threshold exactly as given', () => {
    const d = decideBalance(undefined, { amount: '79.990', currency: 'EUR' }, '80', T0);
    expect(d.alert?.alert).toEqual({
      type: 'low-balance',
      amount: '79.990',
      currency: 'EUR',
      threshold: '80',
      reminder: false,
      at: '2026-03-02T09:00:00.000Z',
    });
  });
});

// On Redis each call of `store()` is a new connection on the test's prefix, as a restarted process
// or another replica would have; in memory they all share one instance.
describeBackends('checkBalance against the fake Telnyx API', (backend) => {
  let api: FakeTelnyxApi;
  let notifier: RecordingNotifier;
  let clock: number;
  let schedulers: JobScheduler[];
  let shared: MemoryJobStore;

  const store = (): JobStore =>
    backend.one<JobStore>({ memory: () => shared, redis: (r) => new RedisJobStore(r) });
  const options = (overrides: Partial<BalanceCheckOptions> = {}): BalanceCheckOptions => ({
    client: createTelnyxClient({ apiKey: api.apiKey, baseUrl: api.baseUrl, maxRetries: 0, timeoutMs: 2000 }),
    store: store(),
    notifier,
    logger,
    threshold: '80',
    now: () => clock,
    ...overrides,
  });

  beforeEach(async () => {
    api = await FakeTelnyxApi.start();
    schedulers = [];
    shared = new MemoryJobStore();
    notifier = new RecordingNotifier();
    clock = T0;
  });
  afterEach(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await api.close();
  });

  it('alerts on the crossing, reminds after 24 h, and announces the recovery, across restarts', async () => {
    api.setBalance({ available_credit: '79.99' });
    expect(await checkBalance(options())).toMatchObject({
      amount: '79.99',
      low: true,
      alerts: ['low-balance'],
    });
    clock += 6 * 3_600_000;
    // A new store instance (on Redis: a restarted process) remembers the crossing.
    expect(await checkBalance(options())).toMatchObject({ low: true, alerts: [] });
    clock = T0 + DAY_MS;
    api.setBalance({ available_credit: '-5.20' });
    expect(await checkBalance(options())).toMatchObject({ low: true, alerts: ['low-balance'] });
    api.setBalance({ available_credit: '80.00' });
    clock += 1000;
    expect(await checkBalance(options())).toMatchObject({ low: false, alerts: ['balance-recovered'] });

    expect(notifier.calls.map((c) => [c.key, c.alert])).toEqual([
      [
        'balance:low:2026-03-02T09:00:00.000Z',
        {
          type: 'low-balance',
          amount: '79.99',
          currency: 'USD',
          threshold: '80',
          reminder: false,
          at: '2026-03-02T09:00:00.000Z',
        },
      ],
      [
        'balance:low:2026-03-02T09:00:00.000Z:reminder:1',
        {
          type: 'low-balance',
          amount: '-5.20',
          currency: 'USD',
          threshold: '80',
          reminder: true,
          at: '2026-03-03T09:00:00.000Z',
        },
      ],
      [
        'balance:recovered:2026-03-02T09:00:00.000Z',
        {
          type: 'balance-recovered',
          amount: '80.00',
          currency: 'USD',
          threshold: '80',
          at: '2026-03-03T09:00:01.000Z',
        },
      ],
    ]);
  });

  it('retries an alert the outbox could not take, under the same key, on the next check', async () => {
    api.setBalance({ available_credit: '10.00' });
    notifier.failNext = 1;
    await expect(checkBalance(options())).rejects.toThrow('outbox unavailable');
    expect(notifier.calls).toHaveLength(0);
    clock += 60_000;
    await checkBalance(options());
    await checkBalance(options());
    expect(notifier.calls.map((c) => c.key)).toEqual(['balance:low:2026-03-02T09:00:00.000Z']);
  });

  it('decides once when two replicas check at the same moment', async () => {
    api.setBalance({ available_credit: '10.00' });
    // Clocks a few ms apart: without the compare-and-set each would start its own crossing.
    const results = await Promise.all(
      [0, 1, 2].map((skew) => checkBalance(options({ now: () => clock + skew }))),
    );
    expect(results.flatMap((r) => r.alerts)).toEqual(['low-balance']);
    // A replica that sees the winner's alert still pending may hand it over again: same key, one message.
    expect(new Set(notifier.calls.map((c) => c.key)).size).toBe(1);
    expect(notifier.delivered.size).toBe(1);
  });

  it('throws without touching the state when Telnyx fails', async () => {
    api.setBalance({ available_credit: '10.00' });
    const jobStore = store();
    api.failNext({ path: '/v2/balance' }, 1, { kind: 'server-error', status: 503 });
    await expect(checkBalance(options({ store: jobStore }))).rejects.toThrow();
    expect(await jobStore.getBalance()).toEqual({ revision: 0, state: undefined });
    expect(notifier.calls).toHaveLength(0);
  });

  it('sends one alert per crossing with two replicas checking every second', async () => {
    api.setBalance({ available_credit: '79.99' });
    const slots: string[] = [];
    const replica = () => {
      const jobStore = store();
      const scheduler = new JobScheduler({ store: jobStore, notifier, logger });
      schedulers.push(scheduler);
      scheduler.register({
        name: 'balance-check',
        cron: '* * * * * *',
        run: async ({ slot }) => {
          slots.push(slot.toISOString());
          return checkBalance(options({ store: jobStore, now: Date.now }));
        },
      });
      return scheduler;
    };
    const a = replica();
    const b = replica();
    await Promise.all([a.start(), b.start()]);
    await vi.waitFor(() => expect(slots.length).toBeGreaterThanOrEqual(3), { timeout: 6000, interval: 50 });
    await Promise.all([a.stop(), b.stop()]);

    expect(new Set(slots).size).toBe(slots.length);
    expect(api.requestsTo('/v2/balance')).toHaveLength(slots.length);
    expect(notifier.calls.map((c) => c.alert.type)).toEqual(['low-balance']);
  });
});
