import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_PREFIX } from '../../src/redis.js';
import { createRedisRoutingStore } from '../../src/routing/redis-routing-store.js';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { type InboundScript, playInbound } from '../../src/simulator/scenarios.js';
import { type Exchange, newCallSid, readTexml, TelnyxPlayer } from '../../src/simulator/telnyx-player.js';
import { AGENTS, eventually } from '../helper.js';
import { redisUrl } from '../setup/redis.js';
import { freePort } from '../setup/redis-server.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { seededRandom } from '../support/seeded-random.js';
import { slackEvents, slackKind } from '../support/slack-kind.js';

/**
 * The "several replicas" proof (docs/interface.md §3 "Duplicates and disorder", §4, §5): three
 * real server processes on one Redis (a database of the test Redis of their own). Every request of every call goes to a random
 * replica; the callbacks between two TeXML requests are repeated at random and delivered shuffled
 * and concurrently, the way Telnyx's webhooks may arrive. Afterwards each call must have its
 * scripted final state, each Slack message must have arrived exactly once (in order per call),
 * each answered call must have counted once in the caller's history, and each per-second job slot
 * must have run on one replica only.
 */

const ENTRY = fileURLToPath(new URL('./replica-server.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'replicas-test-token-0123456789';
const SIP_TO_NAME: Record<string, string> = {
  'sip:alice@sip.telnyx.com': 'Alice',
  'sip:bob@sip.telnyx.com': 'Bob',
  'sip:carol@sip.telnyx.com': 'Carol',
};

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with REPLICAS_SEED. */

interface Replica {
  url: string;
  child: ChildProcess;
  /** The last chunks of its log (pino writes to stdout) and stderr, for failure messages. */
  output: string[];
}

/** Starts `replica-server.ts` as a child process with exactly `env` (plus PATH/HOME). */
async function spawnReplica(env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stderr?.on('data', keep);
  child.stdout?.on('data', keep);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`replica did not start:\n${output.join('')}`));
    }, 60_000);
    const onData = () => {
      const m = /\{"port":(\d+)\}/.exec(output.join(''));
      if (!m) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve(Number(m[1]));
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited with ${code}:\n${output.join('')}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, child, output };
}

/** SIGTERM (graceful close), then SIGKILL if it takes longer than 10 s. */
async function stopReplica(r: Replica): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  const exited = new Promise((resolve) => r.child.once('exit', resolve));
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const CALLBACK = /^\/texml\/(status|recording)(\?|$)/;

/**
 * Telnyx behind a load balancer that has no affinity: every request goes to a random replica.
 * Callbacks (status and recording) are held back until the call's next TeXML request (or
 * `flush()`), then delivered shuffled, some of them twice, a few at a time concurrently. TeXML
 * requests stay in call order, since Telnyx waits on their replies.
 */
class ScatteringPlayer extends TelnyxPlayer {
  private held: Array<{ path: string; params: Record<string, string> }> = [];
  readonly failures: Exchange[] = [];
  /** Requests sent per replica URL. */
  readonly served = new Map<string, number>();

  constructor(
    private readonly replicas: string[],
    private readonly rng: () => number,
    private readonly duplicateChance = 0.35,
  ) {
    // 5 ms of real time per simulated second: a caller waiting in the queue (3,600 simulated
    // seconds at most, 18 s here) waits as long as the replicas' real-time holds — an agent's
    // other call, the 1 s tick, a sticky hold of STICKY_RING_SECONDS — instead of running out
    // of simulated time in the few hundred milliseconds its wait documents take to fetch.
    super({ baseUrl: replicas[0] as string, paceMs: 5 });
  }

  override async post(pathOrUrl: string, params: Record<string, string>): Promise<Exchange> {
    const path = /^https?:\/\//i.test(pathOrUrl)
      ? (() => {
          const u = new URL(pathOrUrl);
          return u.pathname + u.search;
        })()
      : pathOrUrl;
    if (CALLBACK.test(path)) {
      this.held.push({ path, params });
      return { path, params, status: 200, body: '' };
    }
    await this.flush();
    return this.send(path, params);
  }

