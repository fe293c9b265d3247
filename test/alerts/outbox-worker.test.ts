import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import type { Outbox } from '../../src/alerts/outbox.js';
import { OutboxWorker, type OutboxWorkerOptions } from '../../src/alerts/outbox-worker.js';
import type { RedisOutbox } from '../../src/alerts/redis-outbox.js';
import type { AlertSink } from '../../src/alerts/sink.js';
import { createAlertSink, createLogSink, createSlackWebhookSink } from '../../src/slack/sinks.js';
import { hangUp, invalidBlocks, noService, rateLimited, serverError } from '../fakes/slack-server.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { memoryOutbox, redisOutbox } from './outboxes.js';
import { sampleAlerts } from './sample-alerts.js';

/** A pino logger whose JSON lines land in `lines`. */
function captureLogger() {
  const lines: Array<Record<string, unknown> & { level: number; msg: string }> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()));
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, raw };
}

const missed = (n: number): Alert => ({ ...sampleAlerts.missed, callSid: `v3:call-${n}`, waitSeconds: n });
/** Which message a posted body is: the call sid in its context block. */
const callOf = (body: unknown): string => JSON.stringify(body).match(/v3:call-\d+/)?.[0] ?? '?';

async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// First, so that its after-hook (closing Slack) runs after the workers are stopped.
const slack = useFakeSlack();
let dispatcher: Agent;
const redisClients: Redis[] = [];
const workers: OutboxWorker[] = [];

beforeAll(() => {
  dispatcher = new Agent({ keepAliveTimeout: 1_000 });
});
afterAll(async () => {
  await dispatcher.close();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await Promise.all(redisClients.splice(0).map((c) => c.quit()));
});

const webhookSink = (): AlertSink =>
  createSlackWebhookSink(slack.url, { dispatcher, timeoutMs: 2_000, minIntervalMs: 20 });

function startWorker(outbox: Outbox, overrides: Partial<OutboxWorkerOptions> = {}) {
  const log = captureLogger();
  const worker = new OutboxWorker({
    outbox,
    sink: webhookSink(),
    logger: log.logger,
    idlePollMs: 20,
    leaseMs: 1_000,
    backoff: { baseMs: 10, capMs: 40 },
    ...overrides,
  });
  workers.push(worker);
  worker.start();
  return { worker, ...log };
}

function redisOutboxOn(prefix: string): RedisOutbox {
  const client = testRedis(prefix);
  redisClients.push(client);
  return redisOutbox(client);
}

const outboxes: Array<[string, () => Outbox]> = [
  ['RedisOutbox', () => redisOutboxOn(uniquePrefix())],
  ['MemoryOutbox', () => memoryOutbox()],
];

