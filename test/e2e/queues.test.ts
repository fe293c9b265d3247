import { afterEach, describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../../src/events/call-center-event.js';
import { FakeTelnyxApi, type RecordedTexmlCall } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { eventually, postRaw, startServer, type TestServer } from '../helper.js';
import { uniquePrefix } from '../setup/redis.js';

/**
 * Issue #15's first "Done when", end to end (docs/interface.md §5 and §7), driven by plain form
 * POSTs as Telnyx sends them (no simulator): three agents, ten callers arriving faster than they
 * can be served. In memory (one app), and on Redis with two replicas sharing one key prefix:
 * every request — of one call too — alternates between them, and every read of agent or queue
 * state is made on both replicas and must agree.
 *
 * Time is the apps' injected clock, frozen between steps and moved by the test (`at(s)`: s
 * seconds after the start), so every wait, talk and wrap-up is an exact number of seconds and the
 * KPIs below are worked out by hand from the script — never read back from the code that computes
 * them. Nothing is timed: each step waits (`eventually`) for its effects before the clock moves.
 */

const SIP: Record<string, string> = {
  Alice: 'sip:alice@sip.telnyx.com',
  Bob: 'sip:bob@sip.telnyx.com',
  Carol: 'sip:carol@sip.telnyx.com',
};
const AGENTS3 = Object.entries(SIP)
  .map(([name, sip]) => `${name}=${sip}`)
  .join(',');
const TOKEN = 'queue-test-token-0123456789';
const HOTLINE = '+18005550199';
const PUBLIC = 'https://sb.example.com';
const WRAP_UP = 10;

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** A zone where the scenario's four minutes stay inside one local day (UTC unless near midnight). */
const zoneFor = (ms: number) => {
  const hour = new Date(ms).getUTCHours();
  return hour >= 1 && hour <= 22 ? 'UTC' : 'Asia/Tokyo';
};
const localDay = (ms: number, timeZone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    ms,
  );

describe.each(['memory', 'redis'] as const)('queues end to end (%s)', (store) => {
  let servers: TestServer[] = [];
  let telnyx: FakeTelnyxApi | undefined;
  let turn = 0;
  /** The apps' clock (epoch ms), shared by both replicas. */
  let clock = 0;
  let t0 = 0;
  let zone = 'UTC';
  afterEach(async () => {
    for (const s of servers) await s.close();
    servers = [];
    await telnyx?.close();
    telnyx = undefined;
  });

  /** Moves the clock to `s` seconds after the start. */
  const at = (s: number) => {
    expect(t0 + s * 1000).toBeGreaterThanOrEqual(clock);
    clock = t0 + s * 1000;
  };

  const start = async () => {
    t0 = Math.floor(Date.now() / 1000) * 1000;
    clock = t0;
    zone = zoneFor(t0);
    telnyx = await FakeTelnyxApi.start();
    const keyPrefix = uniquePrefix();
    const opts = () => ({
      store,
      keyPrefix,
      env: {
        AGENTS: AGENTS3,
        API_TOKEN: TOKEN,
        ROUTING_STRATEGY: 'longest-idle',
        STICKY_ROUTING: 'false',
        WRAP_UP_SECONDS: String(WRAP_UP),
        MAX_NO_ANSWER: '3',
        DIAL_ATTEMPTS: '5',
        SERVICE_LEVEL_SECONDS: '20',
        SHORT_ABANDON_SECONDS: '5',
        TZ: zone,
        PUBLIC_URL: PUBLIC,
        HOTLINE_NUMBER: HOTLINE,
        TELNYX_API_KEY: telnyx!.apiKey,
        TELNYX_API_BASE_URL: telnyx!.baseUrl,
        TELNYX_CONNECTION_ID: 'conn-queues',
      },
      deps: {
        now: () => clock,
        callCenterTickMs: 50,
        telnyx: createTelnyxClient({ apiKey: telnyx!.apiKey, baseUrl: telnyx!.baseUrl, maxRetries: 0 }),
        queueSettings: { announceSeconds: 30, callbackAfterSeconds: 30 },
      },
    });
    servers.push(await startServer(opts()));
    if (store === 'redis') servers.push(await startServer(opts()));
  };
  /** The next replica (round robin), as a load balancer without affinity would pick. */
  const next = () => servers[turn++ % servers.length]!;
  const post = async (path: string, params: Record<string, string>) => {
    const res = await postRaw(`${next().url}${path}`, form({ AccountSid: 'AC-test', ...params }));
    expect(res.status, res.body).toBe(200);
    return res.body;
  };
  const apiOn = async (server: TestServer, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return {
      status: res.status,
      text,
      body: (res.headers.get('content-type')?.includes('application/json') ? JSON.parse(text) : {}) as Record<
        string,
        unknown
      >,
    };
  };
  const api = (method: string, path: string, body?: unknown) => apiOn(next(), method, path, body);
  /** The same read on every replica: they must agree; returns the answer. */
  const everywhere = async <T>(read: (s: TestServer) => Promise<T>): Promise<T> => {
    const answers = await Promise.all(servers.map(read));
    for (const a of answers.slice(1)) expect(a).toEqual(answers[0]);
    return answers[0]!;
  };
  const dialTargets = (xml: string) => [...xml.matchAll(/<Sip[^>]*>([^<]+)<\/Sip>/g)].map((m) => m[1]!);
  const agentOf = (sip: string) => Object.keys(SIP).find((n) => SIP[n] === sip)!;

  const caller = (i: number) => ({ sid: `call-${i}`, from: `+1312555${String(1000 + i)}` });
  const inbound = (i: number) =>
    post('/texml/inbound', { CallSid: caller(i).sid, From: caller(i).from, To: HOTLINE });
  const leg = (i: number, agent: string, status: string, n: number) =>
    post('/texml/status', {
      CallSid: `leg-${i}-${agent}-${n}`,
      ParentCallSid: caller(i).sid,
      From: caller(i).from,
      To: SIP[agent]!,
      CallStatus: status,
    });
  const callerStatus = (i: number, status: string) =>
    post('/texml/status', { CallSid: caller(i).sid, From: caller(i).from, To: HOTLINE, CallStatus: status });
  const wait = (i: number) => post('/texml/queue/wait', { CallSid: caller(i).sid, From: caller(i).from });
  const events = (): Promise<LoggedEvent[]> =>
    everywhere((s) => s.app.services.center.events.read({ limit: 10_000 }));
  const logged = async (check: (e: LoggedEvent) => boolean) =>
    eventually(async () => {
      const found = (await events()).find(check);
      expect(found).toBeDefined();
      return found!;
    });
  const state = (agent: string) => everywhere((s) => s.app.services.center.agentStates.get(agent));
  const inState = (agent: string, expected: string) =>
    eventually(async () => expect((await state(agent)).state).toBe(expected));
  const line = () =>
    everywhere(async (s) =>
      (await s.app.services.queue.store.list('support', clock)).map((e) => ({
        sid: e.callSid,
        callback: e.callback !== undefined,
        offeredTo: e.offeredTo,
      })),
    );
  const queuesView = () =>
    everywhere(async (s) => {
      const res = await apiOn(s, 'GET', '/queues');
      expect(res.status).toBe(200);
      return (res.body.queues as Array<Record<string, unknown>>).map((q) => ({
        ...q,
        callers: (q.callers as Array<Record<string, unknown>>).map((c) => [
          c.callSid,
          c.position,
          c.waitSeconds,
          c.callbackRequested,
          c.offeredTo,
        ]),
        agents: undefined,
      }));
    });

  /** Call updates seen so far per caller (an offer that rang out is moved again next time). */
  const moved = new Map<number, number>();
  /** The caller is offered to a free agent: its next wait fetch leaves, the action dials. */
  const takeFromQueue = async (i: number): Promise<string> => {
    // Through Telnyx's call-update API (a new update recorded by the fake API), or `<Leave/>` on
    // the next fetch.
    const updates = () => telnyx!.requestsTo(new RegExp(`/Calls/${caller(i).sid}$`), 'POST').length;
    const before = moved.get(i) ?? 0;
    await eventually(async () => {
      if (updates() > before) return;
      expect(await wait(i)).toContain('<Leave/>');
    }, 15_000);
    moved.set(i, updates());
    const doc = await post('/texml/queue/result', { CallSid: caller(i).sid, QueueResult: 'leave' });
    const targets = dialTargets(doc);
    expect(targets).toHaveLength(1);
    return agentOf(targets[0]!);
  };
  /** `agent` picks up call `i`: `connect` is logged and the agent is on the call. */
  const answer = async (i: number, agent: string, n: number) => {
    await leg(i, agent, 'in-progress', n);
    await logged((e) => e.type === 'connect' && e.callSid === caller(i).sid);
    await inState(agent, 'on-call');
  };
  /** Call `i` ends (the agent's leg, the Dial, the caller): `complete`, and the agent's wrap-up. */
  const hangUp = async (i: number, agent: string, n: number, talk: number) => {
    await leg(i, agent, 'completed', n);
    await post('/texml/dial-result', {
      CallSid: caller(i).sid,
      DialCallStatus: 'completed',
      DialCallDuration: String(talk),
    });
    await callerStatus(i, 'completed');
    await logged((e) => e.type === 'complete' && e.callSid === caller(i).sid);
    await logged((e) => e.type === 'wrap-up-start' && e.callSid === caller(i).sid);
    await inState(agent, 'wrap-up');
  };
  /** The callback call's first leg (the agent's phone), as Telnyx reports it. */
  const agentLeg = (call: RecordedTexmlCall, status: string) =>
    post('/texml/status', {
      CallSid: call.callSid,
      From: HOTLINE,
      To: String(call.body.To),
      CallStatus: status,
    });
  /** The customer leg the `/texml/outbound` reply dialled. */
  const customerLeg = (call: RecordedTexmlCall, to: string, status: string) =>
    post('/texml/status', {
      CallSid: `${call.callSid}-customer`,
      ParentCallSid: call.callSid,
      From: HOTLINE,
      To: to,
      CallStatus: status,
    });

  it('three agents, ten callers: no agent rung while busy, join order kept, positions announced, a callback keeps its place, ring-outs pause an agent, KPIs and log match', async () => {
    await start();
    const { body: agentList } = await api('GET', '/agents');
    expect((agentList.agents as Array<{ state: string }>).map((a) => a.state)).toEqual([
      'idle',
      'idle',
      'idle',
    ]);

    // Callers 1..10 arrive one a second (t = 0..9). 1–3 ring one free agent each (longest idle);
    // 4–10 find every agent offered a call and queue, positions 1..7.
    const first = new Map<string, number>(); // agent → the call they took at t = 0..2
    for (let i = 1; i <= 10; i++) {
      at(i - 1);
      const doc = await inbound(i);
      if (i <= 3) {
        const [target] = dialTargets(doc);
        const agent = agentOf(target!);
        expect(first.has(agent)).toBe(false); // never an agent already offered a call
        first.set(agent, i);
        await inState(agent, 'offered');
      } else {
        expect(dialTargets(doc)).toEqual([]);
        expect(doc).toContain(`<Enqueue action="${PUBLIC}/texml/queue/result"`);
        expect(doc).toContain(`waitUrl="${PUBLIC}/texml/queue/wait"`);
      }
    }
    expect([...first.keys()].sort()).toEqual(['Alice', 'Bob', 'Carol']);
    const callOf = (agent: string) => first.get(agent)!;
    const agentFor = (i: number) => [...first].find(([, c]) => c === i)![0];

    // t = 9: positions 1..7 in join order, each with an estimate (no call finished yet: 180 s a
    // call, shared by the 3 agents signed in → position × 1 minute).
    for (let i = 4; i <= 10; i++) {
      const p = i - 3;
      expect(await wait(i)).toContain(
        `You are number ${p} in line. Your wait is about ${p === 1 ? 'one minute' : `${p} minutes`}.`,
      );
    }
    const music = await wait(7);
    expect(music).toContain(
      '<Play continueOnError="true">https://sb.example.com/audio/hold-music.mp3</Play>',
    );
    expect(music).not.toContain('<Gather'); // no "press 1" before callbackAfterSeconds (30)

    // t = 10: the three agents answer (waits 10, 9, 8 s: within the 20 s service level).
    at(10);
    for (const i of [1, 2, 3]) await answer(i, agentFor(i), 1);

    // t = 20: caller 10 gives up after 11 s, 7th in line.
    at(20);
    await callerStatus(10, 'completed');
    expect(await logged((e) => e.type === 'abandon')).toMatchObject({
      callSid: 'call-10',
      wait: 11,
      position: 7,
    });

    // t = 30: caller 7 has waited 24 s: still no "press 1".
    at(30);
    expect(await wait(7)).not.toContain('<Gather');
    expect(await wait(4)).not.toContain('<Leave/>'); // nobody free: nobody rung

    // t = 40: caller 7 (34 s, 4th) presses 1 and hangs up; the callback keeps its place.
    at(40);
    const offer = await wait(7);
    expect(offer).toContain(`<Gather action="${PUBLIC}/texml/queue/callback" numDigits="1"`);
    expect(offer).toContain('You are number 4 in line. Your wait is about 4 minutes.');
    const confirmed = await post('/texml/queue/callback', {
      CallSid: caller(7).sid,
      From: caller(7).from,
      Digits: '1',
    });
    expect(confirmed).toContain('call you back');
    expect(confirmed).toContain('<Hangup/>');
    expect(await post('/texml/queue/result', { CallSid: caller(7).sid, QueueResult: 'hangup' })).toContain(
      '<Hangup/>',
    );
    await callerStatus(7, 'completed');
    // Callers behind it keep their numbers: the callback still counts ahead of them.
    expect(await wait(8)).toContain('You are number 5 in line.');
    expect(await wait(9)).toContain('You are number 6 in line.');
    expect(await queuesView()).toEqual([
      {
        name: 'support',
        waiting: 6,
        callbacks: 1,
        offered: 0,
        longestWaitSeconds: 37,
        callers: [
          ['call-4', 1, 37, false, null],
          ['call-5', 2, 36, false, null],
          ['call-6', 3, 35, false, null],
          ['call-7', 4, 34, true, null],
          ['call-8', 5, 33, false, null],
          ['call-9', 6, 32, false, null],
        ],
        agents: undefined,
        agentsByStatus: { available: 3, break: 0, offline: 0 },
        agentsByState: { idle: 0, offered: 0, 'on-call': 3, 'wrap-up': 0 },
        today: {
          date: localDay(clock, zone),
          offered: 10,
          answered: 3,
          abandoned: 1,
          answeredWithinServiceLevel: 3,
          serviceLevel: 0.75, // 3 ÷ (3 answered + 1 abandoned)
          longestWait: 34, // the callback request (abandon: 11, answers: ≤ 10)
          callbacks: { requested: 1, connected: 0, failed: 0 },
        },
      },
    ]);
    // The caller who asked to be called back is no missed call.
    await eventually(async () =>
      expect(((await api('GET', '/calls/call-7')).body.call as { outcome: string }).outcome).toBe('callback'),
    );

    // t = 50: Alice's call ends (talk 40 s): wrap-up until t = 60, not offered meanwhile.
    at(50);
    await hangUp(callOf('Alice'), 'Alice', 1, 40);
    expect(await wait(4)).not.toContain('<Leave/>');
    expect((await line()).every((e) => e.offeredTo === undefined)).toBe(true);

    // t = 60, 72, 84: Alice is offered the head of the line and lets it ring out (12 s) three
    // times; each caller goes back to the same place. The third ring-out (t = 96) puts her on break.
    at(60);
    const order = ['call-4', 'call-5', 'call-6', 'call-7', 'call-8', 'call-9'];
    for (let n = 1; n <= 3; n++) {
      const offered = await eventually(async () => {
        const e = (await line()).find((x) => x.offeredTo === 'Alice');
        expect(e).toBeDefined();
        return Number(e!.sid.slice(5));
      });
      expect([4, 5]).toContain(offered); // the longest waiting (4, or 5 while 4 is still offered)
      expect(await takeFromQueue(offered)).toBe('Alice');
      at(60 + 12 * n);
      await leg(offered, 'Alice', 'no-answer', n);
      const back = await post('/texml/dial-result', {
        CallSid: caller(offered).sid,
        DialCallStatus: 'no-answer',
      });
      expect(back).toContain('<Enqueue'); // back in line
      expect((await line()).map((e) => e.sid)).toEqual(order); // at the same place
      await logged((e) => e.type === 'no-answer' && e.at === clock);
    }
    await eventually(async () => expect((await state('Alice')).status).toBe('break'));
    expect((await state('Alice')).reason).toBe('no-answer');
    expect(await wait(4)).toContain('You are number 1 in line.'); // waited 93 s: announced again

    // t = 100: Bob's and Carol's calls end (talk 90 s); at t = 110 their wrap-ups end and they get
    // callers 4 and 5, in join order — never Alice, on break.
    at(100);
    for (const agent of ['Bob', 'Carol']) await hangUp(callOf(agent), agent, 1, 90);
    at(110);
    const servedBy = new Map<number, string>();
    for (const i of [4, 5]) servedBy.set(i, await takeFromQueue(i));
    expect(new Set(servedBy.values())).toEqual(new Set(['Bob', 'Carol']));
    const agentOf4 = servedBy.get(4)!;
    const agentOf5 = servedBy.get(5)!;

    // t = 125: both answer (waits 122 and 121 s); caller 6 is now first.
    at(125);
    await answer(4, agentOf4, 7);
    await answer(5, agentOf5, 7);
    expect(await wait(6)).toContain('You are number 1 in line.'); // waited 120 s: announced

    // t = 130: a supervisor sets Alice available: caller 6 is hers; she answers at t = 135 (130 s).
    at(130);
    expect((await api('PUT', '/agents/Alice/status', { status: 'available' })).status).toBe(200);
    expect(await takeFromQueue(6)).toBe('Alice');
    at(135);
    await answer(6, 'Alice', 9);

    // t = 140: call 4 ends (15 s). At t = 150 its agent is free: the callback, next in line, is
    // theirs — ahead of callers 8 and 9, who joined after it. It rings the agent first.
    at(140);
    await hangUp(4, agentOf4, 7, 15);
    at(150);
    const dialled = await telnyx!.waitForCreatedCall(() => true, { from: 0, timeoutMs: 8_000 });
    expect(dialled.body).toMatchObject({ From: HOTLINE, To: SIP[agentOf4], Url: `${PUBLIC}/texml/outbound` });
    expect(await logged((e) => e.type === 'callback-attempt')).toMatchObject({
      callSid: 'call-7',
      agent: agentOf4,
      attempt: 1,
      at: clock,
    });
    expect(await line()).toEqual([
      { sid: 'call-7', callback: true, offeredTo: agentOf4 },
      { sid: 'call-8', callback: false, offeredTo: undefined },
      { sid: 'call-9', callback: false, offeredTo: undefined },
    ]);
    expect(await wait(8)).not.toContain('<Leave/>');
    expect(telnyx!.texmlCalls).toHaveLength(1);

    // t = 155: the agent picks up; Telnyx fetches the call's Url, which dials caller 7.
    at(155);
    await agentLeg(dialled, 'in-progress');
    const outbound = await post('/texml/outbound', {
      CallSid: dialled.callSid,
      From: HOTLINE,
      To: String(dialled.body.To),
    });
    expect(outbound).toContain(`<Dial callerId="${HOTLINE}"`);
    expect(outbound).toContain(`>${caller(7).from}</Number>`);
    await inState(agentOf4, 'on-call');
    // t = 160: caller 7 answers: out of the line, 154 s after first joining.
    at(160);
    await customerLeg(dialled, caller(7).from, 'in-progress');
    expect(await logged((e) => e.type === 'callback-connected')).toMatchObject({
      callSid: 'call-7',
      agent: agentOf4,
      wait: 154,
    });
    expect((await line()).map((e) => e.sid)).toEqual(['call-8', 'call-9']);

    // t = 165: call 5 ends (40 s). t = 170: call 6 ends (35 s); Alice ends her wrap-up early at
    // t = 172 and gets caller 8; at t = 175 call 5's agent is free and gets caller 9.
    at(165);
    await hangUp(5, agentOf5, 7, 40);
    at(170);
    await hangUp(6, 'Alice', 9, 35);
    at(172);
    expect((await api('POST', '/agents/Alice/wrap-up/end')).body).toMatchObject({ state: 'idle' });
    expect((await api('POST', '/agents/Alice/wrap-up/end')).status).toBe(409);
    expect((await api('PUT', '/agents/Nobody/status', { status: 'break' })).status).toBe(404);
    expect(await takeFromQueue(8)).toBe('Alice');
    at(175);
    expect(await takeFromQueue(9)).toBe(agentOf5);

    // t = 180: both answer (waits 173 and 172 s).
    at(180);
    await answer(8, 'Alice', 7);
    await answer(9, agentOf5, 7);

    // t = 200: the callback ends (talk 40 s); its agent's wrap-up runs to t = 210.
    at(200);
    await customerLeg(dialled, caller(7).from, 'completed');
    await post('/texml/dial-result', {
      CallSid: dialled.callSid,
      DialCallStatus: 'completed',
      DialCallDuration: '40',
    });
    await agentLeg(dialled, 'completed');
    await logged((e) => e.type === 'complete' && e.callSid === 'call-7');
    await inState(agentOf4, 'wrap-up');
    at(210);
    await inState(agentOf4, 'idle');

    // t = 220: calls 8 and 9 end (40 s each); t = 230: every wrap-up is over.
    at(220);
    await hangUp(8, 'Alice', 7, 40);
    await hangUp(9, agentOf5, 7, 40);
    at(230);
    for (const agent of ['Alice', 'Bob', 'Carol']) await inState(agent, 'idle');

    // ---- The event log agrees with what happened, on every replica and in the export. ----
    // The last wrap-up ends are appended just after the state commits: wait for all nine.
    const log = await eventually(async () => {
      const all = await events();
      expect(all.filter((e) => e.type === 'wrap-up-end')).toHaveLength(9);
      return all;
    });
    const exported = await everywhere(async (s) => {
      const res = await apiOn(s, 'GET', '/events?limit=10000');
      expect(res.status).toBe(200);
      return res.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as LoggedEvent);
    });
    expect(exported).toEqual(log);
    const s = (sec: number) => t0 + sec * 1000;
    const of = <T extends LoggedEvent['type']>(type: T) =>
      log.filter((e): e is Extract<LoggedEvent, { type: T }> => e.type === type);
    expect(of('enter-queue').map((e) => [e.callSid, e.position, e.at])).toEqual(
      expect.arrayContaining([
        ['call-1', 1, s(0)],
        ['call-2', 1, s(1)],
        ['call-3', 1, s(2)],
        ...[4, 5, 6, 7, 8, 9, 10].map((i) => [`call-${i}`, i - 3, s(i - 1)]),
      ]),
    );
    expect(of('enter-queue')).toHaveLength(10);
    // Served in join order: the callback (7) in its place, between 6 and 8.
    expect(
      log.flatMap((e) =>
        e.type === 'connect' || e.type === 'callback-connected' ? [[e.callSid, e.agent, e.wait, e.at]] : [],
      ),
    ).toEqual([
      ...[1, 2, 3].map((i) => [`call-${i}`, agentFor(i), 10 - (i - 1), s(10)]),
      ['call-4', agentOf4, 122, s(125)],
      ['call-5', agentOf5, 121, s(125)],
      ['call-6', 'Alice', 130, s(135)],
      ['call-7', agentOf4, 154, s(160)],
      ['call-8', 'Alice', 173, s(180)],
      ['call-9', agentOf5, 172, s(180)],
    ]);
    expect(of('no-answer').map((e) => [e.agent, e.at])).toEqual([
      ['Alice', s(72)],
      ['Alice', s(84)],
      ['Alice', s(96)],
    ]);
    expect(of('status-change').map((e) => [e.agent, e.from, e.to, e.by, e.at])).toEqual([
      ['Alice', 'available', 'break', 'system', s(96)],
      ['Alice', 'break', 'available', 'supervisor', s(130)],
    ]);
    expect(of('abandon').map((e) => [e.callSid, e.wait, e.position])).toEqual([['call-10', 11, 7]]);
    expect(of('callback-requested').map((e) => [e.callSid, e.wait, e.position, e.at])).toEqual([
      ['call-7', 34, 4, s(40)],
    ]);
    expect(of('callback-attempt')).toHaveLength(1);
    expect(of('callback-failed')).toHaveLength(0);
    const talks: Record<string, number> = {
      [`call-${callOf('Alice')}`]: 40,
      [`call-${callOf('Bob')}`]: 90,
      [`call-${callOf('Carol')}`]: 90,
      'call-4': 15,
      'call-5': 40,
      'call-6': 35,
      'call-7': 40,
      'call-8': 40,
      'call-9': 40,
    };
    expect(Object.fromEntries(of('complete').map((e) => [e.callSid, e.talk]))).toEqual(talks);
    expect(of('complete')).toHaveLength(9);
    // Every wrap-up lasts WRAP_UP_SECONDS, but Alice's after call 6 (ended by her after 2 s).
    const wrapStarts = new Map(of('wrap-up-start').map((e) => [`${e.agent}/${e.callSid}`, e.at]));
    expect(
      of('wrap-up-end').map((e) => [
        e.agent,
        e.callSid,
        (e.at - wrapStarts.get(`${e.agent}/${e.callSid}`)!) / 1000,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['Alice', `call-${callOf('Alice')}`, WRAP_UP],
        ['Bob', `call-${callOf('Bob')}`, WRAP_UP],
        ['Carol', `call-${callOf('Carol')}`, WRAP_UP],
        [agentOf4, 'call-4', WRAP_UP],
        [agentOf5, 'call-5', WRAP_UP],
        ['Alice', 'call-6', 2],
        [agentOf4, 'call-7', WRAP_UP],
        ['Alice', 'call-8', WRAP_UP],
        [agentOf5, 'call-9', WRAP_UP],
      ]),
    );
    expect(of('wrap-up-start')).toHaveLength(9);
    expect(of('wrap-up-end')).toHaveLength(9);
    // Nobody was ever rung while offered another call, on one, in wrap-up or on break: from the
    // log alone, each agent's offers alternate with the end of that offer (ring-out or wrap-up end).
    const engaged = new Map<string, string>();
    const onBreak = new Set<string>();
    for (const e of log) {
      if (e.type === 'offer' || e.type === 'callback-attempt') {
        expect(engaged.get(e.agent), `${e.agent} rung for ${e.callSid} while busy`).toBeUndefined();
        expect(onBreak.has(e.agent), `${e.agent} rung on break`).toBe(false);
        engaged.set(e.agent, e.callSid);
      } else if (e.type === 'no-answer' || e.type === 'wrap-up-end') {
        expect(engaged.get(e.agent)).toBe(e.callSid);
        engaged.delete(e.agent);
      } else if (e.type === 'status-change') {
        if (e.to === 'available') onBreak.delete(e.agent);
        else onBreak.add(e.agent);
      }
    }
    expect(engaged.size).toBe(0);

    // ---- The KPIs, worked out by hand from the script above. ----
    // Answered: 1, 2, 3 (waits 10, 9, 8), 4 (122), 5 (121), 6 (130), 8 (173), 9 (172): 8, three
    // within 20 s. ASA = 745 / 8 = 93.1 → 93. Abandoned: 10 (11 s ≥ 5 s). Service level =
    // 3 / (8 + 1) = 0.3333. Callback: 7, requested and connected. Talk of the 9 completed calls:
    // 40 + 90 + 90 + 15 + 40 + 35 + 40 + 40 + 40 = 430 → 47.8 → 48; wrap-ups 8 × 10 + 2 = 82, so
    // AHT = (430 + 82) / 9 = 56.9 → 57. Longest wait: caller 8, 173 s.
    const today = localDay(clock, zone);
    const stats = await everywhere(async (srv) => {
      const res = await apiOn(srv, 'GET', `/stats?date=${today}&tz=${encodeURIComponent(zone)}`);
      expect(res.status).toBe(200);
      return res.body;
    });
    expect(stats.queues).toEqual([
      {
        queue: 'support',
        offered: 10,
        answered: 8,
        answeredWithinServiceLevel: 3,
        abandoned: 1,
        shortAbandoned: 0,
        timedOut: 0,
        closed: 0,
        voicemails: 0,
        closedOnArrival: 0,
        callbacks: { requested: 1, connected: 1, failed: 0 },
        noAnswers: 3,
        serviceLevel: 0.3333,
        averageSpeedOfAnswer: 93,
        averageTalkTime: 48,
        averageHandleTime: 57,
        longestWait: 173,
      },
    ]);
    // Per agent. Alice: offered her first call, 3 ring-outs, 6 and 8; talk 40 + 35 + 40 = 115,
    // wrap-up 10 + 2 + 10 = 22, AHT 137 / 3 = 45.7 → 46; busy = 115 + 22.
    // The agent of call 4: first call (90 s), 4 (15 s), the callback (40 s, from its connect);
    // wrap-ups 30; AHT 175 / 3 = 58.3 → 58. The agent of call 5: 90 + 40 + 40 = 170 s, wrap-ups
    // 30; AHT 200 / 3 = 66.7 → 67.
    const agents = Object.fromEntries(
      (stats.agents as Array<Record<string, unknown>>).map(
        ({ agent, loggedInSeconds, occupancy, ...rest }) => [agent, rest],
      ),
    );
    expect(agents).toEqual({
      Alice: {
        offered: 6,
        answered: 3,
        callbacks: 0,
        noAnswers: 3,
        talkSeconds: 115,
        wrapUpSeconds: 22,
        averageHandleTime: 46,
        busySeconds: 137,
      },
      [agentOf4]: {
        offered: 3,
        answered: 2,
        callbacks: 1,
        noAnswers: 0,
        talkSeconds: 145,
        wrapUpSeconds: 30,
        averageHandleTime: 58,
        busySeconds: 175,
      },
      [agentOf5]: {
        offered: 3,
        answered: 3,
        callbacks: 0,
        noAnswers: 0,
        talkSeconds: 170,
        wrapUpSeconds: 30,
        averageHandleTime: 67,
        busySeconds: 200,
      },
    });
    // The call records say the same (a separate computation, docs/interface.md §6): offered 10 =
    // 8 answered + 1 abandoned + 1 callback; ASA 93; AHT here is talk alone over the 8 answered
    // inbound calls: (40 + 90 + 90 + 15 + 40 + 35 + 40 + 40) / 8 = 48.75 → 49.
    expect(stats).toMatchObject({
      offered: 10,
      answered: 8,
      abandoned: 1,
      shortAbandoned: 0,
      missed: 0,
      voicemails: 0,
      callbacks: 1,
      answeredWithinServiceLevel: 3,
      serviceLevel: 0.3333,
      averageSpeedOfAnswer: 93,
      averageHandleTime: 49,
      longestWait: 173,
    });

    // The live view: nobody waiting, everyone idle and available, today's numbers as above.
    expect(await queuesView()).toEqual([
      {
        name: 'support',
        waiting: 0,
        callbacks: 0,
        offered: 0,
        longestWaitSeconds: 0,
        callers: [],
        agents: undefined,
        agentsByStatus: { available: 3, break: 0, offline: 0 },
        agentsByState: { idle: 3, offered: 0, 'on-call': 0, 'wrap-up': 0 },
        today: {
          date: today,
          offered: 10,
          answered: 8,
          abandoned: 1,
          answeredWithinServiceLevel: 3,
          serviceLevel: 0.3333,
          longestWait: 173,
          callbacks: { requested: 1, connected: 1, failed: 0 },
        },
      },
    ]);
  });
});