  /** Delivers every held callback: duplicated, shuffled, in small concurrent bursts. */
  async flush(): Promise<void> {
    const batch = this.held.flatMap((x) => (this.rng() < this.duplicateChance ? [x, x] : [x]));
    this.held = [];
    for (let i = batch.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      [batch[i], batch[j]] = [batch[j]!, batch[i]!];
    }
    while (batch.length) {
      const burst = batch.splice(0, 1 + Math.floor(this.rng() * 3));
      await Promise.all(
        burst.map(async (x) => {
          const res = await this.send(x.path, x.params);
          if (res.status !== 200) this.failures.push(res);
        }),
      );
    }
  }

  private async send(path: string, params: Record<string, string>): Promise<Exchange> {
    const replica = this.replicas[Math.floor(this.rng() * this.replicas.length)] as string;
    this.served.set(replica, (this.served.get(replica) ?? 0) + 1);
    const res = await fetch(`${replica}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    return { path, params, status: res.status, body: await res.text() };
  }
}

type Plan = { name: string; script: InboundScript; outcome: string; alerts: string[] };

const PLANS: Plan[] = [
  {
    name: 'answered',
    script: { answerInRound: 1, answerAfter: 6, talkSeconds: 40 },
    outcome: 'answered',
    alerts: ['incoming', 'answered', 'completed'],
  },
  {
    name: 'second-round',
    script: { answerInRound: 2, answerAfter: 4, talkSeconds: 25 },
    outcome: 'answered',
    alerts: ['incoming', 'answered', 'completed'],
  },
  {
    name: 'voicemail',
    script: { voicemailSeconds: 12 },
    outcome: 'voicemail',
    alerts: ['incoming', 'voicemail'],
  },
  { name: 'missed', script: { voicemailSeconds: 0 }, outcome: 'missed', alerts: ['incoming', 'missed'] },
  { name: 'abandoned', script: { hangUpAfter: 7 }, outcome: 'abandoned', alerts: ['incoming', 'abandoned'] },
];

interface Played {
  plan: Plan;
  from: string;
  callSid: string;
  /** Name of the agent who answered (the player answers with the round's first target). */
  agent?: string;
}

const REPLICAS_DB = 10;

async function deleteProcessKeys(url: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

describe('three replicas on one Redis, callbacks scattered, repeated and reordered', () => {
  const seed = Number(process.env.REPLICAS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rng = seededRandom(seed);
  // The replicas write under the fixed `sb:` prefix, so they get a database of the test Redis to
  // themselves (sigterm.test.ts uses 9), emptied of `sb:` keys before and after.
  let dbUrl: string;
  // The replicas run for the whole suite, so one fake Slack does too.
  const slack = useFakeSlack({ scope: 'all' });
  let telnyx: FakeTelnyxApi;
  let replicas: Replica[] = [];
  const apiLog: Array<{ path: string; at: number }> = [];

  beforeAll(async () => {
    const url = new URL(redisUrl());
    url.pathname = `/${REPLICAS_DB}`;
    dbUrl = url.toString();
    await deleteProcessKeys(dbUrl);
    telnyx = await FakeTelnyxApi.start();
    // One synced agent, offline: the first sync announces it once; it is never rung.
    telnyx.addConnection({
      connection_name: 'agent-dave',
      user_name: 'dave1234',
      sip_uri_calling_preference: 'internal',
    });
    telnyx.setBalance({ available_credit: '12.50', currency: 'USD' });
    telnyx.onRequest = (r) => apiLog.push({ path: r.path, at: Date.now() });
    const env = {
      REDIS_URL: dbUrl,
      AGENTS,
      API_TOKEN: TOKEN,
      SLACK_WEBHOOK_URL: slack.url,
      PUBLIC_URL: 'https://sb.example.com',
      TELNYX_API_KEY: telnyx.apiKey,
      TELNYX_API_BASE_URL: telnyx.baseUrl,
      AGENT_CONNECTION_FILTER: 'agent',
      AGENT_SYNC_CRON: '* * * * * *',
      BALANCE_CHECK_CRON: '* * * * * *',
      BALANCE_ALERT_THRESHOLD: '80',
      // Scenarios ring the same agents back to back (no wrap-up, no auto-pause; docs/interface.md §5).
      WRAP_UP_SECONDS: '0',
      MAX_NO_ANSWER: '100',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    };
    const started = await Promise.allSettled([spawnReplica(env), spawnReplica(env), spawnReplica(env)]);
    replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    for (const r of replicas) {
      await eventually(async () => expect((await fetch(`${r.url}/readyz`)).status).toBe(200), 30_000);
    }
    // Three Node processes compiling TypeScript on two busy cores can take a while to come up.
  }, 150_000);

  afterAll(async () => {
    await Promise.all(replicas.map(stopReplica));
    await telnyx?.close();
    if (dbUrl) await deleteProcessKeys(dbUrl).catch(() => undefined);
  });

  const api = async (path: string) => {
    const r = replicas[Math.floor(Math.random() * replicas.length)]!;
    const res = await fetch(`${r.url}/api${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return {
      status: res.status,
      body: (await res.json()) as { call?: Record<string, unknown>; calls?: unknown[] },
    };
  };

  const why = (extra = '') =>
    `seed ${seed} (REPLICAS_SEED=${seed} replays it)${extra}\n${replicas.map((r) => r.output.join('').slice(-2000)).join('\n')}`;

  it('20 mixed calls end in their scripted state, with each Slack message and history count once and one run per job slot', async () => {
    // Let the at-start runs (sync, presence, balance on each replica) finish: they are not slots.
    await new Promise((r) => setTimeout(r, 1_500));
    const windowStart = Date.now();

    const callers = ['+13125550101', '+13125550102', '+13125550103', '+13125550104'];
    const jobs: Array<{ plan: Plan; from: string }> = [];
    for (let i = 0; i < 20; i++) {
      jobs.push({ plan: PLANS[i % PLANS.length]!, from: callers[Math.floor(rng() * callers.length)]! });
    }
    const played: Played[] = [];
    const failures: Exchange[] = [];
    const served = new Map<string, number>();
    const urls = replicas.map((r) => r.url);
    // A caller waiting in the queue is moved by Telnyx's call-update API when an agent frees up
    // (docs/interface.md §7): the fake API hands each update to the player playing that call.
    const playing = new Set<TelnyxPlayer>();
    telnyx.liveCalls = {
      update: (accountSid, callSid, change) => {
        for (const p of playing) {
          const outcome = p.calls.update(accountSid, callSid, change);
          if (outcome.ok || outcome.reason !== 'unknown') return outcome;
        }
        return { ok: false, reason: 'unknown' };
      },
    };
    // Four calls at a time, like a small call center's busy minute.
    const queue = [...jobs];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let job = queue.shift(); job; job = queue.shift()) {
          const player = new ScatteringPlayer(urls, seededRandom(Math.floor(rng() * 2 ** 31)));
          playing.add(player);
          const r = await playInbound(player, { ...job.plan.script, from: job.from });
          await player.flush();
          failures.push(...player.failures);
          for (const [url, n] of player.served) served.set(url, (served.get(url) ?? 0) + n);
          const round = job.plan.script.answerInRound;
          const agentSip = round ? r.rounds[round - 1]?.[0] : undefined;
          played.push({
            plan: job.plan,
            from: job.from,
            callSid: r.callSid,
            agent: agentSip ? SIP_TO_NAME[agentSip] : undefined,
          });
        }
      }),
    );
    expect(
      failures.map((f) => `${f.path} ${f.status} ${f.body}`),
      why(),
    ).toEqual([]);
    // Every replica took a fair share of the requests (the scattering really happened).
    for (const url of urls) expect(served.get(url) ?? 0).toBeGreaterThan(50);

