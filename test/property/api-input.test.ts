import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { startServer, type TestServer } from '../helper.js';
import { anyText, junkHeaders, rejectionProblems } from './hostile-input.js';

/**
 * docs/interface.md §6 under random and hostile input: every /api/* route, with random methods, paths,
 * parameters, bodies, content types and tokens. Never a 5xx; never a 2xx without the token; a
 * rejection is a short 4xx; a refused click-to-call places no call at Telnyx and stores nothing.
 */

const TOKEN = 'property-test-token-0123456789';
const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);

/** encodeURIComponent, after lone surrogates became U+FFFD (as UTF-8 on the wire makes them). */
const encodePath = (s: string): string => encodeURIComponent(Buffer.from(s, 'utf8').toString('utf8'));

type Auth = { kind: 'valid' } | { kind: 'invalid'; header: string | undefined };

const auth: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Auth>({ kind: 'valid' }) },
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          undefined,
          '',
          'Bearer',
          'Bearer ',
          `Bearer ${TOKEN.slice(0, -1)}`,
          `Bearer ${TOKEN}x`,
          `Bearer ${TOKEN} ${TOKEN}`,
          `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
          TOKEN,
          `Token ${TOKEN}`,
          `Bearer ${TOKEN.toUpperCase()}`,
          `Bearer\u0000${TOKEN}`,
        ),
        anyText.map((s) => `Bearer ${s}`),
      )
      .map((header): Auth => ({ kind: 'invalid', header })),
  },
);

const path: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('/api/calls', '/api/agents', '/api/stats', '/api/agents/sync') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '/api/calls',
      '/api/agents',
      '/api/agents/sync',
      '/api/openapi.json',
      '/api/stats',
      '/api/calls/',
      '/api',
      '/api/',
      '/api//calls',
      '/api/calls/a/b',
      '/api/CALLS',
    ),
  },
  { weight: 4, arbitrary: anyText.map((s) => `/api/calls/${encodePath(s)}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '/api/calls/%',
      '/api/calls/%zz',
      '/api/calls/%E0%A4%A',
      '/api/calls/..%2F..%2Fhealthz',
      '/api/calls/%00',
      '/api/calls/__proto__',
      '/api/calls/constructor',
      `/api/calls/${'x'.repeat(129)}`,
      `/api/calls/${'é'.repeat(128)}`,
    ),
  },
);

const query: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom('status', 'limit', 'date', 'status[]', '__proto__', 'callSid'), anyText),
        fc.oneof(
          fc.constantFrom(
            'active',
            'ended',
            '',
            '0',
            '1',
            '1000',
            '1001',
            '-1',
            '1.5',
            'NaN',
            '2026-05-04',
            '2026-02-30',
            '9999-99-99',
          ),
          anyText,
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => `?${new URLSearchParams(pairs).toString()}`),
  fc.constantFrom('?', '?&', '?%', '?limit=%zz', '?limit=1&limit=2', '?status=active&status=active'),
);

const E164 = ['+14155550123', '+13125550100', '+442071838750'];

/** Click-to-call bodies: valid, nearly valid, and anything else JSON can say. */
const jsonBody: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record(
      {
        agent: fc.oneof(
          fc.constantFrom('Alice', 'alice', 'BOB', 'Nobody', '', ' Alice '),
          anyText,
          fc.jsonValue(),
        ),
        to: fc.oneof(
          fc.constantFrom(...E164, '+1', '14155550123', '+0123456789', '+1415555012345678'),
          anyText,
          fc.jsonValue(),
        ),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 2, arbitrary: fc.jsonValue() },
);

type Body = { kind: 'json'; value: unknown } | { kind: 'text'; value: string } | { kind: 'none' };

const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 5, arbitrary: jsonBody.map((value): Body => ({ kind: 'json', value })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        anyText,
        fc.constantFrom(
          '{"__proto__":{"polluted":true},"agent":"Alice","to":"+14155550123"}',
          '{"constructor":{"prototype":{"polluted":true}},"agent":"Alice","to":"+14155550123"}',
          '{"agent":"Alice","to":"+14155550123"',
          '{"agent":"Alice","agent":"Bob","to":"+14155550123"}',
          `{"agent":"Alice","to":"+14155550123","pad":"${'x'.repeat(300_000)}"}`,
          `[${'['.repeat(5_000)}${']'.repeat(5_000)}]`,
          '\ufeff{"agent":"Alice","to":"+14155550123"}',
          'agent=Alice&to=%2B14155550123',
        ),
      )
      .map((value): Body => ({ kind: 'text', value })),
  },
  { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  undefined,
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/xml',
  'application/json; charset=latin1',
  'multipart/form-data; boundary=x',
);

