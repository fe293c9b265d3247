import type { Redis } from 'ioredis';
import { BadRequestError, InternalServerError } from 'telnyx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { matchesAgentFilter } from '../../src/agents/agent-connections.js';
import { composeSnapshot } from '../../src/agents/live-roster.js';
import { RedisRosterStore } from '../../src/agents/redis-roster-store.js';
import type { RosterStore } from '../../src/agents/roster-store.js';
import { type RosterSyncOptions, syncRoster } from '../../src/agents/roster-sync.js';
import { type FakeConnection, FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { RecordingNotifier } from '../jobs/recording-notifier.js';
import { memoryLogger } from '../jobs/test-logger.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';

let api: FakeTelnyxApi;
let redis: Redis[];
let prefix: string;
let notifier: RecordingNotifier;
let logger: ReturnType<typeof memoryLogger>;
let clock: number;

const store = (): RedisRosterStore => {
  const client = testRedis(prefix);
  redis.push(client);
  return new RedisRosterStore(client);
};

const options = (overrides: Partial<RosterSyncOptions> = {}): RosterSyncOptions => ({
  client: createTelnyxClient({ apiKey: api.apiKey, baseUrl: api.baseUrl, maxRetries: 0, timeoutMs: 2000 }),
  store: store(),
  notifier,
  logger,
  filter: { connectionName: 'agent' },
  now: () => clock,
  ...overrides,
});

const agent = (name: string, user: string, extra: Partial<FakeConnection> = {}): FakeConnection => ({
  connection_name: name,
  user_name: user,
  active: true,
  sip_uri_calling_preference: 'internal',
  ...extra,
});

beforeEach(async () => {
  api = await FakeTelnyxApi.start();
  redis = [];
  prefix = uniquePrefix();
  notifier = new RecordingNotifier();
  logger = memoryLogger('warn');
  clock = Date.parse('2026-03-02T09:00:00.000Z');
});

afterEach(async () => {
  await api.close();
  await Promise.all(redis.map((r) => r.quit()));
});

describe('syncRoster', () => {
  it('reads every page: 600 connections at page size 250 are 3 requests', async () => {
    api.setConnections(
      Array.from({ length: 600 }, (_, i) => agent(`Agent ${String(i).padStart(3, '0')}`, `agent${i}user`)),
    );
    const opts = options();
    const result = await syncRoster(opts);

    const requests = api.requestsTo('/v2/credential_connections');
    expect(requests.map((r) => r.query.get('page[number]'))).toEqual(['1', '2', '3']);
    for (const r of requests) {
      expect(r.query.get('page[size]')).toBe('250');
      expect(r.query.get('filter[connection_name][contains]')).toBe('agent');
    }
    expect(result).toMatchObject({ changed: true, version: 1, agents: 600, removed: [] });
    expect(result.added).toHaveLength(600);
    const stored = await opts.store.load();
    expect(new Set(stored.agents.map((a) => a.id)).size).toBe(600);
    expect(stored.agents[0]).toEqual({
      id: expect.any(String),
      name: 'Agent 000',
      sip: 'sip:agent0user@sip.telnyx.com',
    });
  });

  it('keeps only connections whose name contains the filter, case-insensitively', async () => {
    api.setConnections([
      agent('Agent Ann', 'ann1234'),
      agent('support-AGENT-bob', 'bob1234'),
      agent('Trunk to PBX', 'trunk1234'),
    ]);
    const result = await syncRoster(options());
    expect(result.added).toEqual(['Agent Ann', 'support-AGENT-bob']);
  });

  it('keeps only connections on the outbound voice profile when that is the filter', async () => {
    api.setConnections([
      agent('Ann', 'ann1234', { outbound_voice_profile_id: 'ovp-1' }),
      agent('Bob', 'bob1234', { outbound_voice_profile_id: 'ovp-2' }),
      agent('Cid', 'cid1234'),
    ]);
    const result = await syncRoster(options({ filter: { outboundProfileId: 'ovp-1' } }));
    expect(result.added).toEqual(['Ann']);
    const [req] = api.requestsTo('/v2/credential_connections');
    expect(req?.query.get('filter[outbound_voice_profile_id]')).toBe('ovp-1');
    expect(req?.query.has('filter[connection_name][contains]')).toBe(false);
  });

  it('re-checks the filter itself, in case the server ignored it', () => {
    const conn = { id: '1', connection_name: 'Trunk', user_name: 'trunk123', outbound: {} };
    expect(matchesAgentFilter(conn, { connectionName: 'agent' })).toBe(false);
    expect(matchesAgentFilter({ ...conn, connection_name: 'AGENTS desk' }, { connectionName: 'agent' })).toBe(
      true,
    );
    expect(matchesAgentFilter(conn, { outboundProfileId: 'ovp-1' })).toBe(false);
    expect(
      matchesAgentFilter(
        { ...conn, outbound: { outbound_voice_profile_id: 'ovp-1' } },
        { outboundProfileId: 'ovp-1' },
      ),
    ).toBe(true);
  });

  it('skips inactive and malformed connections, warning about the malformed ones', async () => {
    api.setConnections([
      agent('Agent Ann', 'ann1234'),
      agent('Agent Off', 'off1234', { active: false }),
      agent('Agent NoUser', undefined as unknown as string),
      agent('Agent Short', 'abc'),
      agent('Agent Dash', 'bad-user'),
      agent('Agent Long', 'a'.repeat(33)),
      { id: undefined, connection_name: 'Agent NoId', user_name: 'noid1234', active: true },
      { connection_name: '   agent   ', user_name: 'blank1234', active: true },
    ]);
    const result = await syncRoster(options());
    expect(result.added).toEqual(['agent', 'Agent Ann']);
    const warnings = logger.records.filter(
      (r) => r.msg === 'credential connection skipped: not usable as an agent',
    );
    expect(warnings.map((w) => w.problem).sort()).toEqual([
      'missing id',
      'user_name is not 4-32 letters and digits',
      'user_name is not 4-32 letters and digits',
      'user_name is not 4-32 letters and digits',
      'user_name is not 4-32 letters and digits',
    ]);
  });

  it('sends one roster-changed alert when two replicas sync the same change at once', async () => {
    api.setConnections([agent('Agent Ann', 'ann1234'), agent('Agent Bob', 'bob1234')]);
    // Both replicas read the old roster before either writes: the worst interleaving.
    let arrived = 0;
    let release!: () => void;
    const bothLoaded = new Promise<void>((resolve) => {
      release = resolve;
    });
    const racing = (): RosterStore => {
      const inner = store();
      let first = true;
      return {
        load: async () => {
          const loaded = await inner.load();
          if (first) {
            first = false;
            if (++arrived === 2) release();
            await bothLoaded;
          }
          return loaded;
        },
        replaceAgents: (v, agents, at) => inner.replaceAgents(v, agents, at),
        markSynced: (at) => inner.markSynced(at),
        setPresence: (p, at) => inner.setPresence(p, at),
      };
    };
    const [a, b] = await Promise.all([
      syncRoster(options({ store: racing() })),
      syncRoster(options({ store: racing() })),
    ]);

    const alerts = notifier.calls.filter((c) => c.alert.type === 'roster-changed');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.key).toBe('roster:1');
    expect(alerts[0]?.alert).toMatchObject({ added: ['Agent Ann', 'Agent Bob'], removed: [] });
    expect([a.changed, b.changed].sort()).toEqual([false, true]);
    expect(a.version).toBe(1);
    expect(b.version).toBe(1);
  });

  it('reports adds, removes and renames, stores a new version, and alerts once per change', async () => {
    const annId = api.addConnection(agent('Agent Ann', 'ann1234'));
    const bobId = api.addConnection(agent('Agent Bob', 'bob1234'));
    const opts = options();
    await syncRoster(opts);

    api.removeConnection(bobId);
    api.updateConnection(annId, { connection_name: 'Agent Ann Lee' });
    api.addConnection(agent('Agent Cid', 'cid1234'));
    clock += 3_600_000;
    const result = await syncRoster(opts);

    expect(result).toMatchObject({
      added: ['Agent Cid'],
      removed: ['Agent Bob'],
      renamed: [{ id: annId, from: 'Agent Ann', to: 'Agent Ann Lee' }],
      changed: true,
      version: 2,
      syncedAt: '2026-03-02T10:00:00.000Z',
    });
    expect(notifier.of('roster-changed').map((a) => [a.key, a.added, a.removed])).toEqual([
      ['roster:1', ['Agent Ann', 'Agent Bob'], []],
      ['roster:2', ['Agent Cid', 'Agent Ann Lee'], ['Agent Bob', 'Agent Ann']],
    ]);
  });

  it('stores a SIP change without alerting, and a sync without change only moves syncedAt', async () => {
    const annId = api.addConnection(agent('Agent Ann', 'ann1234'));
    const opts = options();
    await syncRoster(opts);
    clock += 60_000;
    const same = await syncRoster(opts);
    expect(same).toMatchObject({ changed: false, version: 1, syncedAt: '2026-03-02T09:01:00.000Z' });
    expect((await opts.store.load()).syncedAt).toBe('2026-03-02T09:01:00.000Z');

    api.updateConnection(annId, { user_name: 'annNew99' });
    const resipped = await syncRoster(opts);
    expect(resipped).toMatchObject({ changed: true, resipped: ['Agent Ann'], version: 2 });
    expect((await opts.store.load()).agents[0]?.sip).toBe('sip:annNew99@sip.telnyx.com');
    expect(notifier.of('roster-changed')).toHaveLength(1);
  });

  it('keeps the last roster and throws when Telnyx is down, so the scheduler can alert', async () => {
    api.setConnections([agent('Agent Ann', 'ann1234')]);
    const opts = options();
    await syncRoster(opts);
    const before = await opts.store.load();

    api.failNext({ path: '/v2/credential_connections' }, 10, { kind: 'server-error' });
    await expect(syncRoster(opts)).rejects.toBeInstanceOf(InternalServerError);
    expect(await opts.store.load()).toEqual(before);
    expect(notifier.of('roster-changed')).toHaveLength(1);
  });

  it('fails on a broken second page without storing half a roster', async () => {
    api.setConnections(Array.from({ length: 5 }, (_, i) => agent(`Agent ${i}`, `agent${i}user`)));
    const opts = options({ pageSize: 2 });
    api.failNext({ path: '/v2/credential_connections', query: { 'page[number]': '2' } }, 1, {
      kind: 'server-error',
    });
    await expect(syncRoster(opts)).rejects.toBeInstanceOf(InternalServerError);
    expect((await opts.store.load()).version).toBe(0);
    expect(notifier.calls).toHaveLength(0);

    const result = await syncRoster(opts);
    expect(result).toMatchObject({ agents: 5, version: 1 });
    expect(api.requestsTo('/v2/credential_connections').map((r) => r.query.get('page[number]'))).toEqual([
      '1',
      '2',
      '1',
      '2',
      '3',
    ]);
  });

  it('starts the listing over when a connection is deleted between pages', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => api.addConnection(agent(`Agent ${i}`, `agent${i}user`)));
    let deleted = false;
    api.onRequest = (r) => {
      if (!deleted && r.query.get('page[number]') === '2') {
        deleted = true;
        // Newest first: page 1 held agents 4 and 3; deleting 4 shifts agent 2 onto page 1.
        api.removeConnection(ids[4]!);
      }
    };
    const result = await syncRoster(options({ pageSize: 2 }));
    expect(result.added).toEqual(['Agent 0', 'Agent 1', 'Agent 2', 'Agent 3']);
    expect(api.requestsTo('/v2/credential_connections').map((r) => r.query.get('page[number]'))).toEqual([
      '1',
      '2',
      '1',
      '2',
    ]);
  });

  it('refuses a page size Telnyx would reject', async () => {
    api.setConnections([agent('Agent Ann', 'ann1234')]);
    await expect(syncRoster(options({ pageSize: 500 }))).rejects.toBeInstanceOf(BadRequestError);
  });
});

