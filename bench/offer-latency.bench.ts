/**
 * How fast a waiting caller reaches an agent who frees up (docs/interface.md §7: "within 2 s"),
 * measured both ways Switchboard can deliver the offer:
 * - `leave`: the caller's next waitUrl fetch answers `<Leave/>`, Telnyx requests the Enqueue action,
 *   which answers the `<Dial>`;
 * - `update`: Switchboard asks Telnyx's call-update API (the fake Telnyx API over HTTP, the real
 *   SDK) to move the call to the Enqueue action at once.
 *
 *   npx tsx bench/offer-latency.bench.ts [--seconds 120] [--agents 8] [--redis]
 *
 * The server is the real app (`buildApp`) in a child process. This process plays Telnyx: each
 * waiting caller fetches the wait document and "plays" it in real time (a `<Say>` at 2.5 words a
 * second, `<Play>` of the hold music for its 10.08 s), so a `<Leave/>` is heard when the document
 * ends, as on a real call; a call update interrupts it at once. Eight agents take calls of 1–5 s,
 * and about a dozen callers not yet offered always wait, each called in at a random moment (so where an offer lands in
 * a caller's hold music is random, as on a real line where calls last minutes). One sample = from the moment an agent's call ends (the leg's
 * `completed` callback is sent: the agent is free) to the moment the next caller receives the
 * `<Dial>` ringing that agent. What Telnyx itself adds on a real account (the API round trip,
 * fetching the new URL, starting the `<Dial>`) is not in these numbers; see RESULTS-queues.md.
 *
 * Results: the sections `offer-latency-memory` / `offer-latency-redis` of bench/RESULTS-queues.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { FakeTelnyxApi } from '../src/simulator/fake-telnyx-api.js';
import { LiveCalls } from '../src/simulator/live-calls.js';
import { freePort, startRedisServer, stopRedisServer } from '../test/setup/redis-server.js';
import { table, writeSection } from './results-file.js';

const RESULTS = fileURLToPath(new URL('./RESULTS-queues.md', import.meta.url));
const HOLD_MUSIC_SECONDS = 10.08; // audio/hold-music.mp3
const ACCOUNT = 'bench-account';
const WAITING = 12;
const BENCH_TOKEN = 'bench-token-0123456789abcdef';

// ---------------------------------------------------------------- the server (child process)

async function serve(env: Record<string, string>): Promise<void> {
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  await app.listen({ port: Number(env.PORT), host: '127.0.0.1' });
  process.send?.({ type: 'ready' });
  process.on('message', async (m: { type: string }) => {
    if (m.type === 'close') {
      await app.close();
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------- Telnyx, played here

interface Sample {
  ms: number;
  /** How the caller got out of the queue. */
  via: 'leave' | 'update';
  /** `update`: from the agent free to the update request reaching the (fake) Telnyx API. */
  toApiMs?: number;
  /** The caller offered, and when the agent became free (epoch ms, for the server's `offer` event). */
  sid: string;
  freedWall: number;
  /** From the agent free to the server's `offer` event (one machine, one clock). */
  decideMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const form = (p: Record<string, string>) => new URLSearchParams(p).toString();
const attr = (xml: string, name: string) => new RegExp(`${name}="([^"]+)"`).exec(xml)?.[1];
const dialTarget = (xml: string): string | undefined => {
  const targets = [...xml.matchAll(/<Sip[^>]*>([^<]+)<\/Sip>/g)].map((m) => m[1]!);
  if (targets.length > 1) throw new Error(`one agent per ring expected: ${targets.join(', ')}`);
  return targets[0];
};
/** How long the wait document plays: its `<Say>`s at 2.5 words a second, its `<Play>`s. */
const playSeconds = (xml: string): number => {
  let s = 0;
  for (const m of xml.matchAll(/<Say[^>]*>([^<]*)<\/Say>/g)) s += m[1]!.split(/\s+/).length / 2.5;
  s += (xml.match(/<Play[^>]*>/g)?.length ?? 0) * HOLD_MUSIC_SECONDS;
  return Math.max(1, s);
};