interface ApiRequest {
  method: string;
  path: string;
  query: string;
  auth: Auth;
  contentType: string | undefined;
  body: Body;
  headers: Record<string, string>;
}

const anyRequest: fc.Arbitrary<ApiRequest> = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  path,
  query,
  auth,
  contentType,
  body,
  headers: junkHeaders.map((h) => {
    const { authorization: _a, ...rest } = h;
    return rest;
  }),
});

/** A click-to-call that is valid, or one field or header away from it. */
const clickToCall: fc.Arbitrary<ApiRequest> = fc.record({
  method: fc.constant('POST'),
  path: fc.constant('/api/calls'),
  query: fc.constantFrom('', '', '?x=1'),
  auth: fc.oneof({ weight: 4, arbitrary: fc.constant<Auth>({ kind: 'valid' }) }, auth),
  contentType: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
    fc.constant('text/plain'),
  ),
  // Most bodies are valid or one field away from it: an unknown key (400) is one of the variants,
  // not half of them, so that a run reaches the placed call often (about 1 in 10 requests).
  body: fc
    .record({
      agent: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('Alice', 'bob', 'CAROL') }, anyText),
      to: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...E164) }, anyText),
      extra: fc.option(fc.jsonValue(), { freq: 4 }),
    })
    .map(
      ({ extra, ...value }): Body => ({ kind: 'json', value: extra === null ? value : { ...value, extra } }),
    ),
  headers: fc.constant({}),
});

const apiRequest = fc.oneof({ weight: 3, arbitrary: anyRequest }, { weight: 1, arbitrary: clickToCall });

/**
 * Each request from its own client address: the throttle on failed logins (10 a minute per
 * address, tested in test/routes/outbound-limits.test.ts) would otherwise answer every later
 * request 429 and hide what this property checks.
 */
let clients = 0;
const nextAddress = () => {
  clients += 1;
  return `10.${(clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`;
};

function toInject(r: ApiRequest): InjectOptions {
  const headers: Record<string, string> = { ...r.headers };
  if (r.auth.kind === 'valid') headers.authorization = `Bearer ${TOKEN}`;
  else if (r.auth.header !== undefined) headers.authorization = r.auth.header;
  const payload =
    r.method === 'GET' || r.method === 'HEAD' || r.body.kind === 'none'
      ? undefined
      : r.body.kind === 'json'
        ? (JSON.stringify(r.body.value) ?? 'null')
        : r.body.value;
  if (payload !== undefined && r.contentType !== undefined) headers['content-type'] = r.contentType;
  return {
    method: r.method as InjectOptions['method'],
    url: `${r.path}${r.query}`,
    headers,
    payload,
    remoteAddress: nextAddress(),
  };
}