describe('agents Telnyx will not ring (sip_uri_calling_preference)', () => {
  it('lists an agent whose connection has SIP URI calling disabled as unreachable, never online, with one warning', async () => {
    // Telnyx's default is `disabled` (spec3.yml): the fake serves it when the test sets nothing.
    api.setConnections([
      agent('Agent Ann', 'ann1234', { registration: 'Registered' }),
      { connection_name: 'Agent Bob', user_name: 'bob1234', active: true, registration: 'Registered' },
    ]);
    const opts = options();
    const result = await syncRoster(opts);
    expect(result.unreachable).toEqual(['Agent Bob']);
    expect(result.sipUriCallingEnabled).toEqual([]);
    const stored = await opts.store.load();
    expect(stored.agents.find((a) => a.name === 'Agent Bob')).toMatchObject({
      unreachable: 'sip-uri-calling-disabled',
    });
    expect(stored.agents.find((a) => a.name === 'Agent Ann')?.unreachable).toBeUndefined();
    // Registered or not, Telnyx would refuse the call: it is never rung.
    const snapshot = composeSnapshot(
      { ...stored, presence: { [stored.agents[1]!.id]: true, [stored.agents[0]!.id]: true } },
      [],
    );
    expect(snapshot.agents.map((a) => [a.name, a.online, a.unreachable])).toEqual([
      ['Agent Ann', true, undefined],
      ['Agent Bob', false, 'sip-uri-calling-disabled'],
    ]);
    expect(notifier.of('roster-unreachable')).toEqual([
      expect.objectContaining({ agents: ['Agent Bob'], enabled: [], key: 'roster-unreachable:1' }),
    ]);
    expect(api.requestsTo(/^\/v2\/credential_connections\/[^/]+$/, 'PATCH')).toEqual([]);

    // The next sync with nothing new warns no more; fixing it in the portal makes Bob reachable.
    await syncRoster(opts);
    expect(notifier.of('roster-unreachable')).toHaveLength(1);
    api.updateConnection(stored.agents[1]!.id, { sip_uri_calling_preference: 'internal' });
    const fixed = await syncRoster(opts);
    expect(fixed).toMatchObject({ changed: true, unreachable: [] });
    expect((await opts.store.load()).agents.every((a) => a.unreachable === undefined)).toBe(true);
    expect(notifier.of('roster-unreachable')).toHaveLength(1);
  });

  it('AGENT_SIP_URI_CALLING=enable sets internal through PATCH /credential_connections/{id}, logged and reported', async () => {
    const bobId = api.addConnection({ connection_name: 'Agent Bob', user_name: 'bob1234', active: true });
    api.addConnection(agent('Agent Ann', 'ann1234'));
    const opts = options({ enableSipUriCalling: true });
    const result = await syncRoster(opts);
    const patches = api.requestsTo(`/v2/credential_connections/${bobId}`, 'PATCH');
    expect(patches).toHaveLength(1);
    expect(patches[0]!.body).toEqual({ sip_uri_calling_preference: 'internal' });
    expect(patches[0]!.status).toBe(200);
    expect(api.acceptsSipUriCall('sip:bob1234@sip.telnyx.com')).toBe(true);
    expect(result).toMatchObject({ unreachable: [], sipUriCallingEnabled: ['Agent Bob'] });
    expect((await opts.store.load()).agents.every((a) => a.unreachable === undefined)).toBe(true);
    expect(notifier.of('roster-unreachable')).toEqual([
      expect.objectContaining({ agents: [], enabled: ['Agent Bob'] }),
    ]);
    expect(logger.records.some((e) => /sip_uri_calling_preference=internal/.test(String(e.msg)))).toBe(true);
  });

  it('a PATCH Telnyx refuses leaves the agent unreachable and the sync goes on', async () => {
    const bobId = api.addConnection({ connection_name: 'Agent Bob', user_name: 'bob1234', active: true });
    api.failNext({ path: `/v2/credential_connections/${bobId}`, method: 'PATCH' }, 1, {
      kind: 'server-error',
      status: 403,
      code: '10010',
      title: 'Forbidden',
    });
    const result = await syncRoster(options({ enableSipUriCalling: true }));
    expect(result).toMatchObject({
      unreachable: ['Agent Bob'],
      sipUriCallingEnabled: [],
      added: ['Agent Bob'],
    });
    expect(api.acceptsSipUriCall('sip:bob1234@sip.telnyx.com')).toBe(false);
    expect(notifier.of('roster-unreachable')).toEqual([expect.objectContaining({ agents: ['Agent Bob'] })]);
  });

  it('the fake refuses an unknown preference with 422, as the enum in spec3.yml says', async () => {
    const id = api.addConnection(agent('Agent Ann', 'ann1234'));
    const res = await fetch(`${api.baseUrl}/credential_connections/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sip_uri_calling_preference: 'everyone' }),
    });
    expect(res.status).toBe(422);
  });
});
