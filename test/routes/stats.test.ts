import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallCenterEvent } from '../../src/events/call-center-event.js';
import { MemoryEventLog } from '../../src/events/memory-event-log.js';
import type { CallRecord } from '../../src/records/call-record.js';
import { MemoryCallRecordStore } from '../../src/records/memory-call-record-store.js';
import { type StatsRoutesOptions, statsRoutes } from '../../src/routes/api/stats.js';
import { computeStats, type DayStats } from '../../src/stats/call-stats.js';
import { computeQueueStats } from '../../src/stats/queue-stats.js';
import { startServer, type TestServer } from '../helper.js';
import { record } from '../records/call-record-store-suite.js';

const settings = { serviceLevelSeconds: 20, shortAbandonSeconds: 5 };
const TOKEN = 'test-token-0123456789';

describe('GET /api/stats', () => {
  let app: FastifyInstance;
  afterEach(async () => {
    await app?.close();
  });

  /** The plugin inside an /api scope that checks a bearer token, as the app registers it. */
  async function build(
    store: StatsRoutesOptions['store'],
    defaultTimeZone?: string,
    more: Partial<StatsRoutesOptions> = {},
  ) {
    app = Fastify();
    await app.register(
      async (api) => {
        api.addHook('onRequest', async (req, reply) => {
          if (req.headers.authorization !== `Bearer ${TOKEN}`)
            return reply.code(401).send({ code: 'SB_UNAUTHORIZED' });
        });
        await api.register(statsRoutes, { store, settings, defaultTimeZone, ...more });
      },
      { prefix: '/api' },
    );
    return app;
  }
  const get = (url: string) => app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } });

  const seeded = async () => {
    const store = new MemoryCallRecordStore();
    const records: CallRecord[] = [
      record('r1', Date.parse('2026-11-19T08:00:00Z'), { waitSeconds: 12, talkSeconds: 300 }),
      record('r2', Date.parse('2026-11-19T23:30:00Z'), { waitSeconds: 30, talkSeconds: 20 }),
      record('r3', Date.parse('2026-11-19T10:00:00Z'), {
        outcome: 'abandoned',
        agent: undefined,
        agentId: undefined,
        answeredAt: undefined,
        waitSeconds: 9,
        talkSeconds: 0,
      }),
    ];
    for (const r of records) await store.append(r);
    return { store, records };
  };

  it("returns the UTC day's KPIs by default", async () => {
    const { store, records } = await seeded();
    await build(store);
    const res = await get('/api/stats?date=2026-11-19');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(computeStats(records, { date: '2026-11-19', timeZone: 'UTC', ...settings }));
    expect(res.json()).toMatchObject({
      offered: 3,
      answered: 2,
      abandoned: 1,
      serviceLevel: 0.3333,
      averageSpeedOfAnswer: 21,
      averageHandleTime: 160,
      longestWait: 30,
    });
  });

  it('reads the day in `tz`', async () => {
    const { store } = await seeded();
    await build(store);
    const res = await get('/api/stats?date=2026-11-20&tz=Europe/Berlin');
    expect(res.statusCode).toBe(200);
    // 23:30Z on the 19th is 00:30 on the 20th in Berlin
    expect(res.json()).toMatchObject({
      timeZone: 'Europe/Berlin',
      from: '2026-11-19T23:00:00.000Z',
      offered: 1,
      busiestHour: { hour: 0, offered: 1 },
    });
  });

  it('uses the configured default zone when the request names none', async () => {
    const { store } = await seeded();
    await build(store, 'Europe/Berlin');
    expect((await get('/api/stats?date=2026-11-20')).json()).toMatchObject({
      timeZone: 'Europe/Berlin',
      offered: 1,
    });
  });

  it.each([
    ['/api/stats', 'FST_ERR_VALIDATION'],
    ['/api/stats?date=19.11.2026', 'FST_ERR_VALIDATION'],
    ['/api/stats?date=2026-02-30', 'SB_BAD_PARAMETER'],
    ['/api/stats?date=2026-11-19&tz=Mars/Olympus', 'SB_BAD_PARAMETER'],
    ['/api/stats?date=2026-11-19&tz=', 'FST_ERR_VALIDATION'],
  ])('400 for %s', async (url, code) => {
    const { store } = await seeded();
    await build(store);
    const res = await get(url);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe(code);
  });

  it('adds per-queue and per-agent KPIs from the event log, keeping the call-record fields', async () => {
    const { store, records } = await seeded();
    const clock = Date.parse('2026-11-19T12:00:00Z');
    const events = new MemoryEventLog({ now: () => clock });
    const at = (hhmm: string) => Date.parse(`2026-11-19T${hhmm}:00Z`);
    const log: CallCenterEvent[] = [
      {
        type: 'status-change',
        agent: 'alice',
        from: 'offline',
        to: 'available',
        by: 'alice',
        at: at('08:00'),
      },
      { type: 'enter-queue', queue: 'support', callSid: 'a', position: 1, at: at('09:00') },
      { type: 'offer', queue: 'support', callSid: 'a', agent: 'alice', at: at('09:00') },
      { type: 'connect', queue: 'support', callSid: 'a', agent: 'alice', wait: 10, at: at('09:00') },
      { type: 'complete', queue: 'support', callSid: 'a', agent: 'alice', talk: 120, at: at('09:02') },
      { type: 'enter-queue', queue: 'sales', callSid: 'b', position: 1, at: at('10:00') },
      { type: 'abandon', queue: 'sales', callSid: 'b', wait: 30, position: 1, at: at('10:01') },
    ];
    await events.appendMany(log);
    await build(store, undefined, { events, now: () => clock });
    const res = await get('/api/stats?date=2026-11-19');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const { queues, agents, ...day } = body;
    expect(day).toEqual(computeStats(records, { date: '2026-11-19', timeZone: 'UTC', ...settings }));
    const report = computeQueueStats(log, { date: '2026-11-19', timeZone: 'UTC', ...settings, now: clock });
    expect(queues).toEqual(report.perQueue);
    expect(agents).toEqual(report.perAgent);
    expect(queues.map((q: { queue: string }) => q.queue)).toEqual(['sales', 'support']);
    expect(queues[1]).toMatchObject({ answered: 1, serviceLevel: 1, averageTalkTime: 120 });
    expect(agents[0]).toMatchObject({ agent: 'alice', answered: 1, talkSeconds: 120 });
  });

  it('503 when the event log cannot be read', async () => {
    const { store } = await seeded();
    const events = { read: async () => Promise.reject(new Error('down')) };
    await build(store, undefined, { events });
    expect((await get('/api/stats?date=2026-11-19')).statusCode).toBe(503);
  });

  it('503 when the records cannot be read', async () => {
    await build({
      range: async () => {
        throw new Error('redis down');
      },
    });
    const res = await get('/api/stats?date=2026-11-19');
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('SB_STATS_UNAVAILABLE');
  });

  it('sits behind the scope it is registered in (the bearer token)', async () => {
    const { store } = await seeded();
    await build(store);
    expect((await app.inject({ url: '/api/stats?date=2026-11-19' })).statusCode).toBe(401);
  });
});

