import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LiveRoster } from '../../src/agents/live-roster.js';
import { MemoryRosterStore } from '../../src/agents/memory-roster-store.js';
import { RedisRosterStore } from '../../src/agents/redis-roster-store.js';
import type { RosterStore } from '../../src/agents/roster-store.js';
import type { RosterSyncResult } from '../../src/agents/roster-sync.js';
import { StaticRoster } from '../../src/agents/static-roster.js';
import type { JobStore } from '../../src/jobs/job-store.js';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { RedisJobStore } from '../../src/jobs/redis-job-store.js';
import { JobScheduler } from '../../src/jobs/scheduler.js';
import { registerTelnyxJobs, TELNYX_JOBS } from '../../src/jobs/telnyx-jobs.js';
import { agentsReport } from '../../src/routes/api/agents-report.js';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { describeBackends } from '../support/describe-backends.js';
import { RecordingNotifier } from './recording-notifier.js';

const logger = pino({ level: 'silent' });
const NEVER = '0 0 1 1 *';

describeBackends('registerTelnyxJobs: what the app wires up', (backend) => {
  let api: FakeTelnyxApi;
  let scheduler: JobScheduler;
  let roster: LiveRoster;
  let notifier: RecordingNotifier;

  beforeEach(async () => {
    api = await FakeTelnyxApi.start();
    notifier = new RecordingNotifier();
    const rosterStore = backend.one<RosterStore>({
      memory: () => new MemoryRosterStore(),
      redis: (r) => new RedisRosterStore(r),
    });
    const jobStore = backend.one<JobStore>({
      memory: () => new MemoryJobStore(),
      redis: (r) => new RedisJobStore(r),
    });
    roster = new LiveRoster({
      store: rosterStore,
      staticAgents: [{ name: 'Front desk', sip: 'sip:desk@example.com' }],
      logger,
      refreshMs: 60_000,
    });
    scheduler = new JobScheduler({ store: jobStore, notifier, logger });
    registerTelnyxJobs({
      scheduler,
      client: createTelnyxClient({
        apiKey: api.apiKey,
        baseUrl: api.baseUrl,
        maxRetries: 0,
        timeoutMs: 2000,
      }),
      rosterStore,
      jobStore,
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
