import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { playOutbound } from '../../src/simulator/scenarios.js';
import { TelnyxPlayer } from '../../src/simulator/telnyx-player.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { eventually, startServer, type TestServer } from '../helper.js';
import { useFakeSlack } from '../support/fake-slack.js';

const TOKEN = 'test-token-0123456789abcdef';
const HOTLINE = '+18005550199';
const CUSTOMER = '+14155550123';

describe('admin API', () => {
  let server: TestServer;
  let telnyx: FakeTelnyxApi | undefined;
  const slack = useFakeSlack();
  afterEach(async () => {
    await server?.close();
    await telnyx?.close();
    telnyx = undefined;
  });

  const api = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
    if (init.token !== null) headers.authorization = `Bearer ${init.token ?? TOKEN}`;
    if (init.body) headers['content-type'] = 'application/json';
    return fetch(`${server.url}/api${path}`, { ...init, headers });
  };

  const startWithTelnyx = async (env: Record<string, string> = {}) => {
    telnyx ??= await FakeTelnyxApi.start();
    server = await startServer({
      env: {
        API_TOKEN: TOKEN,
        TELNYX_API_KEY: telnyx.apiKey,
        TELNYX_API_BASE_URL: telnyx.baseUrl,
        TELNYX_CONNECTION_ID: '1568109700606592442',
        HOTLINE_NUMBER: HOTLINE,
        SLACK_WEBHOOK_URL: slack.url,
        PUBLIC_URL: 'https://sb.example.com',
        ...env,
      },
      deps: { telnyx: createTelnyxClient({ apiKey: telnyx.apiKey, baseUrl: telnyx.baseUrl, maxRetries: 1 }) },
    });
  };

  describe('auth', () => {
    it('is off without API_TOKEN', async () => {
      server = await startServer();
      expect((await api('/calls')).status).toBe(404);
    });

    it.each([
      ['no header', { token: null }],
      ['wrong token', { token: 'wrong-token-0123456789abcdef' }],
      ['token prefix', { token: TOKEN.slice(0, -1) }],
      [
        'basic auth',
        { token: null, headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } },
      ],
    ])('401 with a JSON error: %s', async (_name, init) => {
      server = await startServer({ env: { API_TOKEN: TOKEN } });
      for (const path of ['/calls', '/calls/x', '/agents', '/openapi.json']) {
        const res = await api(path, init as RequestInit & { token?: string | null });
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ statusCode: 401, code: 'SB_UNAUTHORIZED' });
      }
      const post = await api('/calls', { ...(init as object), method: 'POST', body: '{}' });
      expect(post.status).toBe(401);
    });
  });

  it('serves an OpenAPI document that matches the admin routes', async () => {
    server = await startServer({ env: { API_TOKEN: TOKEN } });
    const doc = (await (await api('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(
      [
        'GET /api/calls',
        'GET /api/calls/{callSid}',
        'POST /api/calls',
        'GET /api/agents',
        'POST /api/agents/sync',
        'GET /api/hours',
        'PUT /api/hours/override',
        'DELETE /api/hours/override',
        'GET /api/queues',
        'GET /api/events',
        'PUT /api/agents/{id}/status',
        'POST /api/agents/{id}/wrap-up/end',
      ].sort(),
    );
    for (const [method, url] of [
      ['GET', '/api/calls'],
      ['GET', '/api/calls/:callSid'],
      ['POST', '/api/calls'],
      ['GET', '/api/agents'],
      ['POST', '/api/agents/sync'],
      ['GET', '/api/queues'],
      ['GET', '/api/events'],
    ] as const) {
      expect(server.app.hasRoute({ method, url }), `${method} ${url}`).toBe(true);
    }
  });

  it('serves the queues of the app: one queue, support, holding every agent; the event log; 401 without the token', async () => {
    server = await startServer({ env: { API_TOKEN: TOKEN } });
    const res = await api('/queues');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: Array<Record<string, unknown>> };
    const names = server.app.services.roster.current().agents.map((a) => a.name);
    expect(body.queues).toHaveLength(1);
    expect(body.queues[0]).toMatchObject({ name: 'support', waiting: 0, callers: [] });
    expect(((body.queues[0]?.agents ?? []) as Array<{ name: string }>).map((a) => a.name)).toEqual(names);
    const events = await api('/events?since=2026-01-01T00:00:00Z');
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect((await fetch(`${server.url}/api/queues`)).status).toBe(401);
    expect((await api('/events?since=soon')).status).toBe(400);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('switchboard_queue_waiting{queue="support"} 0');
    expect(metrics).toContain(`switchboard_agents{queue="support",state="idle"} ${names.length}`);
  });

  it('shows a call live while it rings and with its timeline after it ended; 404 for an unknown sid', async () => {
    server = await startServer({ env: { API_TOKEN: TOKEN } });
    const p = server.player;
    const caller = { sid: 'v3:live', from: '+13125550100', to: HOTLINE };
    await p.post('/texml/inbound', p.base(caller.sid, caller.from, caller.to));
    const active = (await (await api('/calls?status=active')).json()) as {
      calls: Array<Record<string, unknown>>;
    };
    expect(active.calls).toEqual([
      expect.objectContaining({
        sid: 'v3:live',
        direction: 'inbound',
        from: '+13125550100',
        phase: 'ringing-agents',
        attempts: 1,
      }),
    ]);
    await p.status(
      '/texml/status',
      { ...caller, sid: 'vL', parent: 'v3:live', to: 'sip:bob@sip.telnyx.com' },
      'in-progress',
    );
    p.clock.advance(30);
    await p.status('/texml/status', caller, 'completed');
    expect(((await (await api('/calls')).json()) as { calls: unknown[] }).calls).toEqual([]);

    const one = (await (await api('/calls/v3:live')).json()) as Record<string, any>;
    expect(one.call).toMatchObject({ sid: 'v3:live', outcome: 'answered', agent: 'Bob', phase: 'ended' });
    expect(one.legs).toEqual([expect.objectContaining({ sid: 'vL', agent: 'Bob', status: 'in-progress' })]);
    expect(one.timeline.map((t: { type: string }) => t.type)).toEqual([
      'call-received',
      'ring-round',
      'leg-in-progress',
      'answered',
      'caller-completed',
      'outcome',
    ]);
    const missing = await api('/calls/v3:nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'SB_NOT_FOUND' });
  });

  describe('click-to-call', () => {
    it('rings the agent from the hotline, dials the bound customer, tracks both legs, tells Slack', async () => {
      await startWithTelnyx();
      const res = await api('/calls', {
        method: 'POST',
        body: JSON.stringify({ agent: 'alice', to: CUSTOMER }),
      });
      expect(res.status).toBe(202);
      const { callSid } = (await res.json()) as { callSid: string };
      expect(telnyx!.texmlCalls).toEqual([
        {
          kind: 'connection',
          connectionId: '1568109700606592442',
          callSid,
          body: {
            From: HOTLINE,
            To: 'sip:alice@sip.telnyx.com',
            Url: 'https://sb.example.com/texml/outbound',
            Method: 'POST',
          },
        },
      ]);
      const live = (await (await api('/calls')).json()) as { calls: Array<Record<string, unknown>> };
      expect(live.calls).toEqual([
        expect.objectContaining({ sid: callSid, direction: 'outbound', customer: CUSTOMER, agent: 'Alice' }),
      ]);

      // Telnyx plays the agent's leg, then fetches /texml/outbound when the agent answers.
      const p = new TelnyxPlayer({ baseUrl: server.url });
      const agentLeg = { sid: callSid, from: HOTLINE, to: 'sip:alice@sip.telnyx.com' };
      await p.status('/texml/status', agentLeg, 'ringing');
      await p.status('/texml/status', agentLeg, 'in-progress');
      // A forged request cannot choose the number: To/From in the request are ignored.
      const outbound = await p.post('/texml/outbound', { ...p.base(callSid, HOTLINE, '+19005551234') });
      expect(outbound.status).toBe(200);
      expect(outbound.body).toContain(`<Dial callerId="${HOTLINE}"`);
      expect(outbound.body).toContain(`>${CUSTOMER}</Number>`);
      expect(outbound.body).not.toContain('+19005551234');

      const customerLeg = { sid: 'v3:cust', from: HOTLINE, to: CUSTOMER, parent: callSid };
      await p.status('/texml/status', customerLeg, 'ringing');
      await p.status('/texml/status', customerLeg, 'in-progress');
      p.clock.advance(42);
      await p.status('/texml/status', customerLeg, 'completed');
      const end = await p.post('/texml/dial-result', {
        ...p.base(callSid, HOTLINE, 'sip:alice@sip.telnyx.com'),
        DialCallStatus: 'completed',
        DialCallSid: 'v3:cust',
        Timestamp: p.clock.iso(),
      });
      expect(end.body).toContain('<Hangup/>');
      await p.status('/texml/status', agentLeg, 'completed');

      const one = (await (await api(`/calls/${callSid}`)).json()) as Record<string, any>;
      expect(one.call).toMatchObject({
        outcome: 'answered',
        talkSeconds: 42,
        customer: CUSTOMER,
        agent: 'Alice',
      });
      await slack.waitForAccepted(3);
      const texts = slack.accepted().map((m) => m.text);
      expect(texts[0]).toMatch(/^📤 Outbound call from Alice to \+14155550123 is ringing/);
      expect(texts[1]).toMatch(/^📤 Outbound call from Alice to \+14155550123 was answered/);
      expect(texts[2]).toMatch(/^☎️ Outbound call from Alice to \+14155550123 ended/);
      expect(texts[2]).toMatch(/42s/);
    });

    it.each([
      [{ agent: 'alice', to: '4155550123' }, 400],
      [{ agent: 'alice', to: '+0123' }, 400],
      [{ agent: '', to: CUSTOMER }, 400],
      [{ to: CUSTOMER }, 400],
      [{ agent: 'alice', to: CUSTOMER, extra: 1 }, 400],
      [{ agent: 'mallory', to: CUSTOMER }, 404],
    ])('rejects %o with %i and places no call', async (body, status) => {
      await startWithTelnyx();
      const res = await api('/calls', { method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(status);
      expect(((await res.json()) as { message: string }).message).toBeTruthy();
      expect(telnyx!.texmlCalls).toEqual([]);
    });

    it.each([
      [
        422,
        {
          kind: 'server-error',
          status: 422,
          code: '10016',
          title: 'Invalid phone number',
          detail: 'The To number is invalid.',
        },
        /Invalid phone number/,
      ],
      [500, { kind: 'server-error', status: 500 }, /500 Unexpected error/],
    ] as const)(
      'Telnyx %i comes back as 502 with its reason; nothing is stored',
      async (_status, fault, reason) => {
        await startWithTelnyx();
        telnyx!.failNext({ path: /\/texml\/calls\//, method: 'POST' }, 5, fault);
        const res = await api('/calls', {
          method: 'POST',
          body: JSON.stringify({ agent: 'Bob', to: CUSTOMER }),
        });
        expect(res.status).toBe(502);
        expect(((await res.json()) as { message: string }).message).toMatch(reason);
        expect(((await (await api('/calls')).json()) as { calls: unknown[] }).calls).toEqual([]);
        expect(slack.requests).toEqual([]);
      },
    );

    it('needs the Telnyx settings: 503 naming what is missing', async () => {
      server = await startServer({ env: { API_TOKEN: TOKEN } });
      const res = await api('/calls', {
        method: 'POST',
        body: JSON.stringify({ agent: 'Alice', to: CUSTOMER }),
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { message: string }).message).toMatch(
        /TELNYX_API_KEY, TELNYX_CONNECTION_ID, HOTLINE_NUMBER/,
      );
    });
  });

  describe('agents', () => {
    it('lists the roster synced from Telnyx with presence, and POST /agents/sync returns the diff', async () => {
      telnyx = await FakeTelnyxApi.start();
      const alice = telnyx.addConnection({
        connection_name: 'agent-alice',
        user_name: 'alice1234',
        sip_uri_calling_preference: 'internal',
        registration: 'Registered',
      });
      telnyx.addConnection({
        connection_name: 'agent-bob',
        user_name: 'bob12345',
        sip_uri_calling_preference: 'internal',
      });
      telnyx.addConnection({
        connection_name: 'trunk-office',
        user_name: 'office123',
        sip_uri_calling_preference: 'internal',
      });
      await startWithTelnyx({ AGENT_CONNECTION_FILTER: 'agent', AGENTS: '' });
      const report = await eventually(async () => {
        const r = (await (await api('/agents')).json()) as Record<string, any>;
        expect(r.agents).toHaveLength(2);
        expect(r.presenceCheckedAt).toBeTruthy();
        return r;
      });
      expect(report.agents).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            id: alice,
            name: 'agent-alice',
            sip: 'sip:alice1234@sip.telnyx.com',
            online: true,
          }),
          expect.objectContaining({ name: 'agent-bob', online: false }),
        ]),
      );
      expect(report.online).toBe(1);
      expect(report.jobs.map((j: { job: string }) => j.job)).toEqual(
        expect.arrayContaining(['agent-presence', 'agent-sync', 'balance-check', 'daily-summary']),
      );

      telnyx!.addConnection({
        connection_name: 'agent-carol',
        user_name: 'carol123',
        sip_uri_calling_preference: 'internal',
      });
      const sync = await api('/agents/sync', { method: 'POST' });
      expect(sync.status).toBe(200);
      expect(await sync.json()).toMatchObject({ added: ['agent-carol'], removed: [], changed: true });
    });

    it('routes only to registered agents, and to voicemail when none is', async () => {
      telnyx = await FakeTelnyxApi.start();
      telnyx.addConnection({
        connection_name: 'agent-alice',
        user_name: 'alice1234',
        sip_uri_calling_preference: 'internal',
        registration: 'Registered',
      });
      telnyx.addConnection({
        connection_name: 'agent-bob',
        user_name: 'bob12345',
        sip_uri_calling_preference: 'internal',
        registration: 'Not Registered',
      });
      await startWithTelnyx({ AGENT_CONNECTION_FILTER: 'agent', AGENTS: '' });
      await eventually(async () =>
        expect(server.app.services.roster.current().agents.filter((a) => a.online)).toHaveLength(1),
      );
      const first = await server.player.post(
        '/texml/inbound',
        server.player.base('v3:p1', '+13125550100', HOTLINE),
      );
      expect(first.body).toContain('sip:alice1234@sip.telnyx.com');
      expect(first.body).not.toContain('bob12345');
    });
  });
});