describe('GET /api/stats in the app: the zone asked for is the zone used', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('reads and computes the day in tz (UTC+14), and defaults to TZ (UTC−8), not UTC', async () => {
    server = await startServer({
      store: 'memory',
      env: { API_TOKEN: TOKEN, TZ: 'America/Los_Angeles' },
      deps: { now: () => Date.parse('2026-11-21T12:00:00Z') },
    });
    const store = server.app.services.records;
    // Kiritimati is UTC+14: its 2026-11-19 runs from 2026-11-18T10:00Z to 2026-11-19T10:00Z.
    await store.append(record('k-first', Date.parse('2026-11-18T10:30:00Z'))); // 00:30 there
    await store.append(record('k-last', Date.parse('2026-11-19T09:59:00Z'))); // 23:59 there
    await store.append(record('k-next', Date.parse('2026-11-19T10:00:00Z'))); // 20th there
    const get = async (query: string) => {
      const res = await fetch(`${server!.url}/api/stats?${query}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as DayStats;
    };

    const kiritimati = await get('date=2026-11-19&tz=Pacific/Kiritimati');
    expect(kiritimati).toMatchObject({
      timeZone: 'Pacific/Kiritimati',
      from: '2026-11-18T10:00:00.000Z',
      to: '2026-11-19T10:00:00.000Z',
      offered: 2,
    });
    expect(kiritimati.hourly[0]).toBe(1);
    expect(kiritimati.hourly[23]).toBe(1);

    // Los Angeles (PST, UTC−8): 2026-11-18 runs from 08:00Z to 2026-11-19T08:00Z.
    const la = await get('date=2026-11-18');
    expect(la).toMatchObject({
      timeZone: 'America/Los_Angeles',
      from: '2026-11-18T08:00:00.000Z',
      to: '2026-11-19T08:00:00.000Z',
      offered: 1,
    });
    expect(la.hourly[2]).toBe(1); // 10:30Z is 02:30 in Los Angeles
  });
});
