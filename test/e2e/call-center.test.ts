import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCallCenterFile } from '../../src/call-center/call-center-file.js';
import { staticCallCenterSource } from '../../src/call-center/call-center-source.js';
import type { CallState } from '../../src/calls/call-types.js';
import type { LoggedEvent } from '../../src/events/call-center-event.js';
import { playInbound } from '../../src/simulator/scenarios.js';
import { parseAt } from '../../src/simulator/sim-time.js';
import type { TexmlPlan, Verb } from '../../src/simulator/telnyx-player.js';
import { eventually, postRaw, startServer, type TestServer } from '../helper.js';
import { uniquePrefix } from '../setup/redis.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { slackKind } from '../support/slack-kind.js';

/**
 * docs/interface.md §9 end to end: the call-center file's menu, opening hours and per-queue
 * routing, through the real app (memory and Redis), Telnyx played by the simulator's player or by
 * plain form POSTs, and a fake Slack webhook.
 */

const TOKEN = 'call-center-test-token-0123';
const BASE = 'https://sb.example.com';
const SIP: Record<string, string> = {
  Alice: 'sip:alice@sip.telnyx.com',
  Bob: 'sip:bob@sip.telnyx.com',
  Carol: 'sip:carol@sip.telnyx.com',
};
const agentOf = (sip: string) => Object.keys(SIP).find((n) => SIP[n] === sip) ?? sip;

/** Sales 9–17 on weekdays in Berlin (Christmas off), support always open; Bob serves both. */
const FILE = `
timeZone: Europe/Berlin
queues:
  sales:
    agents: [alice, bob]
    prompts:
      closed: "Sales is closed right now. Please leave a message."
  support:
    agents: [bob, carol]
    holdMusic: queue-welcome
hours:
  sales:
    weekly:
      mon-fri: ["09:00-17:00"]
    holidays:
      - { date: "2026-12-25", reason: "Christmas Day" }
menu:
  prompt: "For sales press 1, for support press 2."
  options: { "1": sales, "2": support }
  timeoutSeconds: 4
  retries: 1
defaultQueue: support
`;

/** Tuesday 15 December 2026, 11:00 in Berlin: sales is open. */
const OPEN = parseAt('2026-12-15T11:00', 'Europe/Berlin');

/** Every `<Say>` text of a document, nested ones (inside `<Gather>`) included. */
const says = (plan: TexmlPlan): string[] => {
  const out: string[] = [];
  const walk = (verbs: Verb[]) => {
    for (const v of verbs) {
      if (v.name === 'Say') out.push(v.text);
      walk(v.children);
    }
  };
  walk(plan.verbs);
  return out;
};
const playsIn = (plan: TexmlPlan): string[] => {
  const out: string[] = [];
  const walk = (verbs: Verb[]) => {
    for (const v of verbs) {
      if (v.name === 'Play') out.push(v.text);
      walk(v.children);
    }
  };
  walk(plan.verbs);
  return out;
};

