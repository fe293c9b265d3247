import { afterEach, describe, expect, it } from 'vitest';
import { parseCallCenterFile } from '../../src/call-center/call-center-file.js';
import { staticCallCenterSource } from '../../src/call-center/call-center-source.js';
import { startServer, type TestServer } from '../helper.js';
import { uniquePrefix } from '../setup/redis.js';

const TOKEN = 'hours-test-token-0123456789';
const FILE = `timeZone: Europe/Berlin
queues:
  sales: { agents: [alice] }
  support: { agents: ["*"] }
hours:
  support:
    weekly: { mon-fri: ["09:00-17:00"] }
    holidays: [{ date: "2026-12-25", reason: "Christmas" }]
defaultQueue: support
`;

interface QueueView {
  queue: string;
  open: boolean;
  override: unknown;
  [key: string]: unknown;
}
interface HoursBody {
  queues: QueueView[];
  cleared?: number;
  code?: string;
}

describe('/api/hours', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  /** Tuesday 1 December 2026, 10:00 in Berlin. */
  let clock = Date.parse('2026-12-01T09:00:00Z');
  const start = async (keyPrefix?: string, store: 'redis' | 'memory' = 'redis') => {
    const s = await startServer({
      env: { API_TOKEN: TOKEN },
      store,
      keyPrefix,
      deps: { callCenter: staticCallCenterSource(parseCallCenterFile(FILE, 'test.yaml')), now: () => clock },
    });
    servers.push(s);
    const api = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${s.url}/api${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(init.body ? { 'content-type': 'application/json' } : {}),
        },
      });
      return { status: res.status, body: (await res.json()) as HoursBody };
    };
    return api;
  };

  it("GET tells each queue's state and next change", async () => {
    clock = Date.parse('2026-12-01T09:00:00Z');
    const api = await start();
    const res = await api('/hours');
    expect(res.status).toBe(200);
    expect(res.body.queues).toEqual([
      {
        queue: 'sales',
        open: true,
        reason: 'open',
        closure: null,
        override: null,
        nextChange: null,
        timeZone: null,
      },
      {
        queue: 'support',
        open: true,
        reason: 'open',
        closure: null,
        override: null,
        nextChange: '2026-12-01T16:00:00.000Z',
        timeZone: 'Europe/Berlin',
      },
    ]);
    clock = Date.parse('2026-12-25T09:00:00Z');
    const xmas = (await api('/hours')).body.queues[1];
    expect(xmas).toMatchObject({
      open: false,
      reason: 'holiday',
      closure: { reason: 'Christmas', prompt: null },
    });
  });

  it('PUT closes one queue until a time; shared by a second replica; DELETE opens it again', async () => {
    clock = Date.parse('2026-12-01T09:00:00Z');
    const prefix = uniquePrefix();
    const a = await start(prefix);
    const b = await start(prefix);
    const put = await a('/hours/override', {
      method: 'PUT',
      body: JSON.stringify({
        queue: 'support',
        closed: true,
        until: '2026-12-01T12:00:00Z',
        reason: 'fire drill',
      }),
    });
    expect(put.status).toBe(200);
    const support = (await b('/hours')).body.queues[1];
    expect(support).toMatchObject({
      open: false,
      reason: 'manual',
      closure: { reason: 'fire drill' },
      override: { queue: 'support', closed: true, until: '2026-12-01T12:00:00.000Z', reason: 'fire drill' },
      nextChange: '2026-12-01T12:00:00.000Z',
    });
    // sales is untouched
    expect((await b('/hours')).body.queues[0]).toMatchObject({ open: true, override: null });
    // After the deadline, the schedule again.
    clock = Date.parse('2026-12-01T12:00:00Z');
    expect((await b('/hours')).body.queues[1]).toMatchObject({ open: true, reason: 'open', override: null });
    clock = Date.parse('2026-12-01T09:00:00Z');
    await a('/hours/override', { method: 'PUT', body: JSON.stringify({ queue: 'support', closed: true }) });
    const del = await b('/hours/override?queue=support', { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(del.body.cleared).toBe(1);
    expect(del.body.queues[1]).toMatchObject({ open: true, reason: 'open' });
  });

  it('an override survives a restart (kept in Redis)', async () => {
    clock = Date.parse('2026-12-01T09:00:00Z');
    const prefix = uniquePrefix();
    const first = await start(prefix);
    await first('/hours/override', {
      method: 'PUT',
      body: JSON.stringify({ closed: true, reason: 'outage' }),
    });
    await servers.shift()!.close();
    const second = await start(prefix);
    const queues = (await second('/hours')).body.queues;
    expect(queues.map((q: { open: boolean }) => q.open)).toEqual([false, false]);
    expect(queues[0]!.override).toMatchObject({ queue: null, closed: true, until: null, reason: 'outage' });
    // An "open" of one queue after "close all" opens just that queue.
    await second('/hours/override', {
      method: 'PUT',
      body: JSON.stringify({ queue: 'sales', closed: false }),
    });
    clock += 1000;
    const after = (await second('/hours')).body.queues;
    expect(after.map((q: { open: boolean }) => q.open)).toEqual([true, false]);
    const cleared = await second('/hours/override', { method: 'DELETE' });
    expect(cleared.body.cleared).toBe(2);
  });

  it('bad requests: unknown queue 404, until in the past 422, unknown field 400', async () => {
    clock = Date.parse('2026-12-01T09:00:00Z');
    const api = await start(undefined, 'memory');
    const unknown = await api('/hours/override', {
      method: 'PUT',
      body: JSON.stringify({ queue: 'nope', closed: true }),
    });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'SB_UNKNOWN_QUEUE' } });
    const past = await api('/hours/override', {
      method: 'PUT',
      body: JSON.stringify({ closed: true, until: '2026-12-01T08:00:00Z' }),
    });
    expect(past).toMatchObject({ status: 422, body: { code: 'SB_OVERRIDE_UNTIL' } });
    const extra = await api('/hours/override', {
      method: 'PUT',
      body: JSON.stringify({ closed: true, why: 'x' }),
    });
    expect(extra).toMatchObject({ status: 400, body: { code: 'SB_VALIDATION' } });
    const notDate = await api('/hours/override', {
      method: 'PUT',
      body: JSON.stringify({ closed: true, until: 'tomorrow' }),
    });
    expect(notDate.status).toBe(400);
    expect((await api('/hours/override?queue=nope', { method: 'DELETE' })).status).toBe(404);
    // Nothing was stored.
    expect((await api('/hours')).body.queues.every((q: { override: unknown }) => q.override === null)).toBe(
      true,
    );
  });

  it('needs the token', async () => {
    await start(undefined, 'memory');
    const res = await fetch(`${servers[0]!.url}/api/hours`);
    expect(res.status).toBe(401);
  });
});
