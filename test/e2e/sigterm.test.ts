import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxWorker } from '../../src/alerts/outbox-worker.js';
import { KEY_PREFIX } from '../../src/redis.js';
import { createSlackWebhookSink } from '../../src/slack/sinks.js';
import { redisOutbox } from '../alerts/outboxes.js';
import { ok } from '../fakes/slack-server.js';
import { eventually } from '../helper.js';
import { redisUrl } from '../setup/redis.js';
import { freePort } from '../setup/redis-server.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { slackTexts } from '../support/slack-kind.js';

/**
 * The real process (`node --import tsx src/server.ts`) under load gets SIGTERM, as Kubernetes
 * sends it: requests it has started must complete, it must exit 0 within close-with-grace's delay
 * (25 s; past it the process exits 1), and no Slack message may be lost: what the process did not
 * post stays in the Redis outbox and is posted later by another worker.
 *
 * No preStop sleep here: SIGTERM arrives while requests keep coming, as when Kubernetes removes
 * the endpoints at the same moment it signals the pod. Request outcomes are sorted by when they
 * were sent:
 * - before SIGTERM: the load is paused until nothing is outstanding, then SIGTERM is sent, so every
 *   request sent before it has its answer, and each must be 2xx;
 * - after SIGTERM, during SHUTDOWN_DELAY_SECONDS: /readyz fails, the load goes on; every request
 *   must be served 2xx (none refused, none reset, no 503) and /readyz must say 503;
 *   the load then stops, as a load balancer stops once readiness failed;
 * - in flight across the close: "held" requests whose headers the server parsed before SIGTERM
 *   (it answered `100 Continue`) and whose body is sent only once the server stopped accepting
 *   connections; each must complete with 2xx — the drain.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A Redis database of its own: the process uses the production key prefix `sb:`, not a test prefix. */
const SIGTERM_DB = 9;
const AGENTS = 'Alice=sip:alice@sip.telnyx.com,Bob=sip:bob@sip.telnyx.com';
const HOTLINE = '+13125550100';
const CONCURRENCY = 8;
/** Calls completed (inbound + hang-up) before SIGTERM. */
const CALLS_BEFORE_SIGTERM = 60;
/** Upper bound on calls after SIGTERM, in case the server never stops accepting. */
const MAX_CALLS = 2_000;
const FORM = 'application/x-www-form-urlencoded';
/** The app's own drain delay after SIGTERM; the load runs for LOAD_AFTER_SIGTERM_MS of it. */
const SHUTDOWN_DELAY_SECONDS = 2;
const LOAD_AFTER_SIGTERM_MS = 1_000;

type Outcome = { status: number; body: string; connection?: string } | { error: string };
interface Sent {
  call: number;
  route: 'inbound' | 'status';
  phase: 'before' | 'held' | 'after';
  outcome: Outcome;
}

const run = randomUUID().slice(0, 8);
const callSid = (i: number) => `v3:sigterm-${run}-${i}`;
/** A distinct caller per call, so each Slack message names its call. */
const caller = (i: number) => `+1312555${String(i).padStart(4, '0')}`;
const inboundBody = (i: number) =>
  new URLSearchParams({
    CallSid: callSid(i),
    AccountSid: 'AC-sigterm',
    From: caller(i),
    To: HOTLINE,
    CallStatus: 'ringing',
    Direction: 'inbound',
  }).toString();
const hangUpBody = (i: number) =>
  new URLSearchParams({
    CallSid: callSid(i),
    AccountSid: 'AC-sigterm',
    From: caller(i),
    To: HOTLINE,
    CallStatus: 'completed',
    SequenceNumber: '3',
  }).toString();

/** One POST on a fresh connection (no keep-alive, so no request rides on a connection from before). */
function post(port: number, path: string, body: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': FORM, 'content-length': Buffer.byteLength(body), connection: 'close' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, connection: res.headers.connection }),
        );
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

/**
 * A request in flight on purpose: headers sent with `Expect: 100-continue`; `continued` resolves
 * when the server has parsed them and is handling the request; `finish()` sends the body.
 */
function hold(port: number, path: string, body: string) {
  let finish!: () => Promise<Outcome>;
  const continued = new Promise<void>((resolveContinue, rejectContinue) => {
    const response = new Promise<Outcome>((resolve) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: {
          'content-type': FORM,
          'content-length': Buffer.byteLength(body),
          connection: 'close',
          expect: '100-continue',
        },
      });
      req.on('continue', () => resolveContinue());
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        rejectContinue(err);
        resolve({ error: err.code ?? err.message });
      });
      req.flushHeaders();
      finish = () => {
        req.end(body);
        return response;
      };
    });
  });
  return { continued, finish: () => finish() };
}