describe.each(['memory', 'redis'] as const)('call-center file end to end (%s)', (store) => {
  let server: TestServer;
  const slack = useFakeSlack();
  afterEach(async () => {
    expect(server?.player.failedDeliveries ?? []).toEqual([]);
    await server?.close();
  });
  const start = async (env: Record<string, string> = {}, file = FILE) => {
    server = await startServer({
      store,
      env: { SLACK_WEBHOOK_URL: slack.url, PUBLIC_URL: BASE, API_TOKEN: TOKEN, ...env },
      deps: { callCenter: staticCallCenterSource(parseCallCenterFile(file, 'test.yaml')) },
    });
  };
  const state = (sid: string) => server.app.services.calls.get(sid) as Promise<CallState>;
  const events = (): Promise<LoggedEvent[]> => server.app.services.center.events.read({ limit: 10_000 });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const blocksOf = (i: number) => JSON.stringify(slack.accepted()[i]?.blocks ?? []);

  it('menu: key 1 rings the sales agents only; the choice is in the state, timeline, record, Slack and queue events', async () => {
    await start();
    server.player.clock.ms = OPEN;
    const r = await playInbound(server.player, { digits: '1', answerInRound: 1, talkSeconds: 40 });

    const menu = r.replies[0]!;
    expect(menu.gather).toEqual({ action: `${BASE}/texml/menu`, numDigits: 1, timeout: 4 });
    expect(menu.redirect).toEqual({ url: `${BASE}/texml/menu`, method: 'POST' });
    expect(says(menu)).toEqual(['For sales press 1, for support press 2.']);
    expect(r.rounds).toEqual([[SIP.Alice, SIP.Bob]]); // not Carol: she is support only
    expect(r.replies[1]?.plays).toEqual([]); // no greeting after the menu

    const s = await state(r.callSid);
    expect(s).toMatchObject({ queue: 'sales', menu: { attempts: 1, digit: '1' }, outcome: 'answered' });
    const { body } = await api('GET', `/calls/${r.callSid}`);
    expect((body.call as { queue: string }).queue).toBe('sales');
    const timeline = body.timeline as Array<{ type: string; detail: Record<string, unknown> }>;
    const story = ['call-received', 'menu', 'queue', 'ring-round'];
    expect(timeline.map((t) => t.type).filter((t) => story.includes(t))).toEqual(story);
    expect(timeline.find((t) => t.type === 'queue')?.detail).toEqual({ queue: 'sales', digit: '1' });

    await slack.waitForAccepted(3);
    expect(slack.accepted().map((m) => slackKind(m.text))).toEqual(['incoming', 'answered', 'completed']);
    for (let i = 0; i < 3; i++) expect(blocksOf(i)).toContain('*Queue*\\nsales');

    await eventually(async () => {
      const [record] = await server.app.services.records.range(OPEN - 60_000, OPEN + 3_600_000);
      expect(record).toMatchObject({ sid: r.callSid, queue: 'sales', outcome: 'answered' });
    });
    await eventually(async () => {
      const log = (await events()).filter((e) => 'callSid' in e && e.callSid === r.callSid);
      expect(log.map((e) => [e.type, 'queue' in e ? e.queue : undefined])).toEqual(
        expect.arrayContaining([
          ['enter-queue', 'sales'],
          ['offer', 'sales'],
          ['connect', 'sales'],
          ['complete', 'sales'],
        ]),
      );
    });
  });

  it('menu: a wrong key says so and repeats the menu; then no key at the last attempt takes the default queue', async () => {
    await start();
    server.player.clock.ms = OPEN;
    const r = await playInbound(server.player, { digits: '9', answerInRound: 1 });
    expect(r.replies[1]?.gather?.action).toBe(`${BASE}/texml/menu`);
    expect(playsIn(r.replies[1]!)[0]).toBe(`${BASE}/audio/menu-invalid.mp3`); // "not one of the choices"
    expect(r.rounds).toEqual([[SIP.Bob, SIP.Carol]]); // support, the default queue
    const s = await state(r.callSid);
    expect(s).toMatchObject({ queue: 'support', menu: { attempts: 2, fallback: 'timeout' } });
    expect(s.menu?.digit).toBeUndefined();
  });

  it('menu: no key at all, twice: the menu is repeated once (retries: 1), then the default queue', async () => {
    await start();
    server.player.clock.ms = OPEN;
    const r = await playInbound(server.player, { answerInRound: 1 });
    const menus = r.replies.filter((p) => p.gather);
    expect(menus).toHaveLength(2);
    expect(playsIn(menus[1]!)).not.toContain(`${BASE}/audio/menu-invalid.mp3`); // a timeout is no wrong key
    expect(r.rounds).toEqual([[SIP.Bob, SIP.Carol]]);
    expect(await state(r.callSid)).toMatchObject({
      queue: 'support',
      menu: { attempts: 2, fallback: 'timeout' },
    });
  });

  it('menu: two wrong keys end in the default queue, said to be for a wrong key', async () => {
    await start();
    server.player.clock.ms = OPEN;
    const r = await playInbound(server.player, { digits: '79', answerInRound: 1 });
    expect(r.rounds).toEqual([[SIP.Bob, SIP.Carol]]);
    expect(await state(r.callSid)).toMatchObject({
      queue: 'support',
      menu: { attempts: 2, fallback: 'invalid' },
    });
  });

  it('closed on a holiday: the holiday prompt, voicemail, and Slack says it came in while closed and why', async () => {
    await start();
    server.player.clock.ms = parseAt('2026-12-25T10:00', 'Europe/Berlin'); // a Friday, Christmas
    const r = await playInbound(server.player, { digits: '1', voicemailSeconds: 17 });
    const closed = r.replies[1]!;
    expect(closed.dial).toBeUndefined();
    expect(closed.plays).toEqual([`${BASE}/audio/holiday.mp3`]);
    expect(closed.record?.action).toBe(`${BASE}/texml/voicemail`);
    const s = await state(r.callSid);
    expect(s).toMatchObject({
      queue: 'sales',
      outcome: 'voicemail',
      voicemailReason: 'closed',
      closed: { reason: 'holiday', detail: 'Christmas Day' },
      rung: [],
    });
    await slack.waitForAccepted(1);
    await new Promise((res) => setTimeout(res, 100)); // no incoming-call message: nobody rang
    expect(slack.accepted()).toHaveLength(1);
    const [vm] = slack.accepted();
    expect(slackKind(vm!.text)).toBe('voicemail');
    expect(vm!.text).toContain('left while queue sales was closed (holiday: Christmas Day)');
    expect(blocksOf(0)).toContain('New voicemail (while closed)');
    await eventually(async () => {
      const e = (await events()).find((x) => x.type === 'voicemail' && x.callSid === r.callSid);
      expect(e).toMatchObject({ queue: 'sales', reason: 'closed', closed: 'holiday' });
    });
  });

  it('closed after hours: the queue’s own closed prompt from the file; a caller who leaves no message is missed "while closed"', async () => {
    await start();
    server.player.clock.ms = parseAt('2026-12-15T19:30', 'Europe/Berlin'); // Tuesday evening
    const r = await playInbound(server.player, { digits: '1', voicemailSeconds: 0 });
    const closed = r.replies[1]!;
    expect(closed.plays).toEqual([]);
    expect(says(closed)).toEqual(['Sales is closed right now. Please leave a message.']);
    expect(closed.record).toBeDefined();
    expect(await state(r.callSid)).toMatchObject({
      outcome: 'missed',
      closed: { reason: 'after-hours' },
    });
    await slack.waitForAccepted(1);
    expect(slack.accepted()[0]!.text).toMatch(
      /^❌ Missed call .* while queue sales was closed \(after hours\)/u,
    );

    // Support has no hours: at the same time it rings.
    const open = await playInbound(server.player, { digits: '2', answerInRound: 1 });
    expect(open.rounds).toEqual([[SIP.Bob, SIP.Carol]]);
  });

  it('closed by hand: PUT /api/hours/override closes support; the closed-now prompt, voicemail "closed by hand: reason"', async () => {
    await start();
    server.player.clock.ms = Date.now();
    const put = await api('PUT', '/hours/override', {
      queue: 'support',
      closed: true,
      reason: 'Team meeting',
    });
    expect(put.status).toBe(200);
    const r = await playInbound(server.player, { digits: '2', voicemailSeconds: 9 });
    expect(r.rounds).toEqual([]);
    expect(r.replies[1]?.plays).toEqual([`${BASE}/audio/closed-now.mp3`]);
    expect(await state(r.callSid)).toMatchObject({
      queue: 'support',
      outcome: 'voicemail',
      closed: { reason: 'manual', detail: 'Team meeting' },
    });
    await slack.waitForAccepted(1);
    expect(slack.accepted()[0]!.text).toContain(
      'while queue support was closed (closed by hand: Team meeting)',
    );

    // Opened again: the next caller rings.
    expect((await api('DELETE', '/hours/override?queue=support')).status).toBe(200);
    const again = await playInbound(server.player, { digits: '2', answerInRound: 1 });
    expect(again.rounds).toEqual([[SIP.Bob, SIP.Carol]]);
  });
});

