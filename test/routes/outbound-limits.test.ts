import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { eventually, type StartOptions, startServer, type TestServer } from '../helper.js';
import { deleteAppKeys, redisDatabaseUrl, uniquePrefix } from '../setup/redis.js';
import { type OutageProxy, startOutageProxy, viaPort } from '../support/outage-proxy.js';

/** docs/interface.md §10: outbound calls are money. */
const TOKEN = 'test-token-0123456789abcdef';
const HOTLINE = '+18005550199';
const CUSTOMER = '+14155550123';

describe('outbound calls are money', () => {
  const servers: TestServer[] = [];
  let telnyx: FakeTelnyxApi | undefined;
  let proxy: OutageProxy | undefined;
  let admin: Redis | undefined;
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    await telnyx?.close();
    telnyx = undefined;
    await proxy?.close();
    proxy = undefined;
    if (admin) {
      await deleteAppKeys(admin).catch(() => undefined);
      await admin.quit();
    }
    admin = undefined;
  });

  const start = async (
    env: Record<string, string> = {},
    opts: StartOptions & { client?: { timeoutMs?: number; maxRetries?: number } } = {},
  ) => {
    telnyx ??= await FakeTelnyxApi.start();
    const server = await startServer({
      ...opts,
      env: {
        API_TOKEN: TOKEN,
        TELNYX_API_KEY: telnyx.apiKey,
        TELNYX_API_BASE_URL: telnyx.baseUrl,
        TELNYX_CONNECTION_ID: '1568109700606592442',
        HOTLINE_NUMBER: HOTLINE,
        PUBLIC_URL: 'https://sb.example.com',
        ...env,
      },
      deps: {
        // The production client retries twice: click-to-call must not, whatever the client does.
        telnyx: createTelnyxClient({ apiKey: telnyx.apiKey, baseUrl: telnyx.baseUrl, ...opts.client }),
        ...opts.deps,
      },
    });
    servers.push(server);
    return server;
  };

  const call = (server: TestServer, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/calls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it.each([
    ['+19005551234', 'SB_OUTBOUND_SPECIAL_RATE', /premium-rate/],
    ['+15005550100', 'SB_OUTBOUND_SPECIAL_RATE', /personal-number/],
    ['+882123456789', 'SB_OUTBOUND_DESTINATION', /OUTBOUND_ALLOWED_PREFIXES: US/],
    ['+18765551234', 'SB_OUTBOUND_DESTINATION', /outside the allowed destinations/],
    [HOTLINE, 'SB_OUTBOUND_HOTLINE', /hotline/],
  ])('refuses %s with 422 %s and places no call', async (to, code, reason) => {
    const server = await start();
    const res = await call(server, { agent: 'Alice', to });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe(code);
    expect(body.message).toMatch(reason);
    expect(telnyx!.requestsTo(/\/texml\/calls\//)).toEqual([]);
  });

  it('OUTBOUND_ALLOWED_PREFIXES widens the destinations, never to special-rate numbers', async () => {
    const server = await start({ OUTBOUND_ALLOWED_PREFIXES: 'US,+44' });
    expect((await call(server, { agent: 'Alice', to: '+442071234567' })).status).toBe(202);
    const premium = await call(server, { agent: 'Alice', to: '+449012345678' });
    expect(premium.status).toBe(422);
    expect(((await premium.json()) as { code: string }).code).toBe('SB_OUTBOUND_SPECIAL_RATE');
    expect(telnyx!.texmlCalls).toHaveLength(1);
  });

  it('OUTBOUND_MAX_PER_MINUTE per agent, shared by replicas: 429 with Retry-After', async () => {
    const keyPrefix = uniquePrefix();
    const a = await start({ OUTBOUND_MAX_PER_MINUTE: '3' }, { keyPrefix });
    const b = await start({ OUTBOUND_MAX_PER_MINUTE: '3' }, { keyPrefix });
    const codes = [];
    for (const server of [a, b, a, b])
      codes.push((await call(server, { agent: 'Alice', to: CUSTOMER })).status);
    expect(codes).toEqual([202, 202, 202, 429]);
    const limited = await call(a, { agent: 'alice', to: CUSTOMER });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(((await limited.json()) as { code: string }).code).toBe('SB_OUTBOUND_RATE_LIMITED');
    // Another agent has its own budget.
    expect((await call(b, { agent: 'Bob', to: CUSTOMER })).status).toBe(202);
    expect(telnyx!.texmlCalls).toHaveLength(4);
  });

  it('a burst of 100 clicks places at most OUTBOUND_MAX_PER_MINUTE calls (default 10)', async () => {
    const server = await start({}, { store: 'memory' });
    const statuses = await Promise.all(
      Array.from({ length: 100 }, () => call(server, { agent: 'Carol', to: CUSTOMER }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(90);
    expect(telnyx!.texmlCalls).toHaveLength(10);
  });

  it('OUTBOUND_MAX_CONCURRENT in all; a slot frees when its call ends', async () => {
    const keyPrefix = uniquePrefix();
    const a = await start({ OUTBOUND_MAX_CONCURRENT: '2' }, { keyPrefix });
    const b = await start({ OUTBOUND_MAX_CONCURRENT: '2' }, { keyPrefix });
    const first = await call(a, { agent: 'Alice', to: CUSTOMER });
    expect((await call(b, { agent: 'Bob', to: CUSTOMER })).status).toBe(202);
    const full = await call(b, { agent: 'Carol', to: CUSTOMER });
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await full.json()) as { code: string }).code).toBe('SB_OUTBOUND_CONCURRENCY');

    const { callSid } = (await first.json()) as { callSid: string };
    const leg = { sid: callSid, from: HOTLINE, to: 'sip:alice@sip.telnyx.com' };
    await a.player.status('/texml/status', leg, 'ringing');
    expect((await a.player.status('/texml/status', leg, 'no-answer')).status).toBe(200);
    expect((await call(b, { agent: 'Carol', to: CUSTOMER })).status).toBe(202);
    expect(telnyx!.texmlCalls).toHaveLength(3);
  });

  it('store first: with Redis down, 503 and Telnyx is never asked; GET /api/calls(/:sid) is 503 too', async () => {
    // Redis goes away between the app and the test Redis (test/support/outage-proxy.ts); the app
    // writes under the fixed `sb:` prefix, in a database of its own (test/setup/redis.ts).
    const url = redisDatabaseUrl(12);
    admin = new Redis(url, { maxRetriesPerRequest: 1 });
    proxy = await startOutageProxy(url, 6379);
    const server = await start({ REDIS_URL: viaPort(url, proxy.port) }, { store: 'config' });
    await eventually(async () => expect((await fetch(`${server.url}/readyz`)).status).toBe(200));
    proxy.down();

    const res = await call(server, { agent: 'Alice', to: CUSTOMER });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('SB_STORE_UNAVAILABLE');
    expect(telnyx!.requestsTo(/\/texml\/calls\//)).toEqual([]);

    const list = await fetch(`${server.url}/api/calls`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(list.status).toBe(503);
    expect(((await list.json()) as { code: string }).code).toBe('SB_STORE_UNAVAILABLE');
    const one = await fetch(`${server.url}/api/calls/v3:any`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(one.status).toBe(503);
    expect(((await one.json()) as { code: string }).code).toBe('SB_STORE_UNAVAILABLE');
  });

  it('asks Telnyx once: a create that times out is not retried (one click, one call)', async () => {
    const server = await start({}, { client: { timeoutMs: 300, maxRetries: 2 } });
    telnyx!.failNext({ path: /\/texml\/calls\//, method: 'POST' }, 5, { kind: 'slow', delayMs: 1_000 });
    const res = await call(server, { agent: 'Alice', to: CUSTOMER });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { message: string }).message).toMatch(/timed out/);
    // Give a retry, had there been one, time to reach the fake.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(telnyx!.requestsTo(/\/texml\/calls\//, 'POST')).toHaveLength(1);
    expect(telnyx!.texmlCalls).toHaveLength(1);
  });

  it('asks Telnyx once: a 500 is reported, not retried', async () => {
    const server = await start({}, { client: { maxRetries: 2 } });
    telnyx!.failNext({ path: /\/texml\/calls\//, method: 'POST' }, 1, { kind: 'server-error', status: 500 });
    const res = await call(server, { agent: 'Alice', to: CUSTOMER });
    expect(res.status).toBe(502);
    expect(telnyx!.requestsTo(/\/texml\/calls\//, 'POST')).toHaveLength(1);
    expect(telnyx!.texmlCalls).toHaveLength(0);
    // The refused call does not hold a concurrency slot or count as a placed call twice.
    expect((await call(server, { agent: 'Alice', to: CUSTOMER })).status).toBe(202);
  });
});

describe('failed admin logins are throttled per client address', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('10 bad tokens a minute, then 429 with Retry-After for that address only; each failure logged at warn', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    server = await startServer({ env: { API_TOKEN: TOKEN }, deps: { logger } });
    const get = (token: string, address: string) =>
      fetch(`${server!.url}/api/calls`, {
        headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': address },
      });
    for (let i = 0; i < 10; i++)
      expect((await get('wrong-token-0123456789', '203.0.113.7')).status).toBe(401);
    const throttled = await get('wrong-token-0123456789', '203.0.113.7');
    expect(throttled.status).toBe(429);
    expect(((await throttled.json()) as { code: string }).code).toBe('SB_AUTH_THROTTLED');
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    // Even the right token waits: a guesser learns nothing more from this address.
    expect((await get(TOKEN, '203.0.113.7')).status).toBe(429);
    expect((await get(TOKEN, '198.51.100.2')).status).toBe(200);

    const failures = lines.filter((l) => l.msg === 'admin API: missing or invalid bearer token');
    expect(failures).toHaveLength(10);
    expect(failures[0]).toMatchObject({ level: 40, clientAddress: '203.0.113.7' });
  });
});