describe('/api/* under random and hostile input', () => {
  let server: TestServer;
  let telnyx: FakeTelnyxApi;
  beforeAll(async () => {
    telnyx = await FakeTelnyxApi.start();
    server = await startServer({
      env: {
        API_TOKEN: TOKEN,
        TELNYX_API_KEY: telnyx.apiKey,
        TELNYX_API_BASE_URL: telnyx.baseUrl,
        TELNYX_CONNECTION_ID: '1568109700606592442',
        HOTLINE_NUMBER: '+18005550199',
        PUBLIC_URL: 'https://sb.example.com',
      },
      deps: { telnyx: createTelnyxClient({ apiKey: telnyx.apiKey, baseUrl: telnyx.baseUrl, maxRetries: 0 }) },
    });
  });
  afterAll(async () => {
    await server?.close();
    await telnyx?.close();
  });

  it('never 5xx, never 2xx without the token, short 4xx reasons, and a refused click-to-call places no call', async () => {
    await fc.assert(
      fc.asyncProperty(apiRequest, async (r) => {
        const options = toInject(r);
        const placed = telnyx.texmlCalls.length;
        const res = await server.app.inject(options);
        const what = `${options.method} ${String(options.url).slice(0, 200)} auth=${JSON.stringify(r.auth).slice(0, 80)} type=${String(r.contentType)} body=${String(options.payload ?? '').slice(0, 200)}\n→ ${res.statusCode} ${res.body.slice(0, 400)}`;
        expect(res.statusCode, what).toBeLessThan(500);
        if (r.auth.kind === 'invalid') expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
        if (res.statusCode >= 400 && r.method !== 'HEAD')
          expect(rejectionProblems(res.statusCode, res.body, `${r.path}${r.query}`), what).toEqual([]);
        if (res.statusCode < 300 && r.method !== 'HEAD')
          expect(() => JSON.parse(res.body), what).not.toThrow();

        if (res.statusCode === 202) {
          // A click-to-call: exactly one call placed at Telnyx, and it is tracked.
          expect(telnyx.texmlCalls.length, what).toBe(placed + 1);
          const { callSid } = JSON.parse(res.body) as { callSid: string };
          expect(callSid).toBe(telnyx.texmlCalls.at(-1)?.callSid);
          expect(await server.app.services.calls.get(callSid), what).toMatchObject({ direction: 'outbound' });
        } else {
          expect(telnyx.texmlCalls.length, what).toBe(placed);
        }
      }),
      { numRuns: RUNS * 2 },
    );
    expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    // The property reached the click-to-call itself, not only its input checks.
    expect(telnyx.texmlCalls.length).toBeGreaterThan(0);
  });

  it('GET /api/calls/:sid for any sid: 200 with that call, or a 4xx', async () => {
    const known = (await server.app.services.calls.active(10)).map((c) => c.sid);
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyText, fc.constantFrom(...known, 'v3:unknown')), async (sid) => {
        const res = await server.app.inject({
          method: 'GET',
          url: `/api/calls/${encodePath(sid)}`,
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const what = `${JSON.stringify(sid)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
        expect(res.statusCode, what).toBeLessThan(500);
        if (res.statusCode === 200) {
          const reply = JSON.parse(res.body) as { call: { sid: string }; timeline: unknown[] };
          expect(reply.call.sid, what).toBe(Buffer.from(sid, 'utf8').toString('utf8'));
          expect(Array.isArray(reply.timeline)).toBe(true);
        } else {
          // 414: Fastify's own limit on a path parameter's length (see the test below).
          expect([400, 404, 414], what).toContain(res.statusCode);
          if (sid.length >= 1 && sid.length <= 128 && res.statusCode === 404)
            expect(await server.app.services.calls.get(sid), what).toBeNull();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('a call whose CallSid is as long as /texml/* accepts (128 characters) can be read back', async () => {
    // /texml/* stores any CallSid of 1–128 characters [A-Za-z0-9:_-.], and GET /api/calls/:callSid
    // declares maxLength 128; Telnyx documents no length for call_control_id-style sids.
    for (const length of [100, 101, 128]) {
      const sid = `v3:${'L'.repeat(length - 3)}`;
      const inbound = await server.app.inject({
        method: 'POST',
        url: '/texml/inbound',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ CallSid: sid, From: '+13125550100', To: '+18005550199' }).toString(),
      });
      expect(inbound.statusCode).toBe(200);
      expect(await server.app.services.calls.get(sid)).not.toBeNull();
      const res = await server.app.inject({
        method: 'GET',
        url: `/api/calls/${sid}`,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect.soft(res.statusCode, `${length}-character sid: ${res.body.slice(0, 200)}`).toBe(200);
    }
  });

  it("router errors (path parameter too long or badly encoded) answer in the API error shape, not Fastify's", async () => {
    // Every other /api rejection is { statusCode, code: "SB_…", error, message } from app.ts's
    // handlers; the router's own errors skip them.
    for (const url of [`/api/calls/v3:${'L'.repeat(150)}`, '/api/calls/%E0%A4%A']) {
      const res = await server.app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const reply = JSON.parse(res.body) as { statusCode: number; code: string };
      expect.soft(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect.soft(res.statusCode, url).toBeLessThan(500);
      expect.soft(reply.code, `${url}: ${res.body.slice(0, 200)}`).toMatch(/^SB_/);
    }
  });
});
