import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentsReport } from '../../src/agents/agents-report.js';
import { LiveRoster } from '../../src/agents/live-roster.js';
import { RedisRosterStore } from '../../src/agents/redis-roster-store.js';
import type { RosterSyncResult } from '../../src/agents/roster-sync.js';
import { StaticRoster } from '../../src/agents/static-roster.js';
import { RedisBalanceStateStore } from '../../src/jobs/redis-balance-state-store.js';
import { RedisJobHealthStore } from '../../src/jobs/redis-job-health-store.js';
import { RedisJobLease } from '../../src/jobs/redis-job-lease.js';
import { JobScheduler } from '../../src/jobs/scheduler.js';
import { registerTelnyxJobs, TELNYX_JOBS } from '../../src/jobs/telnyx-jobs.js';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { testRedis } from '../setup/redis.js';
import { RecordingNotifier } from './recording-notifier.js';

const logger = pino({ level: 'silent' });
const NEVER = '0 0 1 1 *';

describe('registerTelnyxJobs: what the app wires up', () => {
  let api: FakeTelnyxApi;
  let redis: Redis;
  let scheduler: JobScheduler;
  let roster: LiveRoster;
  let notifier: RecordingNotifier;

  beforeEach(async () => {
    api = await FakeTelnyxApi.start();
    redis = testRedis();
    notifier = new RecordingNotifier();
    const rosterStore = new RedisRosterStore(redis);
    roster = new LiveRoster({
      store: rosterStore,
      staticAgents: [{ name: 'Front desk', sip: 'sip:desk@example.com' }],
      logger,
      refreshMs: 60_000,
    });
    scheduler = new JobScheduler({
      lease: new RedisJobLease(redis),
      health: new RedisJobHealthStore(redis),
      notifier,
      logger,
    });
    registerTelnyxJobs({
      scheduler,
      client: createTelnyxClient({
        apiKey: api.apiKey,
        baseUrl: api.baseUrl,
        maxRetries: 0,
        timeoutMs: 2000,
      }),
      rosterStore,
      balanceStore: new RedisBalanceStateStore(redis),
      notifier,
      logger,
      agents: { connectionFilter: 'agent', syncCron: NEVER, presenceCron: NEVER },
      balance: { cron: NEVER, threshold: '80' },
      roster,
    });
  });

  afterEach(async () => {
    roster.stop();
    await scheduler.stop();
    await api.close();
    await redis.quit();
  });

  it('syncs, checks presence and balance at start, and reports it all for GET /api/agents', async () => {
    api.addConnection({
      connection_name: 'Agent Ann',
      user_name: 'ann1234',
      sip_uri_calling_preference: 'internal',
      registration: 'Registered',
    });
    api.addConnection({
      connection_name: 'Agent Bob',
      user_name: 'bob1234',
      sip_uri_calling_preference: 'internal',
    });
    api.setBalance({ available_credit: '12.00' });
    await roster.start();
    await scheduler.start();

    // This replica routes on the new roster at once (no timer tick needed).
    expect(roster.current().agents.map((a) => [a.name, a.online])).toEqual([
      ['Front desk', true],
      ['Agent Ann', true],
      ['Agent Bob', false],
    ]);
    const report = await agentsReport({ roster, jobs: scheduler });
    expect(report).toMatchObject({
      version: 2,
      online: 2,
      syncedAt: expect.any(String),
      presenceCheckedAt: expect.any(String),
    });
    expect(report.agents[1]).toEqual({
      id: expect.any(String),
      name: 'Agent Ann',
      sip: 'sip:ann1234@sip.telnyx.com',
      online: true,
      source: 'telnyx',
    });
    expect(report.jobs?.map((j) => [j.job, j.successes, j.consecutiveFailures])).toEqual([
      [TELNYX_JOBS.rosterSync, 1, 0],
      [TELNYX_JOBS.presence, 1, 0],
      [TELNYX_JOBS.balance, 1, 0],
    ]);
    expect(notifier.calls.map((c) => c.alert.type).sort()).toEqual(['low-balance', 'roster-changed']);
  });

  it('POST /api/agents/sync: runNow returns the diff', async () => {
    api.addConnection({
      connection_name: 'Agent Ann',
      user_name: 'ann1234',
      sip_uri_calling_preference: 'internal',
    });
    await scheduler.start();
    api.addConnection({
      connection_name: 'Agent Cid',
      user_name: 'cid1234',
      sip_uri_calling_preference: 'internal',
    });
    const outcome = await scheduler.runNow<RosterSyncResult>(TELNYX_JOBS.rosterSync);
    expect(outcome).toMatchObject({
      status: 'ran',
      result: { added: ['Agent Cid'], removed: [], changed: true },
    });
    expect(roster.current().agents.map((a) => a.name)).toContain('Agent Cid');
  });

  it('reports a failing sync in job health, keeps routing on the last roster, and alerts once', async () => {
    api.addConnection({
      connection_name: 'Agent Ann',
      user_name: 'ann1234',
      sip_uri_calling_preference: 'internal',
    });
    await scheduler.start();
    api.failNext({ path: '/v2/credential_connections' }, 10, { kind: 'server-error' });
    await expect(scheduler.runNow(TELNYX_JOBS.rosterSync)).rejects.toThrow();
    await expect(scheduler.runNow(TELNYX_JOBS.rosterSync)).rejects.toThrow();
    const report = await agentsReport({ roster, jobs: scheduler });
    expect(report.agents.map((a) => a.name)).toEqual(['Front desk', 'Agent Ann']);
    expect(report.jobs?.[0]).toMatchObject({
      job: 'agent-sync',
      consecutiveFailures: 2,
      lastError: 'Telnyx API 500 Unexpected error: An unexpected error occured.',
    });
    expect(notifier.of('job-failing')).toHaveLength(1);
  });

  it('reports a static roster without jobs when there is no API key', async () => {
    const report = await agentsReport({
      roster: new StaticRoster([{ name: 'Ann', sip: 'sip:ann@example.com' }]),
    });
    expect(report).toEqual({
      version: 0,
      online: 1,
      agents: [{ id: 'Ann', name: 'Ann', sip: 'sip:ann@example.com', online: true, source: 'static' }],
    });
  });
});