describe.each(outboxes)('OutboxWorker on %s', (_, makeOutbox) => {
  it('delivers each message once, in order, spaced by the minimum interval', async () => {
    const outbox = makeOutbox();
    for (let i = 1; i <= 5; i++) await outbox.enqueue(`missed:${i}`, missed(i));
    await outbox.enqueue('missed:3', missed(3));
    startWorker(outbox);

    await slack.waitForAccepted(5);
    await until(async () => (await outbox.depth()) === 0, 'empty outbox');
    await sleep(100);
    expect(slack.requests.map((r) => callOf(r.body))).toEqual([1, 2, 3, 4, 5].map((i) => `v3:call-${i}`));
    for (let i = 1; i < slack.requests.length; i++) {
      expect(slack.requests[i]!.receivedAt - slack.requests[i - 1]!.receivedAt).toBeGreaterThanOrEqual(19);
    }
    expect(outbox.counters()).toMatchObject({
      enqueued: 5,
      duplicates: 1,
      delivered: 5,
      failed: 0,
      retries: 0,
    });
  });

  it('wakes up at once when something is enqueued (no slow poll)', async () => {
    const outbox = makeOutbox();
    startWorker(outbox, { idlePollMs: 60_000 });
    await sleep(50);
    await outbox.enqueue('missed:1', missed(1));
    await slack.waitForAccepted(1, 5_000);
  });

  it('after a 429 with Retry-After: 1, posts nothing sooner than 1 s', async () => {
    const outbox = makeOutbox();
    slack.respond(rateLimited('1'));
    await outbox.enqueue('missed:1', missed(1));
    await outbox.enqueue('missed:2', missed(2));
    startWorker(outbox);

    await slack.waitForAccepted(2);
    await until(async () => (await outbox.depth()) === 0, 'empty outbox');
    const [limited, retried, next] = slack.requests;
    expect([limited!.status, retried!.status, next!.status]).toEqual([429, 200, 200]);
    expect(callOf(retried!.body)).toBe('v3:call-1');
    expect(retried!.receivedAt - limited!.receivedAt).toBeGreaterThanOrEqual(995);
    expect(outbox.counters()).toMatchObject({ retries: 1, delivered: 2 });
  });

  it('rides out an outage (500s and dropped sockets), then delivers everything in order', async () => {
    const outbox = makeOutbox();
    slack.respond(serverError(), serverError(), hangUp(), serverError(), serverError());
    for (let i = 1; i <= 3; i++) await outbox.enqueue(`missed:${i}`, missed(i));
    const { lines } = startWorker(outbox);

    await slack.waitForAccepted(3);
    await until(async () => (await outbox.depth()) === 0, 'empty outbox');
    expect(slack.requests.map((r) => `${callOf(r.body)} ${r.status}`)).toEqual([
      'v3:call-1 500',
      'v3:call-1 500',
      'v3:call-1 0',
      'v3:call-1 500',
      'v3:call-1 500',
      'v3:call-1 200',
      'v3:call-2 200',
      'v3:call-3 200',
    ]);
    expect(outbox.counters()).toMatchObject({ retries: 5, delivered: 3, failed: 0 });
    expect(lines.filter((l) => l.msg === 'Slack delivery failed; will retry').map((l) => l.reason)).toEqual([
      'rollup_error',
      'rollup_error',
      'UND_ERR_SOCKET',
      'rollup_error',
      'rollup_error',
    ]);
  });

  it('does not retry a permanent 4xx: dead-letters it, logs Slack’s error, moves on', async () => {
    const outbox = makeOutbox();
    slack.respond(invalidBlocks(), noService());
    for (let i = 1; i <= 3; i++) await outbox.enqueue(`missed:${i}`, missed(i));
    const { lines, raw } = startWorker(outbox);

    await slack.waitForAccepted(1);
    await until(async () => (await outbox.depth()) === 0, 'empty outbox');
    await sleep(100);
    expect(slack.requests.map((r) => `${callOf(r.body)} ${r.status}`)).toEqual([
      'v3:call-1 400',
      'v3:call-2 404',
      'v3:call-3 200',
    ]);
    const dead = await outbox.deadLetters();
    expect(dead.map((d) => [d.message?.key, d.reason, d.status])).toEqual([
      ['missed:2', 'no_service', 404],
      ['missed:1', 'invalid_blocks', 400],
    ]);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors.map((l) => l.reason)).toEqual(['invalid_blocks', 'no_service']);
    expect(outbox.counters()).toMatchObject({ failed: 2, delivered: 1, retries: 0 });
    expect(raw.join('')).not.toContain('fakeSecretToken');
    expect(raw.join('')).not.toContain(slack.url);
  });

  it('stop waits for the post in flight, removes it, and leaves the rest for the next worker', async () => {
    const outbox = makeOutbox();
    slack.respond({ status: 200, body: 'ok', delayMs: 300 });
    for (let i = 1; i <= 3; i++) await outbox.enqueue(`missed:${i}`, missed(i));
    const { worker } = startWorker(outbox);

    await slack.waitForRequests(1);
    await worker.stop();
    expect(slack.accepted().map(callOf)).toEqual(['v3:call-1']);
    expect(await outbox.depth()).toBe(2);
    await sleep(100);
    expect(slack.requests).toHaveLength(1);
    expect(await outbox.acquireLease('someone-else', 1_000)).toBe(true);
    await outbox.releaseLease('someone-else');

    startWorker(outbox);
    await slack.waitForAccepted(3);
    expect(slack.accepted().map(callOf)).toEqual(['v3:call-1', 'v3:call-2', 'v3:call-3']);
  });

  it('the log sink writes one readable line per message', async () => {
    const outbox = makeOutbox();
    const log = captureLogger();
    for (let i = 1; i <= 3; i++) await outbox.enqueue(`missed:${i}`, missed(i));
    await outbox.enqueue('missed:2', missed(2));
    await outbox.enqueue('voicemail', sampleAlerts.voicemail);
    startWorker(outbox, { sink: createLogSink(log.logger) });

    await until(async () => (await outbox.depth()) === 0, 'empty outbox');
    const slackLines = log.lines.filter((l) => l.level === 30 && l.msg.startsWith('[slack] '));
    expect(slackLines.map((l) => l.msg)).toEqual([
      '[slack] ❌ Missed call from +•••••••0100 after 1s (no agent answered)',
      '[slack] ❌ Missed call from +•••••••0100 after 2s (no agent answered)',
      '[slack] ❌ Missed call from +•••••••0100 after 3s (no agent answered)',
      '[slack] 📩 Voicemail from +•••••••0100 (1h 02m)',
    ]);
    expect(log.raw.join('')).not.toContain('13125550100');
    expect(slack.requests).toHaveLength(0);
  });
});

