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
 * and a dozen callers always wait, each called in at a random moment (so where an offer lands in
 * a caller's hold music is random, as on a real line where calls last minutes). One sample = from the moment an agent's call ends (the leg's
 * `completed` callback is sent: the agent is free) to the moment the next caller receives the
 * `<Dial>` ringing that agent. What Telnyx itself adds on a real account (the API round trip,
 * fetching the new URL, starting the `<Dial>`) is not in these numbers; see RESULTS-queues.md.
 *
 * Results: the section `offer-latency` of bench/RESULTS-queues.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
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
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const form = (p: Record<string, string>) => new URLSearchParams(p).toString();
const attr = (xml: string, name: string) => new RegExp(`${name}="([^"]+)"`).exec(xml)?.[1];
const dialTarget = (xml: string) => /<Sip[^>]*>([^<]+)<\/Sip>/.exec(xml)?.[1];
/** How long the wait document plays: its `<Say>`s at 2.5 words a second, its `<Play>`s. */
const playSeconds = (xml: string): number => {
  let s = 0;
  for (const m of xml.matchAll(/<Say[^>]*>([^<]*)<\/Say>/g)) s += m[1]!.split(/\s+/).length / 2.5;
  s += (xml.match(/<Play[^>]*>/g)?.length ?? 0) * HOLD_MUSIC_SECONDS;
  return Math.max(1, s);
};

async function run(mode: 'leave' | 'update', seconds: number, agentCount: number, redisUrl?: string) {
  const api = await FakeTelnyxApi.start();
  const calls = new LiveCalls();
  api.liveCalls = calls;
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

  const post = async (url: string, params: Record<string, string>) => {
    const res = await fetch(url.replace(/^https?:\/\/[^/]+/, base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ AccountSid: ACCOUNT, ...params }),
    });
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    return res.text();
  };

  const samples: Sample[] = [];
  let stopping = false;
  let seq = 0;
  /** Per agent: when its last call ended (the moment it became free), until it is dialled again. */
  const freedAt = new Map<string, number>();
  /** Per agent: the call dialled to it that its loop has not taken yet, or the loop waiting for one. */
  const dialled = new Map<string, string>();
  const waiters = new Map<string, (sid: string) => void>();
  const onDial = (sip: string, sid: string, via: Sample['via'] | 'direct') => {
    const since = freedAt.get(sip);
    if (since !== undefined && via !== 'direct') samples.push({ ms: performance.now() - since, via });
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
      // Keep a dozen callers in line (every caller not dialled yet is waiting or joining).
      while (callers.size < WAITING) spawn(Math.random() * HOLD_MUSIC_SECONDS * 1000);
      await sleep(1000 + Math.random() * 4000);
      if (stopping) break;
      freedAt.set(sip, performance.now());
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
  child.send({ type: 'close' });
  await new Promise((r) => child.once('exit', r));
  await api.close();
  const updates = api.requestsTo(/\/Calls\/[^/]+$/, 'POST');
  return { samples, updates: updates.length, refused: updates.filter((r) => r.status !== 200).length };
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
      const s = stats(r.samples.map((x) => x.ms));
      const ways = [...new Set(r.samples.map((x) => x.via))].join(', ');
      console.log(
        `  ${s.n} offers (${ways}), p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms; ${r.updates} updates, ${r.refused} refused`,
      );
      rows.push([
        mode === 'update' ? 'call-update API' : '`<Leave/>` on the next waitUrl fetch',
        s.n,
        Math.round(s.p50),
        Math.round(s.p90),
        Math.round(s.p99),
        Math.round(s.max),
        r.updates,
      ]);
    }
    const cpu = cpus();
    const machine = `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} at the end`;
    writeSection(
      RESULTS,
      'offer-latency',
      [
        `\`npx tsx bench/offer-latency.bench.ts --seconds ${seconds} --agents ${agentCount}${values.redis ? ' --redis' : ''}\`, ${new Date().toISOString().slice(0, 10)}; ${machine}; store: ${values.redis ? 'Redis (private redis-server)' : 'memory'}.`,
        '',
        "Agent free (its leg's `completed` callback sent) → the waiting caller receives the `<Dial>` to that agent, in milliseconds:",
        '',
        table(['delivery', 'offers', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'update requests'], rows),
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