describe('npm run simulate -- outbound (the same scenario code)', () => {
  const slack = useFakeSlack();
  it('plays a click-to-call end to end through the API and the simulated Telnyx', async () => {
    const telnyx = await FakeTelnyxApi.start();
    const server = await startServer({
      env: {
        API_TOKEN: TOKEN,
        TELNYX_API_KEY: telnyx.apiKey,
        TELNYX_API_BASE_URL: telnyx.baseUrl,
        TELNYX_CONNECTION_ID: 'conn',
        HOTLINE_NUMBER: HOTLINE,
        SLACK_WEBHOOK_URL: slack.url,
      },
    });
    try {
      const res = await fetch(`${server.url}/api/calls`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agent: 'Carol', to: CUSTOMER }),
      });
      expect(res.status).toBe(202);
      const created = telnyx.texmlCalls[0]!;
      const result = await playOutbound(server.player, {
        callSid: created.callSid,
        agentSip: String(created.body.To),
        url: String(created.body.Url),
        hotline: String(created.body.From),
        talkSeconds: 42,
      });
      expect(result.rounds).toEqual([[CUSTOMER]]);
      const state = await server.app.services.calls.get(created.callSid);
      expect(state).toMatchObject({ outcome: 'answered', customer: CUSTOMER, phase: 'ended' });
      await slack.waitForAccepted(3);
      expect(slack.accepted().map((m) => m.text.slice(0, 2))).toEqual(['📤', '📤', '☎️'.slice(0, 2)]);
    } finally {
      await server.close();
      await telnyx.close();
    }
  });
});