    // Final state of every call, read through the admin API of any replica.
    for (const p of played) {
      await eventually(async () => {
        const { status, body } = await api(`/calls/${encodeURIComponent(p.callSid)}`);
        expect(status, why(` ${p.plan.name} ${p.callSid}`)).toBe(200);
        expect(body.call, why(` ${p.plan.name} ${p.callSid}`)).toMatchObject({
          outcome: p.plan.outcome,
          phase: 'ended',
          from: p.from,
          ...(p.agent ? { agent: p.agent, attempts: p.plan.script.answerInRound } : {}),
          ...(p.plan.outcome === 'voicemail' ? { recordingUrl: expect.stringMatching(/^https:/) } : {}),
        });
      });
    }
    expect((await api('/calls?status=active')).body.calls, why()).toEqual([]);

    // Slack: every call's alerts exactly once and in order, plus one roster change and one low balance.
    // (Should ten messages ever wait, a call's later alert carries its unsent earlier ones: count events.)
    const expected = played.reduce((n, p) => n + p.plan.alerts.length, 0) + 2;
    const events = () => slack.accepted().reduce((n, m) => n + slackEvents(m).length, 0);
    await eventually(() => expect(events()).toBeGreaterThanOrEqual(expected), 15_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500)); // anything extra would show up by now
    const accepted = slack.accepted();
    for (const p of played) {
      const all = accepted.filter((m) => JSON.stringify(m.blocks).includes(p.callSid)).flatMap(slackEvents);
      // Concurrent calls hold every agent while they ring, so a caller may wait in the queue first
      // (docs/interface.md §7): its queue alert may come on top of the call's own story, and only
      // for a caller who hung up.
      // A caller who hung up in the queue gets the queue's closing message (queue, wait, place in
      // line) instead of the generic "Abandoned call": one message per abandoned call.
      const queued = all.filter((k) => k.startsWith('queue-'));
      expect(queued, why(` ${p.plan.name} ${p.callSid}`)).toEqual(
        p.plan.outcome === 'abandoned' ? queued.filter((k) => k === 'queue-abandoned').slice(0, 1) : [],
      );
      const mine = all.filter((k) => !k.startsWith('queue-'));
      expect(mine, why(` ${p.plan.name} ${p.callSid}`)).toEqual(
        queued.length ? p.plan.alerts.filter((k) => k !== 'abandoned') : p.plan.alerts,
      );
    }
    // Account messages: not about one call (queue alerts were checked per call above).
    const account = accepted
      .filter((m) => !/^(📞|✅|❌|📵|📩|☎️)/.test(m.text) && !slackKind(m.text).startsWith('queue-'))
      .map((m) => m.text);
    expect(account.map(slackKind).sort(), why(`\n${account.join('\n')}`)).toEqual([
      'low-balance',
      'roster-changed',
    ]);
    expect(account.find((t) => slackKind(t) === 'roster-changed')).toMatch(/added agent-dave/);
    // A queue's abandon message stands in for the call's own (checked per call above): no more.
    expect(events(), why()).toBe(expected);

    // History: one count per answered call, per caller and agent (static agents' id is their name).
    const redis = new Redis(dbUrl, { keyPrefix: KEY_PREFIX, maxRetriesPerRequest: 1 });
    try {
      const routing = createRedisRoutingStore(redis);
      for (const caller of callers) {
        const want: Record<string, number> = {};
        for (const p of played) if (p.from === caller && p.agent) want[p.agent] = (want[p.agent] ?? 0) + 1;
        const { history } = await routing.load(caller);
        expect({ ...history }, why(` history of ${caller}`)).toEqual(want);
      }
    } finally {
      await redis.quit();
    }

    // Jobs: roster sync and balance check are scheduled every second on all three replicas; each
    // slot must run once in the whole fleet. Slots that can show up in the window: its whole
    // seconds, plus one started just before it and one cut off by its end.
    await new Promise((r) => setTimeout(r, Math.max(0, 4_000 - (Date.now() - windowStart))));
    const windowEnd = Date.now();
    const slots = Math.ceil((windowEnd - windowStart) / 1000) + 2;
    const inWindow = (path: string) =>
      apiLog.filter((x) => x.path === path && x.at >= windowStart && x.at <= windowEnd).length;
    for (const path of ['/v2/balance', '/v2/credential_connections']) {
      const runs = inWindow(path);
      expect(runs, why(` ${path}: ${runs} runs for at most ${slots} slots`)).toBeLessThanOrEqual(slots);
      // …and the schedule does run, again and again (a loaded CI machine may skip a few seconds).
      expect(runs, why(` ${path}: ${runs} runs in ${slots - 2} s`)).toBeGreaterThanOrEqual(
        Math.max(2, Math.floor((slots - 2) / 3)),
      );
    }
  });

  it('an agent leg callback that arrives after the Dial action still counts: answered alert, agent, history once', async () => {
    // Telnyx retries a webhook the first delivery of which failed (a replica restarting, Redis
    // briefly away): the leg's in-progress and completed callbacks then arrive after the <Dial>
    // action request, which Telnyx sends synchronously when the bridge ends.
    const [a, b, c] = replicas.map((r) => new TelnyxPlayer({ baseUrl: r.url }));
    const from = '+13125550188';
    const sid = newCallSid();
    const caller = { sid, from, to: '+18005550199' };
    const first = await a!.post('/texml/inbound', a!.base(sid, from, caller.to));
    const dial = readTexml(first.body).dial!;
    const legs = dial.targets.map((t) => ({ sid: newCallSid(), from, to: t.uri, parent: sid }));
    const winner = legs[0]!;
    for (const leg of legs) await b!.status('/texml/status', leg, 'ringing');
    for (const leg of legs.slice(1)) await c!.status('/texml/status', leg, 'canceled');
    b!.clock.advance(5);
    const answeredAt = b!.clock.iso();
    b!.clock.advance(30);
    // The bridge ends: Telnyx asks the Dial action first…
    const action = await c!.post(dial.action!, {
      ...c!.base(sid, from, caller.to),
      DialCallStatus: 'completed',
      DialCallSid: winner.sid,
      DialCallDuration: '30',
      Timestamp: b!.clock.iso(),
    });
    expect(readTexml(action.body).hangup).toBe(true);
    await a!.status('/texml/status', caller, 'completed', { Timestamp: b!.clock.iso() });
    // …and the leg's own callbacks come in late, on other replicas.
    expect((await b!.status('/texml/status', winner, 'in-progress', { Timestamp: answeredAt })).status).toBe(
      200,
    );
    expect(
      (
        await c!.status('/texml/status', winner, 'completed', {
          AnsweredTime: answeredAt,
          CallDuration: '30',
          Timestamp: b!.clock.iso(),
        })
      ).status,
    ).toBe(200);

    const agent = SIP_TO_NAME[winner.to] as string;
    await eventually(async () => {
      const { body } = await api(`/calls/${encodeURIComponent(sid)}`);
      expect(body.call).toMatchObject({ outcome: 'answered', agent });
    });
    const mine = () =>
      slack
        .accepted()
        .filter((m) => JSON.stringify(m.blocks).includes(sid))
        .map((m) => m.text);
    await eventually(() => expect(mine().length).toBeGreaterThanOrEqual(2));
    await new Promise((r) => setTimeout(r, 300)); // a late answered alert would be here by now
    expect.soft(mine().map(slackKind), mine().join('\n')).toEqual(['incoming', 'answered', 'completed']);
    expect.soft(mine().at(-1)).toContain(agent);
    const redis = new Redis(dbUrl, { keyPrefix: KEY_PREFIX, maxRetriesPerRequest: 1 });
    try {
      const { history } = await createRedisRoutingStore(redis).load(from);
      expect.soft({ ...history }, 'history count of the answered call').toEqual({ [agent]: 1 });
    } finally {
      await redis.quit();
    }
  });

  it("the simulator's `replicas` option sends the requests to those replicas, not to `baseUrl`", async () => {
    // PlayerOptions.replicas: "requests go to these in turn instead of baseUrl" (telnyx-player.ts);
    // test/e2e/slack.test.ts relies on it for its two-instance test. Nothing listens on `nowhere`.
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const player = new TelnyxPlayer({ baseUrl: nowhere, replicas: replicas.map((r) => r.url) });
    const sid = newCallSid();
    for (let i = 0; i < 3; i++) {
      const sent = player.post('/texml/inbound', player.base(sid, '+13125550199', '+18005550199'));
      await expect(sent, `request ${i + 1}`).resolves.toMatchObject({ status: 200 });
    }
  });
});