describe('createAlertSink', () => {
  it('posts to the webhook when one is configured, else writes to the log', async () => {
    const log = captureLogger();
    expect(createAlertSink(slack.url, log.logger, { dispatcher }).kind).toBe('slack-webhook');
    expect(createAlertSink(slack.url, log.logger, { dispatcher }).minIntervalMs).toBe(1_000);
    const logSink = createAlertSink(undefined, log.logger);
    expect(logSink.kind).toBe('log');
    expect(await logSink.deliver(sampleAlerts.answered)).toEqual({ outcome: 'delivered' });
    expect(log.lines.map((l) => l.msg)).toEqual(['[slack] ✅ Alice answered +•••••••0100 after 45s']);
  });

  it('an alert this version cannot render is rejected (dead-lettered), not retried forever', async () => {
    const sink = createSlackWebhookSink(slack.url, { dispatcher });
    const unknown = { type: 'from-the-future', at: '2024-01-01T00:00:00Z' } as unknown as Alert;
    expect(await sink.deliver(unknown)).toMatchObject({ outcome: 'rejected' });
    expect(slack.requests).toHaveLength(0);
  });
});

describe('OutboxWorker resilience', () => {
  it('stop interrupts a long backoff wait instead of sitting it out', async () => {
    const outbox = memoryOutbox();
    slack.setFallback(serverError());
    await outbox.enqueue('missed:1', missed(1));
    const { worker } = startWorker(outbox, { backoff: { baseMs: 120_000, capMs: 120_000 } });
    await slack.waitForRequests(1);
    await worker.stop(); // would exceed the test timeout if it waited out the 60-120 s backoff
    expect(await outbox.depth()).toBe(1);
  });

  it('keeps going when the store fails for a while, logging it once', async () => {
    const inner = memoryOutbox();
    let failures = 3;
    const peek = async () => {
      if (failures > 0) {
        failures -= 1;
        throw new Error('Connection is closed.');
      }
      return inner.peek();
    };
    const flaky = new Proxy(inner, {
      get(target, property) {
        if (property === 'peek') return peek;
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Outbox;
    await inner.enqueue('missed:1', missed(1));
    const { lines } = startWorker(flaky);
    await slack.waitForAccepted(1);
    expect(lines.filter((l) => l.msg === 'outbox store failed; retrying with backoff')).toHaveLength(1);
    await until(() => lines.some((l) => l.msg === 'outbox store reachable again'), 'recovery log');
  });

  it('renews its lease during a slow post, so no other replica posts the same message', async () => {
    const prefix = uniquePrefix();
    slack.respond({ status: 200, body: 'ok', delayMs: 800 });
    const a = redisOutboxOn(prefix);
    await a.enqueue('missed:1', missed(1));
    await a.enqueue('missed:2', missed(2));
    startWorker(a, { leaseMs: 300 });
    await slack.waitForRequests(1);
    startWorker(redisOutboxOn(prefix), { leaseMs: 300 });

    await slack.waitForAccepted(2);
    await until(async () => (await a.depth()) === 0, 'empty outbox');
    await sleep(100);
    expect(slack.requests.map((r) => callOf(r.body))).toEqual(['v3:call-1', 'v3:call-2']);
  });
});

describe('OutboxWorker across replicas (Redis)', () => {
  it('restart: worker A stops during a Slack outage, worker B on a new connection delivers everything', async () => {
    const prefix = uniquePrefix();
    slack.setFallback(serverError());
    const a = redisOutboxOn(prefix);
    for (let i = 1; i <= 4; i++) await a.enqueue(`missed:${i}`, missed(i));
    const workerA = startWorker(a);

    await slack.waitForRequests(3);
    await workerA.worker.stop();
    const failedPosts = slack.requests.length;
    expect(slack.accepted()).toHaveLength(0);

    slack.setFallback({ status: 200, body: 'ok' });
    const b = redisOutboxOn(prefix);
    expect(await b.depth()).toBe(4);
    startWorker(b);
    await slack.waitForAccepted(4);
    await until(async () => (await b.depth()) === 0, 'empty outbox');
    expect(slack.requests.slice(failedPosts).map((r) => callOf(r.body))).toEqual(
      [1, 2, 3, 4].map((i) => `v3:call-${i}`),
    );
    expect(b.counters()).toMatchObject({ delivered: 4 });
    expect(a.counters()).toMatchObject({ delivered: 0, retries: failedPosts });
  });

  it('two workers on one Redis with duplicate enqueues from both: each message exactly once at Slack', async () => {
    const prefix = uniquePrefix();
    const a = redisOutboxOn(prefix);
    const b = redisOutboxOn(prefix);
    startWorker(a);
    startWorker(b);
    for (let i = 1; i <= 10; i++) {
      const [first, second] = i % 2 ? [a, b] : [b, a];
      await first.enqueue(`missed:${i}`, missed(i));
      await second.enqueue(`missed:${i}`, missed(i));
    }

    await slack.waitForAccepted(10);
    await until(async () => (await a.depth()) === 0, 'empty outbox');
    await sleep(200);
    expect(slack.requests.map((r) => callOf(r.body))).toEqual(
      Array.from({ length: 10 }, (_, i) => `v3:call-${i + 1}`),
    );
    expect(a.counters().delivered + b.counters().delivered).toBe(10);
    expect(a.counters().duplicates + b.counters().duplicates).toBe(10);
  });

  it('takes over only when the previous deliverer’s lease expires', async () => {
    const prefix = uniquePrefix();
    const outbox = redisOutboxOn(prefix);
    await outbox.enqueue('missed:1', missed(1));
    // A deliverer that died without releasing its lease.
    expect(await outbox.acquireLease('dead-replica', 400)).toBe(true);
    const since = performance.now();
    startWorker(redisOutboxOn(prefix));

    await slack.waitForAccepted(1);
    expect(slack.requests[0]!.receivedAt - since).toBeGreaterThanOrEqual(300);
  });

  it('honours a shared Retry-After set by another replica before taking over', async () => {
    const prefix = uniquePrefix();
    const outbox = redisOutboxOn(prefix);
    await outbox.enqueue('missed:1', missed(1));
    const since = performance.now();
    await outbox.pauseFor(500);
    startWorker(redisOutboxOn(prefix));

    await slack.waitForAccepted(1);
    expect(slack.requests[0]!.receivedAt - since).toBeGreaterThanOrEqual(450);
  });

  it('dead-letters an unreadable stored message instead of blocking the queue', async () => {
    const prefix = uniquePrefix();
    const client = testRedis(prefix);
    redisClients.push(client);
    // Left in the list of an earlier version: peek moves it into the lanes first.
    await client.rpush('outbox:{slack}:queue', '{"broken":');
    const outbox = redisOutbox(client);
    await outbox.enqueue('roster:1', sampleAlerts['roster-changed']);
    const { lines } = startWorker(outbox);

    await slack.waitForAccepted(1);
    expect((await outbox.deadLetters())[0]).toMatchObject({ reason: 'unreadable', raw: '{"broken":' });
    expect(lines.some((l) => l.level === 50)).toBe(true);
    expect(await outbox.depth()).toBe(0);
  });
});
