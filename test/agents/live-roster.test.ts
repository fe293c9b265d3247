import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveRoster } from '../../src/agents/live-roster.js';
import { RedisRosterStore } from '../../src/agents/redis-roster-store.js';
import { StaticRoster } from '../../src/agents/static-roster.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';

const logger = pino({ level: 'silent' });
const ann = { id: 'c1', name: 'Ann', sip: 'sip:ann1234@sip.telnyx.com' };
const bob = { id: 'c2', name: 'Bob', sip: 'sip:bob1234@sip.telnyx.com' };
const T1 = '2026-03-02T09:00:00.000Z';

describe('StaticRoster', () => {
  it('serves AGENTS as always-online static agents, found by SIP URI ignoring case', () => {
    const roster = new StaticRoster([
      { name: 'Ann', sip: 'sip:ann@sip.telnyx.com' },
      { name: 'Bob', sip: 'sip:Bob@example.com:5061' },
    ]);
    expect(roster.current()).toEqual({
      version: 0,
      agents: [
        { id: 'Ann', name: 'Ann', sip: 'sip:ann@sip.telnyx.com', online: true, source: 'static' },
        { id: 'Bob', name: 'Bob', sip: 'sip:Bob@example.com:5061', online: true, source: 'static' },
      ],
    });
    expect(roster.bySip('sip:ANN@SIP.telnyx.com')?.name).toBe('Ann');
    expect(roster.bySip('<sip:bob@example.com;transport=tls>')?.name).toBe('Bob');
    expect(roster.bySip('sip:carol@sip.telnyx.com')).toBeUndefined();
    expect(roster.bySip('not a sip uri')).toBeUndefined();
  });
});

describe('LiveRoster', () => {
  let clients: Redis[];
  let prefix: string;
  let rosters: LiveRoster[];
  const store = () => {
    const client = testRedis(prefix);
    clients.push(client);
    return new RedisRosterStore(client);
  };
  const live = (options: Partial<ConstructorParameters<typeof LiveRoster>[0]> = {}) => {
    const roster = new LiveRoster({ store: store(), logger, refreshMs: 20, ...options });
    rosters.push(roster);
    return roster;
  };

  beforeEach(() => {
    clients = [];
    rosters = [];
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    for (const r of rosters) r.stop();
    await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  });

  it('starts from the static seed before anything is synced', async () => {
    const roster = live({ staticAgents: [{ name: 'Desk', sip: 'sip:desk@example.com' }] });
    await roster.start();
    expect(roster.current()).toMatchObject({
      version: 0,
      agents: [{ name: 'Desk', online: true, source: 'static' }],
    });
  });

  it('shows a sync written by another replica on every replica, without a restart', async () => {
    const writer = store();
    const a = live();
    const b = live();
    await Promise.all([a.start(), b.start()]);
    expect(a.current().agents).toEqual([]);

    await writer.replaceAgents(0, [ann, bob], T1);
    await writer.setPresence({ c1: true }, T1);

    for (const roster of [a, b]) {
      await vi.waitFor(() => expect(roster.current().version).toBe(2), { timeout: 2000, interval: 10 });
      expect(roster.current()).toEqual({
        version: 2,
        syncedAt: T1,
        presenceCheckedAt: T1,
        agents: [
          { ...ann, online: true, source: 'telnyx' },
          { ...bob, online: false, source: 'telnyx' },
        ],
      });
      expect(roster.bySip('sip:BOB1234@sip.telnyx.com')?.id).toBe('c2');
    }
  });

  it('returns the same snapshot object until something changes', async () => {
    const writer = store();
    const roster = live({ refreshMs: 60_000 });
    await writer.replaceAgents(0, [ann], T1);
    await roster.start();
    const first = roster.current();
    await roster.refresh();
    expect(roster.current()).toBe(first);
    await writer.setPresence({ c1: true }, T1);
    await roster.refresh();
    expect(roster.current()).not.toBe(first);
    expect(roster.current().agents[0]?.online).toBe(true);
  });

  it('merges static agents first; a static entry with the same SIP URI wins over the synced one', async () => {
    const writer = store();
    await writer.replaceAgents(0, [ann, bob], T1);
    const roster = live({
      staticAgents: [
        { name: 'Front desk', sip: 'sip:desk@example.com' },
        { name: 'Ann (pinned)', sip: 'sip:ANN1234@sip.telnyx.com' },
      ],
    });
    await roster.start();
    expect(roster.current().agents.map((a) => [a.name, a.online, a.source])).toEqual([
      ['Front desk', true, 'static'],
      ['Ann (pinned)', true, 'static'],
      ['Bob', false, 'telnyx'],
    ]);
    expect(roster.bySip('sip:ann1234@sip.telnyx.com')?.name).toBe('Ann (pinned)');
  });

  it('keeps the last known roster while the store is unreachable', async () => {
    const client = testRedis(prefix);
    clients.push(client);
    const writerStore = new RedisRosterStore(client);
    await writerStore.replaceAgents(0, [ann], T1);
    const roster = new LiveRoster({ store: writerStore, logger, refreshMs: 60_000 });
    rosters.push(roster);
    await roster.start();
    const before = roster.current();
    client.disconnect();
    await expect(roster.refresh()).rejects.toThrow();
    expect(roster.current()).toBe(before);
    expect(roster.bySip(ann.sip)?.name).toBe('Ann');
  });
});