/** Resolves once a new connection to the port is refused: the server stopped accepting. */
async function listenerClosed(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    if (refused) return;
    if (Date.now() > deadline) throw new Error('the server still accepts connections after SIGTERM');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const isOk = (o: Outcome): o is { status: number; body: string } =>
  'status' in o && o.status >= 200 && o.status < 300;

async function deleteProcessKeys(redis: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

describe('SIGTERM under load (the real server process)', () => {
  // Up until the child process is gone (afterAll below runs first).
  const slack = useFakeSlack({ scope: 'all' });
  let admin: Redis;
  let dbUrl: string;
  let child: ChildProcess | undefined;
  let childLog = '';

  beforeAll(async () => {
    const url = new URL(redisUrl());
    url.pathname = `/${SIGTERM_DB}`;
    dbUrl = url.toString();
    admin = new Redis(dbUrl, { maxRetriesPerRequest: 1 });
    await deleteProcessKeys(admin);
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (admin) {
      await deleteProcessKeys(admin).catch(() => undefined);
      await admin.quit();
    }
  });

  it('finishes in-flight requests, exits 0, and every Slack message of the calls is delivered', async () => {
    const port = await freePort();
    // Slack answers slowly, so a post is likely in flight when SIGTERM arrives (stop waits for it).
    slack.setFallback({ status: 200, body: 'ok', delayMs: 150 });
    child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: 'https://sb.example.com',
        REDIS_URL: dbUrl,
        AGENTS,
        HOTLINE_NUMBER: HOTLINE,
        SLACK_WEBHOOK_URL: slack.url,
        SHUTDOWN_DELAY_SECONDS: String(SHUTDOWN_DELAY_SECONDS),
        // Scenarios ring the same agents back to back (no wrap-up, no auto-pause; docs/interface.md §5).
        WRAP_UP_SECONDS: '0',
        MAX_NO_ANSWER: '100',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = child;
    proc.stdout?.on('data', (chunk: Buffer) => {
      childLog += chunk.toString();
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      childLog += chunk.toString();
    });
    const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

    // Ready when /readyz says Redis is reachable.
    const readyBy = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`server exited at start (${proc.exitCode}):\n${childLog}`);
      const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      if (r?.status === 200) break;
      if (Date.now() > readyBy) throw new Error(`server not ready in time:\n${childLog}`);
      await new Promise((res) => setTimeout(res, 50));
    }

    const sent: Sent[] = [];
    let phase: Sent['phase'] = 'before';
    let nextCall = 0;
    let callsDone = 0;
    let outstanding = 0;
    let paused: Promise<void> | undefined;
    let stopped = false;
    let resume: (() => void) | undefined;
    let reachedTarget!: () => void;
    const target = new Promise<void>((resolve) => {
      reachedTarget = resolve;
    });

    const send = async (call: number, route: Sent['route'], body: string): Promise<Outcome> => {
      const at = phase;
      outstanding += 1;
      const outcome = await post(port, `/texml/${route}`, body);
      outstanding -= 1;
      sent.push({ call, route, phase: at, outcome });
      return outcome;
    };
    const loop = async () => {
      while (nextCall < MAX_CALLS && !stopped) {
        if (paused) await paused;
        const i = nextCall++;
        if (!isOk(await send(i, 'inbound', inboundBody(i)))) return;
        if (paused) await paused;
        if (!isOk(await send(i, 'status', hangUpBody(i)))) return;
        callsDone += 1;
        if (callsDone === CALLS_BEFORE_SIGTERM) reachedTarget();
      }
    };

    // Two calls answered by inbound before SIGTERM, whose hang-up will be held across it.
    const heldCalls = [nextCall++, nextCall++];
    for (const i of heldCalls) expect(isOk(await send(i, 'inbound', inboundBody(i)))).toBe(true);

    const loops = Array.from({ length: CONCURRENCY }, loop);
    await target;
    // Pause: no request is left half-way when the signal is sent.
    paused = new Promise<void>((resolve) => {
      resume = resolve;
    });
    while (outstanding > 0) await new Promise((res) => setTimeout(res, 1));

    // Held: two new calls and the two hang-ups; the server has parsed their headers.
    const newHeld = [nextCall++, nextCall++];
    const held = [
      ...newHeld.map((i) => ({
        call: i,
        route: 'inbound' as const,
        req: hold(port, '/texml/inbound', inboundBody(i)),
      })),
      ...heldCalls.map((i) => ({
        call: i,
        route: 'status' as const,
        req: hold(port, '/texml/status', hangUpBody(i)),
      })),
    ];
    await Promise.all(held.map((h) => h.req.continued));

    phase = 'after';
    expect(proc.kill('SIGTERM')).toBe(true);
    paused = undefined;
    resume?.();

    // The drain delay: readiness fails at once while the load is still served.
    const readyAfterSigterm = await new Promise<number | string>((resolve) => {
      const deadline = Date.now() + 3_000;
      const probe = async () => {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch((err: Error) => err);
        if (r instanceof Error) resolve(`unreachable: ${r.message}`);
        else if (r.status === 503 || Date.now() > deadline) resolve(r.status);
        else setTimeout(probe, 20);
      };
      void probe();
    });
    expect(readyAfterSigterm).toBe(503);
    await new Promise((res) => setTimeout(res, LOAD_AFTER_SIGTERM_MS));
    // The load balancer has stopped sending by now.
    stopped = true;
    await Promise.all(loops);

    // Only once the server stopped accepting do the held requests send their bodies.
    await listenerClosed(port, 10_000);
    const heldOutcomes = await Promise.all(held.map((h) => h.req.finish()));
    held.forEach((h, k) => {
      sent.push({ call: h.call, route: h.route, phase: 'held', outcome: heldOutcomes[k]! });
    });

    const [code, signal] = await exited;
    expect({ code, signal }, childLog).toEqual({ code: 0, signal: null });

    // Before SIGTERM: everything answered 2xx.
    const before = sent.filter((s) => s.phase === 'before');
    expect(before.length).toBeGreaterThanOrEqual(CALLS_BEFORE_SIGTERM * 2);
    expect(before.filter((s) => !isOk(s.outcome))).toEqual([]);
    // In flight across SIGTERM: completed, with a TeXML document for the inbound ones.
    const heldSent = sent.filter((s) => s.phase === 'held');
    expect(heldSent.map((s) => ('status' in s.outcome ? s.outcome.status : s.outcome.error))).toEqual([
      200, 200, 200, 200,
    ]);
    for (const s of heldSent.filter((x) => x.route === 'inbound')) {
      // A ring round, or the queue when the earlier calls hold every agent (docs/interface.md §7).
      expect((s.outcome as { body: string }).body).toMatch(
        /<Response>[\s\S]*<(Dial|Enqueue)[\s\S]*<\/Response>/,
      );
    }
    // After SIGTERM: every request served — none refused, reset or answered 503.
    const after = sent.filter((s) => s.phase === 'after');
    expect(after.length).toBeGreaterThan(0);
    expect(
      after
        .filter((s) => !isOk(s.outcome))
        .map((s) => ('status' in s.outcome ? s.outcome.status : s.outcome.error)),
    ).toEqual([]);
    console.info(
      `sigterm: ${before.length} requests before SIGTERM, ${after.length} during the drain delay, ` +
        `${heldSent.length} held across the close: all 2xx`,
    );

    // Slack: the process posted what it could; the rest waits in the Redis outbox. Drain it.
    slack.setFallback(ok());
    const expected: string[] = [];
    // A caller put in the queue (both agents held by earlier calls) is not an "incoming call" that
    // rings agents, and hanging up there is told once, as "hung up in queue" (docs/interface.md §4, §7).
    const queued = new Set(
      sent
        .filter((s) => s.route === 'inbound' && isOk(s.outcome))
        .filter((s) => /<Enqueue/.test((s.outcome as { body?: string }).body ?? ''))
        .map((s) => s.call),
    );
    for (const s of sent) {
      if (!isOk(s.outcome)) continue;
      if (s.route === 'inbound' && queued.has(s.call)) continue;
      if (queued.has(s.call)) expected.push(`🚪 ${caller(s.call)} hung up in queue`);
      else
        expected.push(
          `${s.route === 'inbound' ? '📞 Incoming call' : '📵 Abandoned call'} from ${caller(s.call)}`,
        );
    }
    const postedByProcess = slack.accepted().length;
    const drainRedis = new Redis(dbUrl, { keyPrefix: KEY_PREFIX, maxRetriesPerRequest: 1 });
    const worker = new OutboxWorker({
      outbox: redisOutbox(drainRedis),
      sink: createSlackWebhookSink(slack.url, { minIntervalMs: 0 }),
      logger: pino({ level: 'silent' }),
      minIntervalMs: 0,
      idlePollMs: 20,
    });
    worker.start();
    // Once Slack is behind, a call's missed alert carries its unsent incoming one (src/alerts/outbox.ts).
    const callEvents = () =>
      slack
        .accepted()
        .flatMap(slackTexts)
        .map(
          (t) => /^((📞 Incoming call|📵 Abandoned call) from \+\d+|🚪 \+\d+ hung up in queue)/u.exec(t)?.[0],
        )
        .filter((t): t is string => t !== undefined);
    try {
      await eventually(() => expect(callEvents().length).toBeGreaterThanOrEqual(expected.length), 30_000);
      await new Promise((res) => setTimeout(res, 100)); // nothing more arrives
    } finally {
      await worker.stop();
      await drainRedis.quit();
    }
    const delivered = callEvents();
    expect(delivered.sort()).toEqual(expected.sort());
    expect(slack.requests.every((r) => r.status === 200)).toBe(true);
    expect(postedByProcess).toBeLessThan(expected.length); // the outbox really carried messages over
  }, 60_000);
});