async function run(mode: 'leave' | 'update', seconds: number, agentCount: number, redisUrl?: string) {
  if (redisUrl) {
    // Each mode starts from an empty store (the app's keys are under a fixed prefix).
    const redis = new Redis(redisUrl);
    await redis.flushdb();
    await redis.quit();
  }
  const api = await FakeTelnyxApi.start();
  const calls = new LiveCalls();
  api.liveCalls = calls;
  /** When each call's update request reached the API. */
  const updateAt = new Map<string, number>();
  api.onRequest = (r) => {
    const m = /\/Calls\/([^/]+)$/.exec(r.path);
    if (m && r.method === 'POST') updateAt.set(decodeURIComponent(m[1]!), performance.now());
  };
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const agents = Array.from({ length: agentCount }, (_, i) => ({
    name: `agent${i}`,
    sip: `sip:agent${i}@sip.telnyx.com`,
  }));
  const env: Record<string, string> = {
    PORT: String(port),
    AGENTS: agents.map((a) => `${a.name}=${a.sip}`).join(','),
    WRAP_UP_SECONDS: '0',
    MAX_NO_ANSWER: '100',
    STICKY_ROUTING: 'false',
    // One agent per ring (ring-all would hold every free agent on a direct call until it is
    // answered, and the next offer would then wait for that, not for the queue).
    ROUTING_STRATEGY: 'longest-idle',
    API_TOKEN: BENCH_TOKEN,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    // `update` needs both; without them every offer goes by <Leave/>.
    ...(mode === 'update'
      ? { PUBLIC_URL: base, TELNYX_API_KEY: api.apiKey, TELNYX_API_BASE_URL: api.baseUrl }
      : {}),
  };
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['serve', JSON.stringify(env)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });

  let retried = 0;
  const post = async (url: string, params: Record<string, string>): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(url.replace(/^https?:\/\/[^/]+/, base), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ AccountSid: ACCOUNT, ...params }),
      });
      if (res.status === 200) return res.text();
      // 503: a callback the store did not take in time; Telnyx delivers it again, so do we.
      if (res.status !== 503 || attempt === 5) throw new Error(`${url} answered ${res.status}`);
      retried++;
      await sleep(200 * attempt);
    }
  };

  const samples: Sample[] = [];
  let stopping = false;
  let seq = 0;
  /** Per agent: when its last call ended (the moment it became free), until it is dialled again. */
  const freedAt = new Map<string, { at: number; wall: number }>();
  /** Per agent: the call dialled to it that its loop has not taken yet, or the loop waiting for one. */
  const dialled = new Map<string, string>();
  const waiters = new Map<string, (sid: string) => void>();
  const onDial = (sip: string, sid: string, via: Sample['via'] | 'direct') => {
    const freed = freedAt.get(sip);
    const reached = updateAt.get(sid);
    if (freed !== undefined && via !== 'direct') {
      samples.push({
        ms: performance.now() - freed.at,
        via,
        ...(via === 'update' && reached !== undefined ? { toApiMs: reached - freed.at } : {}),
        sid,
        freedWall: freed.wall,
      });
    }
    freedAt.delete(sip);
    const waiter = waiters.get(sip);
    if (waiter) {
      waiters.delete(sip);
      waiter(sid);
    } else dialled.set(sip, sid);
  };
  const nextCall = (sip: string): Promise<string> => {
    const sid = dialled.get(sip);
    if (sid !== undefined) {
      dialled.delete(sip);
      return Promise.resolve(sid);
    }
    return new Promise((resolve) => waiters.set(sip, resolve));
  };

  const caller = async (delayMs = 0): Promise<void> => {
    // Callers call at random moments, so their place in the hold music is not tied to when an
    // agent frees up (as it is not on a real line, where calls last minutes).
    await sleep(delayMs);
    const sid = `call-${mode}-${++seq}`;
    const from = `+1312${String(5550000 + seq).slice(-7)}`;
    calls.register({
      accountSid: ACCOUNT,
      callSid: sid,
      from,
      to: '+18005550199',
      direction: 'inbound',
      startedAt: Date.now(),
    });
    const first = await post(`${base}/texml/inbound`, { CallSid: sid, From: from, To: '+18005550199' });
    const direct = dialTarget(first);
    if (direct) return onDial(direct, sid, 'direct');
    const waitUrl = attr(first, 'waitUrl');
    const action = attr(first, 'action');
    if (!waitUrl || !action) throw new Error(`neither <Dial> nor <Enqueue>: ${first}`);
    while (!stopping) {
      const doc = await post(waitUrl, { CallSid: sid, From: from });
      if (doc.includes('<Leave/>')) {
        const dial = await post(action, { CallSid: sid, From: from, QueueResult: 'leave' });
        const to = dialTarget(dial);
        if (!to) throw new Error(`Enqueue action without <Dial>: ${dial}`);
        return onDial(to, sid, 'leave');
      }
      await calls.pause(sid, playSeconds(doc) * 1000);
      const update = calls.take(sid);
      if (update?.kind === 'url') {
        const dial = await post(update.url, { CallSid: sid, From: from });
        const to = dialTarget(dial);
        if (!to) throw new Error(`updated Url without <Dial>: ${dial}`);
        return onDial(to, sid, 'update');
      }
    }
  };

  const callers = new Set<Promise<void>>();
  const spawn = (delayMs = 0) => {
    const p = caller(delayMs).catch((err) => {
      if (!stopping) console.error(err);
    });
    callers.add(p);
    void p.finally(() => callers.delete(p));
  };

  /** One agent: answers whoever is dialled to it, talks 1–5 s, hangs up (free), again. */
  const agentLoop = async (sip: string) => {
    while (!stopping) {
      const sid = await nextCall(sip);
      if (stopping) break;
      const leg = { CallSid: `leg-${sid}`, ParentCallSid: sid, To: sip };
      await post(`${base}/texml/status`, { ...leg, CallStatus: 'in-progress' });
      // Keep a dozen callers in line who are not offered yet: every caller not dialled yet is
      // joining, waiting, or (by <Leave/>) offered and still hearing the music, one per agent at most.
      while (callers.size < WAITING + agentCount) spawn(Math.random() * HOLD_MUSIC_SECONDS * 1000);
      await sleep(1000 + Math.random() * 4000);
      if (stopping) break;
      freedAt.set(sip, { at: performance.now(), wall: Date.now() });
      await post(`${base}/texml/status`, { ...leg, CallStatus: 'completed' });
      await post(`${base}/texml/dial-result`, {
        CallSid: sid,
        DialCallStatus: 'completed',
        DialCallDuration: '3',
      });
      await post(`${base}/texml/status`, { CallSid: sid, To: '+18005550199', CallStatus: 'completed' });
    }
  };

  const loops = agents.map((a) => agentLoop(a.sip));
  for (let i = 0; i < agentCount; i++) spawn(); // rung directly: every agent busy
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) await sleep(250);
  stopping = true;
  for (const resolve of waiters.values()) resolve('');
  await Promise.race([Promise.allSettled([...loops, ...callers]), sleep(15_000)]);
  // The server's `offer` events: when each caller was offered (the deciding half of a sample).
  const offeredAt = new Map<string, number>();
  for (let since = '', more = true; more; ) {
    const res = await fetch(`${base}/api/events?limit=1000${since ? `&since=${since}` : ''}`, {
      headers: { authorization: `Bearer ${BENCH_TOKEN}` },
    });
    const lines = (await res.text()).split('\n').filter(Boolean);
    for (const line of lines) {
      const e = JSON.parse(line) as { type: string; callSid?: string; at: number };
      if (e.type === 'offer' && e.callSid) offeredAt.set(e.callSid, e.at);
    }
    since = res.headers.get('x-next-cursor') ?? '';
    more = lines.length === 1000 && since !== '';
  }
  for (const x of samples) {
    const at = offeredAt.get(x.sid);
    if (at !== undefined) x.decideMs = at - x.freedWall;
  }
  child.send({ type: 'close' });
  await new Promise((r) => child.once('exit', r));
  await api.close();
  const updates = api.requestsTo(/\/Calls\/[^/]+$/, 'POST');
  return {
    samples,
    updates: updates.length,
    refused: updates.filter((r) => r.status !== 200).length,
    retried,
  };
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { n: sorted.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted.at(-1) ?? Number.NaN };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '120' },
      agents: { type: 'string', default: '8' },
      redis: { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  const agentCount = Number(values.agents);
  const redis = values.redis ? await startRedisServer() : undefined;
  try {
    const rows: (string | number)[][] = [];
    for (const mode of ['update', 'leave'] as const) {
      console.log(`${mode}: ${seconds} s with ${agentCount} agents…`);
      const r = await run(mode, seconds, agentCount, redis?.url);
      if (process.env.BENCH_DUMP)
        writeFileSync(`${process.env.BENCH_DUMP}-${mode}.json`, JSON.stringify(r.samples));
      const s = stats(r.samples.map((x) => x.ms));
      const toApi = stats(r.samples.flatMap((x) => (x.toApiMs === undefined ? [] : [x.toApiMs])));
      const decide = stats(r.samples.flatMap((x) => (x.decideMs === undefined ? [] : [x.decideMs])));
      const ways = [...new Set(r.samples.map((x) => x.via))].join(', ');
      console.log(
        `  ${s.n} offers (${ways}), p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms; ${r.updates} updates, ${r.refused} refused; ${r.retried} callbacks answered 503 and were sent again`,
      );
      rows.push([
        mode === 'update' ? 'call-update API' : '`<Leave/>` on the next waitUrl fetch',
        s.n,
        Math.round(s.p50),
        Math.round(s.p90),
        Math.round(s.p99),
        Math.round(s.max),
        decide.n ? `${Math.round(decide.p50)} / ${Math.round(decide.p99)}` : '–',
        toApi.n ? `${Math.round(toApi.p50)} / ${Math.round(toApi.p99)}` : '–',
        r.updates,
      ]);
    }
    const cpu = cpus();
    const machine = `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} at the end`;
    writeSection(
      RESULTS,
      `offer-latency-${values.redis ? 'redis' : 'memory'}`,
      [
        `\`npx tsx bench/offer-latency.bench.ts --seconds ${seconds} --agents ${agentCount}${values.redis ? ' --redis' : ''}\`, ${new Date().toISOString().slice(0, 10)}; ${machine}; store: ${values.redis ? 'Redis (private redis-server)' : 'memory'}.`,
        '',
        "Agent free (its leg's `completed` callback sent) → the waiting caller receives the `<Dial>` to that agent, in milliseconds:",
        '',
        table(
          [
            'delivery',
            'offers',
            'p50 ms',
            'p90 ms',
            'p99 ms',
            'max ms',
            'free → offer p50 / p99',
            'free → update at the API p50 / p99',
            'update requests',
          ],
          rows,
        ),
      ].join('\n'),
    );
    console.log(`written to ${RESULTS}`);
  } finally {
    if (redis) await stopRedisServer(redis);
  }
}

if (process.argv[2] === 'serve') {
  void serve(JSON.parse(process.argv[3] ?? '{}'));
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