/**
 * Two queues sharing Bob; no hours, so the real clock of the queue timers does not matter. Sales
 * has a wrap-up of its own (WRAP_UP_SECONDS is 0 in these tests).
 */
const SHARED = `
queues:
  sales: { agents: [alice, bob], wrapUpSeconds: 600 }
  support: { agents: [bob, carol], holdMusic: queue-welcome }
menu:
  options: { "1": sales, "2": support }
defaultQueue: support
`;

describe.each(['memory', 'redis'] as const)('two queues sharing an agent (%s)', (store) => {
  let servers: TestServer[] = [];
  let turn = 0;
  afterEach(async () => {
    for (const s of servers) await s.close();
    servers = [];
  });
  const start = async (env: Record<string, string> = {}) => {
    const keyPrefix = uniquePrefix();
    const opts = {
      store,
      keyPrefix,
      env: { API_TOKEN: TOKEN, PUBLIC_URL: BASE, ...env },
      deps: {
        callCenterTickMs: 50,
        callCenter: staticCallCenterSource(parseCallCenterFile(SHARED, 'shared.yaml')),
      },
    };
    servers.push(await startServer(opts));
    // Two replicas on one Redis: requests alternate between them, as behind a load balancer.
    if (store === 'redis') servers.push(await startServer(opts));
  };
  const next = () => servers[turn++ % servers.length]!;
  const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
  const post = async (path: string, params: Record<string, string>) => {
    const res = await postRaw(`${next().url}${path}`, form({ AccountSid: 'AC-test', ...params }));
    expect(res.status).toBe(200);
    return res.body;
  };
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${next().url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const app = () => servers[0]!.app;
  const agentState = (agent: string) => app().services.center.agentStates.get(agent);
  const dialTargets = (xml: string) =>
    [...xml.matchAll(/<Sip[^>]*>([^<]+)<\/Sip>/g)].map((m) => agentOf(m[1]!));
  const caller = (i: number) => ({ sid: `cc-${i}`, from: `+1312555${String(2000 + i)}` });

  /** A call arrives and the caller presses `digit` at the menu: the reply after the menu. */
  const call = async (i: number, digit: string) => {
    const first = await post('/texml/inbound', {
      CallSid: caller(i).sid,
      From: caller(i).from,
      To: '+18005550199',
    });
    expect(first).toContain(`<Gather input="dtmf" numDigits="1" timeout="5" action="${BASE}/texml/menu">`);
    return post('/texml/menu', { CallSid: caller(i).sid, From: caller(i).from, Digits: digit });
  };
  const leg = (i: number, agent: string, status: string, n = 1) =>
    post('/texml/status', {
      CallSid: `leg-${i}-${agent}-${n}`,
      ParentCallSid: caller(i).sid,
      From: caller(i).from,
      To: SIP[agent]!,
      CallStatus: status,
    });
  const callerStatus = (i: number, status: string) =>
    post('/texml/status', {
      CallSid: caller(i).sid,
      From: caller(i).from,
      To: '+18005550199',
      CallStatus: status,
    });
  const wait = (i: number) => post('/texml/queue/wait', { CallSid: caller(i).sid, From: caller(i).from });
  /** The agent talks to caller i and both hang up. */
  const talkAndEnd = async (i: number, agent: string, n = 1) => {
    await leg(i, agent, 'in-progress', n);
    await leg(i, agent, 'completed', n);
    await post('/texml/dial-result', {
      CallSid: caller(i).sid,
      DialCallStatus: 'completed',
      DialCallDuration: '20',
    });
    await callerStatus(i, 'completed');
  };
  const takeFromQueue = async (i: number): Promise<string[]> => {
    await eventually(async () => expect(await wait(i)).toContain('<Leave/>'), 5_000);
    return dialTargets(await post('/texml/queue/result', { CallSid: caller(i).sid, QueueResult: 'leave' }));
  };
  const line = async (queue: string) =>
    (await app().services.queue.store.list(queue, Date.now())).map((e) => [e.callSid, e.offeredTo ?? null]);

  it('Bob in wrap-up from a sales call is not offered a support caller; once his wrap-up ends he is', async () => {
    await start(); // WRAP_UP_SECONDS=0: the wrap-up is the sales queue's own
    // Alice and Carol on break: Bob is the only agent signed in, in both queues.
    for (const a of ['Alice', 'Carol'])
      expect((await api('PUT', `/agents/${a}/status`, { status: 'break' })).status).toBe(200);

    expect(dialTargets(await call(1, '1'))).toEqual(['Bob']); // sales: Bob (Alice is on break)
    await talkAndEnd(1, 'Bob');
    await eventually(async () => expect((await agentState('Bob')).state).toBe('wrap-up'));

    // A support caller: Bob is signed in but in wrap-up, so the caller waits instead of ringing him.
    const doc = await call(2, '2');
    expect(dialTargets(doc)).toEqual([]);
    expect(doc).toContain(`waitUrl="${BASE}/texml/queue/wait"`);
    expect(doc).toMatch(/<Enqueue [^>]*>support<\/Enqueue>/);
    // The queue's welcome prompt, once, before the line (docs/call-center-file.md).
    expect(doc).toContain(`<Play continueOnError="true">${BASE}/audio/queue-welcome.mp3</Play>`);
    const music = await wait(2);
    expect(music).not.toContain('<Leave/>');
    expect(music).toContain(`<Play continueOnError="true">${BASE}/audio/queue-welcome.mp3</Play>`); // support's own hold music
    expect(await app().services.queue.tick()).toBe(0); // the dispatch tick offers Bob nothing
    expect(await line('support')).toEqual([['cc-2', null]]);
    expect((await agentState('Bob')).state).toBe('wrap-up');

    // Bob ends his wrap-up: the support caller is his.
    expect((await api('POST', '/agents/Bob/wrap-up/end')).status).toBe(200);
    expect(await takeFromQueue(2)).toEqual(['Bob']);
    await talkAndEnd(2, 'Bob', 2);
    await eventually(async () => {
      const log = await app().services.center.events.read({ limit: 1000 });
      const of = (sid: string) =>
        log.flatMap((e) => ('callSid' in e && e.callSid === sid && 'queue' in e ? [[e.type, e.queue]] : []));
      expect(of('cc-1')).toEqual(
        expect.arrayContaining([
          ['enter-queue', 'sales'],
          ['connect', 'sales'],
        ]),
      );
      expect(of('cc-2')).toEqual(
        expect.arrayContaining([
          ['enter-queue', 'support'],
          ['offer', 'support'],
          ['connect', 'support'],
          ['complete', 'support'],
        ]),
      );
      // Bob's wrap-up after the sales call is the sales queue's.
      expect(log.find((e) => e.type === 'wrap-up-start' && e.callSid === 'cc-1')).toMatchObject({
        queue: 'sales',
      });
    });
  });

  it('a free shared agent takes the longest waiter of either queue, whichever queue it is in', async () => {
    await start();
    for (const a of ['Alice', 'Carol'])
      expect((await api('PUT', `/agents/${a}/status`, { status: 'break' })).status).toBe(200);
    expect(dialTargets(await call(1, '2'))).toEqual(['Bob']); // a support call: no wrap-up after it
    await leg(1, 'Bob', 'in-progress');
    await eventually(async () => expect((await agentState('Bob')).state).toBe('on-call'));

    // A support caller first, then a sales caller: both wait for Bob.
    expect(await call(2, '2')).toMatch(/<Enqueue [^>]*>support<\/Enqueue>/);
    expect(await call(3, '1')).toMatch(/<Enqueue [^>]*>sales<\/Enqueue>/);
    expect(await line('support')).toEqual([['cc-2', null]]);
    expect(await line('sales')).toEqual([['cc-3', null]]);

    // Bob's call ends (no wrap-up): the support caller waited longest, so it is theirs — though
    // sales comes first in the file and in Bob's queues.
    await leg(1, 'Bob', 'completed');
    await callerStatus(1, 'completed');
    expect(await takeFromQueue(2)).toEqual(['Bob']);
    expect(await line('sales')).toEqual([['cc-3', null]]); // still waiting, not offered
    await talkAndEnd(2, 'Bob', 2);
    // Then the sales caller.
    expect(await takeFromQueue(3)).toEqual(['Bob']);
    await talkAndEnd(3, 'Bob', 3);

    // /api/stats breaks the day down by queue.
    const today = new Date().toISOString().slice(0, 10);
    await eventually(async () => {
      const stats = (await api('GET', `/stats?date=${today}`)).body;
      const queues = stats.queues as Array<{ queue: string; offered: number; answered: number }>;
      expect(queues.find((q) => q.queue === 'sales')).toMatchObject({ offered: 1, answered: 1 });
      expect(queues.find((q) => q.queue === 'support')).toMatchObject({ offered: 2, answered: 2 });
    });
  });
});

describe('the call-center file changed on disk (hot reload, docs/call-center-file.md)', () => {
  let server: TestServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the next call follows the new file: a menu appears and routes by it (a bad change is refused: test/call-center/call-center-source.test.ts)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-cc-'));
    const path = join(dir, 'call-center.yaml');
    writeFileSync(path, 'queues:\n  support: { agents: ["*"] }\n');
    server = await startServer({ store: 'memory', env: { CALL_CENTER_CONFIG: path, PUBLIC_URL: BASE } });
    const inbound = async (sid: string) => {
      const res = await postRaw(
        `${server!.url}/texml/inbound`,
        new URLSearchParams({ CallSid: sid, From: '+13125550111', To: '+18005550199' }).toString(),
      );
      expect(res.status).toBe(200);
      return res.body;
    };
    expect(await inbound('hot-1')).toContain('<Dial');
    // The caller hangs up: the agents it rang are free again.
    await postRaw(
      `${server.url}/texml/status`,
      new URLSearchParams({ CallSid: 'hot-1', From: '+13125550111', CallStatus: 'completed' }).toString(),
    );
    await eventually(async () =>
      expect((await server!.app.services.center.agentStates.get('Bob')).state).toBe('idle'),
    );

    writeFileSync(path, FILE);
    await eventually(() => expect(server!.app.services.callCenter.current().menu).toBeDefined(), 10_000);
    expect(await inbound('hot-2')).toContain('<Gather');
    const menu = await postRaw(
      `${server.url}/texml/menu`,
      new URLSearchParams({ CallSid: 'hot-3', From: '+13125550111', Digits: '2' }).toString(),
    );
    expect([...menu.body.matchAll(/<Sip[^>]*>([^<]+)<\/Sip>/g)].map((m) => agentOf(m[1]!))).toEqual([
      'Bob',
      'Carol',
    ]);
  });
});
