import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { newCallSid, readTexml } from '../../src/simulator/telnyx-player.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { CONTENT_SECURITY_POLICY, LINK_TTL_MS } from '../../src/web/web-plugin.js';
import { eventually, type StartOptions, startServer, type TestServer } from '../helper.js';
import { uniquePrefix } from '../setup/redis.js';
import { answer, hangUp, ringAgents } from './live-call.js';
import { API_TOKEN, Browser, loginLink, SESSION_SECRET, sseEvents } from './web-test-kit.js';

/**
 * Sign-in, sessions, CSRF, the agent/supervisor boundary and the live feeds of
 * docs/interface.md §8, over HTTP against a real server (the browser run is console-browser.test.ts).
 */

describe.each(['redis', 'memory'] as const)('console and wallboard server (%s store)', (store) => {
  let server: TestServer;
  let replica: TestServer | undefined;
  let telnyx: FakeTelnyxApi | undefined;
  let clock = Date.now();
  /** How `server` was started, so a test can start a second replica of the same deployment. */
  let started: StartOptions = {};
  afterEach(async () => {
    await replica?.close();
    await server?.close();
    await telnyx?.close();
    telnyx = replica = undefined;
  });
  const start = async (env: Record<string, string> = {}, withTelnyx = false) => {
    clock = Date.now();
    if (withTelnyx) {
      telnyx = await FakeTelnyxApi.start();
      telnyx.addConnection({
        id: '2001',
        connection_name: 'Dana',
        user_name: 'dana2001',
        sip_uri_calling_preference: 'internal',
      });
    }
    started = {
      store,
      keyPrefix: uniquePrefix(),
      env: {
        API_TOKEN,
        SESSION_SECRET,
        ...(telnyx && { TELNYX_API_KEY: telnyx.apiKey, TELNYX_API_BASE_URL: telnyx.baseUrl }),
        ...env,
      },
      deps: {
        now: () => clock,
        ...(telnyx && {
          telnyx: createTelnyxClient({ apiKey: telnyx.apiKey, baseUrl: telnyx.baseUrl, maxRetries: 0 }),
        }),
        rosterRefreshMs: 50,
        softphoneRefreshMs: 50,
      },
    };
    server = await startServer(started);
    if (telnyx) {
      const sync = await fetch(`${server.url}/api/agents/sync`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(sync.status).toBe(200);
    }
  };

  it('a login link signs an agent in once, within 15 minutes; the cookie is HttpOnly, SameSite=Strict, signed', async () => {
    await start();
    const link = await loginLink(server, { agent: 'Alice' });
    expect(link.status).toBe(201);
    expect(link.url).toMatch(new RegExp(`^${server.url}/login/[A-Za-z0-9_-]{43}$`));
    expect(link.body.agent).toEqual({ id: 'Alice', name: 'Alice' });

    const alice = new Browser(server.url);
    const page = await alice.fetch(new URL(link.url).pathname);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    // Opening the page (as a chat unfurl would) does not use the link up.
    const res = await alice.signIn(link.url);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sb_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/); // plain http without an https PUBLIC_URL
    expect(cookie).not.toContain(new URL(link.url).pathname.slice(7)); // not the link's token

    const me = await alice.me();
    expect(me).toMatchObject({ status: 200, role: 'agent', agent: { id: 'Alice', name: 'Alice' } });

    // A form on another site cannot post a token here.
    const foreign = await loginLink(server, { agent: 'Carol' });
    const forged = await new Browser(server.url).fetch('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: `token=${new URL(foreign.url).pathname.slice(7)}`,
    });
    expect(forged.status).toBe(403);
    const forgedNull = await new Browser(server.url).fetch('/login', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'null',
        'sec-fetch-site': 'cross-site',
      },
      body: `token=${new URL(foreign.url).pathname.slice(7)}`,
    });
    expect(forgedNull.status).toBe(403);

    // Valid once.
    const again = await new Browser(server.url).signIn(link.url);
    expect(again.status).toBe(410);
    // And for 15 minutes only.
    const late = await loginLink(server, { agent: 'Bob' });
    clock += LINK_TTL_MS + 1;
    expect((await new Browser(server.url).signIn(late.url)).status).toBe(410);
  });

  it('behind https the cookie is Secure; without SESSION_SECRET the pages say how to turn them on', async () => {
    await start({ PUBLIC_URL: 'https://sb.example.com' });
    const link = await loginLink(server, 'supervisor');
    expect(link.url).toMatch(/^https:\/\/sb\.example\.com\/login\//);
    const res = await new Browser(server.url).signIn(`${server.url}${new URL(link.url).pathname}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/wallboard');
    expect(res.headers.getSetCookie().find((c) => c.startsWith('sb_session='))).toMatch(/; Secure/);
    await server.close();

    server = await startServer({ store, env: { API_TOKEN } });
    const off = await fetch(`${server.url}/console`);
    expect(off.status).toBe(503);
    expect(await off.text()).toContain('set SESSION_SECRET');
    const api = await loginLink(server, { agent: 'Alice' });
    expect(api.status).toBe(503);
    expect(api.body.message).toMatch(/SESSION_SECRET is not set/);
  });

  it('the admin routes need the bearer token; unknown agents are 404', async () => {
    await start();
    const res = await fetch(`${server.url}/api/supervisors/login-link`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect((await loginLink(server, { agent: 'Nobody' })).status).toBe(404);
  });

  it('CSRF on every state change; an agent changes only their own status; status routes wait for the status store', async () => {
    await start();
    const alice = new Browser(server.url);
    await alice.signIn((await loginLink(server, { agent: 'Alice' })).url);
    await alice.me();

    // No token, or another session's token: refused before anything happens.
    expect(
      (await alice.json('PUT', '/web/api/agents/Alice/status', { status: 'available' }, '')).status,
    ).toBe(403);
    const bob = new Browser(server.url);
    await bob.signIn((await loginLink(server, { agent: 'Bob' })).url);
    await bob.me();
    expect(
      (await alice.json('PUT', '/web/api/agents/Alice/status', { status: 'available' }, bob.csrf)).status,
    ).toBe(403);
    expect((await alice.json('POST', '/logout', undefined, '')).status).toBe(403);

    // Someone else's status: forbidden.
    const other = await alice.json('PUT', '/web/api/agents/Bob/status', { status: 'offline' });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { message: string }).message).toMatch(/only their own/);
    // Their own: set through the agent state store.
    const own = await alice.json('PUT', '/web/api/agents/Alice/status', { status: 'break', reason: 'lunch' });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ status: 'break', reason: 'lunch', state: 'idle' });
    const back = await alice.json('PUT', '/web/api/agents/Alice/status', { status: 'available' });
    expect(back.status).toBe(200);
    expect((await alice.json('PUT', '/web/api/agents/Alice/status', { status: 'asleep' })).status).toBe(400);

    // An agent does not see the wallboard.
    expect((await alice.fetch('/web/api/wallboard')).status).toBe(403);
    const wall = await alice.fetch('/wallboard');
    expect(wall.status).toBe(303);
    expect(wall.headers.get('location')).toBe('/console');

    // Sign out ends the session.
    expect((await alice.json('POST', '/logout')).status).toBe(204);
    expect((await alice.fetch('/web/api/me')).status).toBe(401);
  });

  it('revoking an agent ends every session of that agent, live feed included', async () => {
    await start();
    const a1 = new Browser(server.url);
    const a2 = new Browser(server.url);
    await a1.signIn((await loginLink(server, { agent: 'Alice' })).url);
    await a2.signIn((await loginLink(server, { agent: 'Alice' })).url);
    const feed = await a1.fetch('/web/api/events');
    expect(feed.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = sseEvents(feed);
    expect((await events.next()).value?.event).toBe('view');

    const res = await fetch(`${server.url}/api/agents/Alice/sessions`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(await res.json()).toEqual({ revoked: 2 });
    expect((await a1.fetch('/web/api/me')).status).toBe(401);
    expect((await a2.fetch('/web/api/me')).status).toBe(401);
    expect((await a1.fetch('/console')).status).toBe(401);
    // The open feed notices at its next change.
    await ringAgents(server.player);
    const next = await eventually(async () => (await events.next()).value, 5_000);
    expect(next?.event).toBe('signed-out');
  });

  it('pages carry the strict CSP; the console feed shows an offered call within 1 s, then the call and its history', async () => {
    await start();
    const alice = new Browser(server.url);
    await alice.signIn((await loginLink(server, { agent: 'Alice' })).url);
    const page = await alice.fetch('/console');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self' wss://rtc.telnyx.com");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(Object.keys(CONTENT_SECURITY_POLICY)).toContain('default-src');

    // A previous call from the same number, answered by Alice (so sticky routing rings her first).
    const earlier = await ringAgents(server.player, '+13125550777');
    await answer(server.player, earlier, 'sip:alice@sip.telnyx.com');
    await hangUp(server.player, earlier, 42);
    clock = Date.now();

    const feed = sseEvents(await alice.fetch('/web/api/events'));
    const first = JSON.parse((await feed.next()).value!.data);
    expect(first.call).toBeUndefined();

    const call = await ringAgents(server.player, '+13125550777');
    const t0 = Date.now();
    let view: Record<string, unknown> & { call?: Record<string, unknown>; history: unknown[] };
    do view = JSON.parse((await feed.next()).value!.data);
    while (!view.call);
    expect(Date.now() - t0).toBeLessThan(1_000);
    // Offered from the one queue there is without a call-center file; no menu yet (§9).
    expect(view.call).toMatchObject({
      sid: call.sid,
      state: 'offered',
      number: '+13125550777',
      queue: 'support',
      menuChoice: null,
    });
    expect(view.history).toEqual([
      expect.objectContaining({ sid: earlier.sid, agent: 'Alice', outcome: 'answered', talkSeconds: 42 }),
    ]);
    expect(view.status).toMatchObject({ status: 'available', state: 'offered' });

    await answer(server.player, call, 'sip:alice@sip.telnyx.com');
    do view = JSON.parse((await feed.next()).value!.data);
    while (view.call?.state !== 'on-call');
    await hangUp(server.player, call);
    do view = JSON.parse((await feed.next()).value!.data);
    while (view.call);
  });

  it('the wallboard feed: calls in progress, agents on them, and the KPIs of /api/stats', async () => {
    await start();
    const sup = new Browser(server.url);
    await sup.signIn((await loginLink(server, 'supervisor')).url);
    const done = await ringAgents(server.player);
    await answer(server.player, done, 'sip:carol@sip.telnyx.com', 12);
    await hangUp(server.player, done, 75);
    const live = await ringAgents(server.player, '+13125550999');
    clock = Date.now();

    const res = await sup.fetch('/web/api/wallboard');
    expect(res.status).toBe(200);
    const view = (await res.json()) as Record<string, unknown> & { serviceLevelByHour: Array<number | null> };
    const today = new Date(clock).toISOString().slice(0, 10);
    const stats = await (
      await fetch(`${server.url}/api/stats?date=${today}`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      })
    ).json();
    // The wallboard's KPIs are /api/stats' call-record figures (its queue and agent breakdowns
    // come from the event log and are shown elsewhere on the board).
    const { queues: _queues, agents: _agents, ...dayStats } = stats as Record<string, unknown>;
    expect(view.stats).toEqual(dayStats);
    expect(view.agentStates).toMatchObject({ Alice: { state: 'offered' } });
    expect(view.queues).toEqual([expect.objectContaining({ name: 'support' })]);
    expect((view.calls as Array<{ sid: string }>).map((c) => c.sid)).toEqual([live.sid]);
    expect(
      (view.roster as Array<{ name: string; call?: { state: string } }>).map((a) => [a.name, a.call?.state]),
    ).toEqual([
      ['Alice', 'offered'],
      ['Bob', 'offered'],
      ['Carol', 'offered'],
    ]);
    expect(view.serviceLevelByHour).toHaveLength(24);
    expect(view.serviceLevelByHour[new Date(clock).getUTCHours()]).toBe(1);
  });

  it('softphone: the server mints a WebRTC token for the agent’s own telephony credential, created once', async () => {
    await start({}, true);
    const dana = new Browser(server.url);
    await dana.signIn((await loginLink(server, { agent: '2001' })).url);
    const me = await dana.me();
    expect(me.softphone).toEqual({ available: true });
    expect((await dana.json('POST', '/web/api/softphone/token', undefined, '')).status).toBe(403);

    const first = await dana.json('POST', '/web/api/softphone/token');
    expect(first.status).toBe(200);
    const body = (await first.json()) as { token: string; sipUsername: string };
    expect(body.token.split('.')).toHaveLength(3);
    expect(telnyx!.tokens.at(-1)?.token).toBe(body.token);
    const [cred] = telnyx!.telephonyCredentials();
    expect(cred).toMatchObject({ resource_id: 'connection:2001', name: 'switchboard-console' });
    expect(body.sipUsername).toBe(cred!.sip_username);
    expect(JSON.stringify(body)).not.toContain(cred!.sip_password);

    // The console's heartbeat: CSRF-protected, strict body.
    expect((await dana.json('POST', '/web/api/softphone/presence', { registered: true }, '')).status).toBe(
      403,
    );
    expect((await dana.json('POST', '/web/api/softphone/presence', { registered: 'yes' })).status).toBe(400);
    expect((await dana.json('POST', '/web/api/softphone/presence', { registered: true })).status).toBe(204);
    expect((await dana.json('POST', '/web/api/softphone/presence', { registered: false })).status).toBe(204);

    await dana.json('POST', '/web/api/softphone/token');
    expect(telnyx!.telephonyCredentials()).toHaveLength(1);
    expect(telnyx!.requestsTo('/v2/telephony_credentials', 'POST')).toHaveLength(1);

    // Telnyx failing is a 502 with its reason, not a crash.
    telnyx!.failNext({ path: /\/token$/ }, 1, { kind: 'server-error', status: 500 });
    const failed = await dana.json('POST', '/web/api/softphone/token');
    expect(failed.status).toBe(502);
  });

  it('softphone: a registered browser counts as registered, and calls ring the credential’s SIP user', async () => {
    // Dana's desk phone is not registered; nobody else is on the roster.
    await start({ AGENTS: '' }, true);
    const inbound = async () => {
      const sid = newCallSid();
      const res = await server.player.post(
        '/texml/inbound',
        server.player.base(sid, '+13125550444', '+18005550199'),
      );
      await server.player.post('/texml/status', {
        ...server.player.base(sid, '+13125550444', '+18005550199'),
        CallStatus: 'completed',
      });
      return readTexml(res.body).dial?.targets.map((t) => t.uri) ?? [];
    };
    expect(await inbound()).toEqual([]); // nobody registered: voicemail

    const dana = new Browser(server.url);
    await dana.signIn((await loginLink(server, { agent: '2001' })).url);
    expect(await dana.me()).toMatchObject({ softphone: { available: true } });
    expect((await dana.json('POST', '/web/api/softphone/presence', { registered: true })).status).toBe(204);
    const [cred] = telnyx!.telephonyCredentials();
    const browserSip = `sip:${cred!.sip_username}@sip.telnyx.com`;

    // The replica that took the heartbeat routes with it at once.
    const call = await ringAgents(server.player, '+13125550555');
    expect(call.legs.map((l) => l.to)).toEqual([browserSip]);
    const view = (await (await dana.fetch('/web/api/console')).json()) as {
      agent: { online: boolean };
      call?: { sid: string; state: string; queue: string | null };
    };
    expect(view.agent.online).toBe(true);
    expect(view.call).toMatchObject({ sid: call.sid, state: 'offered', queue: 'support' });
    // Telnyx reports the leg to the browser's SIP user: it is Dana's.
    await answer(server.player, call, browserSip);
    await eventually(async () =>
      expect((await server.app.services.center.agentStates.get('2001')).state).toBe('on-call'),
    );
    const legs = Object.values((await server.app.services.calls.get(call.sid))!.legs);
    expect(legs.map((l) => [l.to, l.agentId])).toEqual([[browserSip, '2001']]);
    await hangUp(server.player, call);

    if (store === 'redis') {
      // Another replica of the deployment sees the browser at its next refresh.
      replica = await startServer(started);
      const other = replica;
      const ringsAt = async () => {
        const sid = newCallSid();
        const res = await other.player.post(
          '/texml/inbound',
          other.player.base(sid, '+13125550666', '+18005550199'),
        );
        await other.player.post('/texml/status', {
          ...other.player.base(sid, '+13125550666', '+18005550199'),
          CallStatus: 'completed',
        });
        return readTexml(res.body).dial?.targets.map((t) => t.uri) ?? [];
      };
      await eventually(async () => expect(await ringsAt()).toEqual([browserSip]));
    }

    // Turned off: back to the desk phone, which is not registered.
    expect((await dana.json('POST', '/web/api/softphone/presence', { registered: false })).status).toBe(204);
    expect(await inbound()).toEqual([]);
  });

  it('softphone: a static agent (AGENTS) is told why there is none', async () => {
    await start();
    const alice = new Browser(server.url);
    await alice.signIn((await loginLink(server, { agent: 'Alice' })).url);
    expect((await alice.me()).softphone).toMatchObject({ available: false });
    const res = await alice.json('POST', '/web/api/softphone/token');
    expect(res.status).toBe(503);
  });
});
