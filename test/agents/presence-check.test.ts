import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryRosterStore } from '../../src/agents/memory-roster-store.js';
import { checkPresence, type PresenceCheckOptions } from '../../src/agents/presence-check.js';
import { RedisRosterStore } from '../../src/agents/redis-roster-store.js';
import type { RosterStore } from '../../src/agents/roster-store.js';
import { syncRoster } from '../../src/agents/roster-sync.js';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { RecordingNotifier } from '../jobs/recording-notifier.js';
import { memoryLogger } from '../jobs/test-logger.js';
import { testRedis } from '../setup/redis.js';

let api: FakeTelnyxApi;
let redis: Redis;
let store: RosterStore;
const logger = memoryLogger('silent');
const clock = Date.parse('2026-03-02T09:00:30.000Z');

const client = () =>
  createTelnyxClient({ apiKey: api.apiKey, baseUrl: api.baseUrl, maxRetries: 0, timeoutMs: 2000 });
const options = (overrides: Partial<PresenceCheckOptions> = {}): PresenceCheckOptions => ({
  client: client(),
  store,
  logger,
  now: () => clock,
  ...overrides,
});
const sync = () =>
  syncRoster({
    client: client(),
    store,
    notifier: new RecordingNotifier(),
    logger,
    filter: { connectionName: 'agent' },
  });
const presence = async () => {
  const loaded = await store.load();
  return Object.fromEntries(loaded.agents.map((a) => [a.name, loaded.presence[a.id]]));
};

beforeEach(async () => {
  api = await FakeTelnyxApi.start();
  redis = testRedis();
  store = new RedisRosterStore(redis);
});
afterEach(async () => {
  await api.close();
  await redis.quit();
});

describe('checkPresence', () => {
  it('marks Registered agents online and every other status offline', async () => {
    api.setConnections([
      { connection_name: 'Agent Ann', user_name: 'ann1234', registration: 'Registered' },
      { connection_name: 'Agent Bob', user_name: 'bob1234', registration: 'Expired' },
      { connection_name: 'Agent Cid', user_name: 'cid1234', registration: 'Unregistered' },
      { connection_name: 'Agent Dee', user_name: 'dee1234' },
    ]);
    await sync();
    const result = await checkPresence(options());
    expect(result).toMatchObject({
      checked: 4,
      online: ['Agent Ann'],
      failed: [],
      version: 2,
      checkedAt: '2026-03-02T09:00:30.000Z',
    });
    expect(result.offline.sort()).toEqual(['Agent Bob', 'Agent Cid', 'Agent Dee']);
    expect(await presence()).toEqual({
      'Agent Ann': true,
      'Agent Bob': false,
      'Agent Cid': false,
      'Agent Dee': false,
    });
    expect((await store.load()).presenceCheckedAt).toBe('2026-03-02T09:00:30.000Z');
    expect(api.requestsTo(/check_registration_status$/, 'POST')).toHaveLength(4);
  });

  it('keeps the last known state of an agent whose check fails', async () => {
    const annId = api.addConnection({
      connection_name: 'Agent Ann',
      user_name: 'ann1234',
      registration: 'Registered',
    });
    const bobId = api.addConnection({
      connection_name: 'Agent Bob',
      user_name: 'bob1234',
      registration: 'Registered',
    });
    await sync();
    await checkPresence(options());
    expect(await presence()).toEqual({ 'Agent Ann': true, 'Agent Bob': true });

    api.setRegistration(annId, 'Expired');
    api.setRegistration(bobId, 'Unregistered');
    api.failNext({ path: `/v2/credential_connections/${bobId}/actions/check_registration_status` }, 1, {
      kind: 'server-error',
    });
    const result = await checkPresence(options());
    expect(result.failed).toEqual(['Agent Bob']);
    expect(await presence()).toEqual({ 'Agent Ann': false, 'Agent Bob': true });
  });

  it('throws and stores nothing when every check fails', async () => {
    api.setConnections([{ connection_name: 'Agent Ann', user_name: 'ann1234', registration: 'Registered' }]);
    await sync();
    api.failNext({ path: /check_registration_status$/ }, 5, { kind: 'server-error' });
    await expect(checkPresence(options())).rejects.toThrow(
      /presence check failed for all 1 agents: Telnyx API 500/,
    );
    const loaded = await store.load();
    expect(loaded.presenceCheckedAt).toBeUndefined();
    expect(loaded.presence).toEqual({});
  });

  it('keeps at most `concurrency` checks in flight', async () => {
    api.setConnections(
      Array.from({ length: 12 }, (_, i) => ({ connection_name: `Agent ${i}`, user_name: `agent${i}user` })),
    );
    await sync();
    api.latencyMs = 30;
    api.maxInFlight = 0;
    const result = await checkPresence(options({ concurrency: 5 }));
    expect(result.checked).toBe(12);
    expect(api.maxInFlight).toBe(5);
  });

  it('does nothing without synced agents', async () => {
    const result = await checkPresence(options({ store: new MemoryRosterStore() }));
    expect(result).toEqual({ checked: 0, online: [], offline: [], failed: [], version: 0 });
    expect(api.requests).toHaveLength(0);
  });
});
