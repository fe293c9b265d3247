import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import type { MemoryOutbox } from '../../src/alerts/memory-outbox.js';
import {
  callSidOf,
  DEFAULT_FOLD_DEPTH,
  eventsOf,
  type Outbox,
  type OutboxMessage,
  type OutboxOptions,
} from '../../src/alerts/outbox.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';
import { describeBackends } from '../support/describe-backends.js';
import { memoryOutbox, redisOutbox } from './outboxes.js';
import { sampleAlerts } from './sample-alerts.js';

const missed = (n: number) => ({ ...sampleAlerts.missed, callSid: `v3:call-${n}` });

/** A call alert of `type` for call `sid`. */
const call = <T extends 'incoming' | 'answered' | 'completed' | 'missed'>(type: T, sid: string) =>
  ({ ...sampleAlerts[type], callSid: sid }) as Alert;

/** Delivers everything (as the worker would), returning the messages in delivery order. */
async function drain(outbox: Outbox): Promise<OutboxMessage[]> {
  const out: OutboxMessage[] = [];
  for (let head = await outbox.peek(); head; head = await outbox.peek()) {
    out.push(head.message!);
    expect(await outbox.ack(head)).toBe(true);
  }
  return out;
}

const drainKeys = async (outbox: Outbox) => (await drain(outbox)).map((m) => m.key);

function sumCounts(...all: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const counts of all) for (const [k, n] of Object.entries(counts)) out[k] = (out[k] ?? 0) + n;
  return out;
}

/** Opens outboxes that share one store (two Redis clients = two replicas; memory: one object). */
interface Harness {
  open(options?: Omit<OutboxOptions, 'lease'>): Outbox;
  /** A second outbox on the same store, as another replica would have. */
  openPeer(options?: Omit<OutboxOptions, 'lease'>): Outbox;
}

const clients: Redis[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.quit()));
});

describeBackends('outbox (shared suite)', (backend) => {
  const makeHarness = (): Harness => {
    if (backend.name === 'redis') {
      const make = (options?: Omit<OutboxOptions, 'lease'>) => redisOutbox(backend.redis(), options);
      return { open: make, openPeer: make };
    }
    let shared: MemoryOutbox | undefined;
    return {
      open: (options) => {
        shared = memoryOutbox(options);
        return shared;
      },
      openPeer: () => shared!,
    };
  };

  it('enqueue is idempotent by key, also after delivery', async () => {
    const outbox = makeHarness().open();
    expect(await outbox.enqueue('missed:1', missed(1))).toBe(true);
    expect(await outbox.enqueue('missed:1', missed(1))).toBe(false);
    expect(await outbox.depth()).toBe(1);

    const head = await outbox.peek();
    expect(await outbox.ack(head!)).toBe(true);
    expect(await outbox.depth()).toBe(0);
    expect(await outbox.enqueue('missed:1', missed(1))).toBe(false);
    expect(await outbox.depth()).toBe(0);
    expect(outbox.counters()).toMatchObject({ enqueued: 1, duplicates: 2, delivered: 1 });
  });

  it('concurrent enqueues of one key from two replicas store one message', async () => {
    const harness = makeHarness();
    const a = harness.open();
    const b = harness.openPeer();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).enqueue('answered:9', sampleAlerts.answered)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await a.depth()).toBe(1);
  });

  it('keeps order and the alert exactly as enqueued', async () => {
    const outbox = makeHarness().open();
    for (let i = 1; i <= 5; i++) await outbox.enqueue(`missed:${i}`, missed(i));
    expect(await outbox.depth()).toBe(5);
    const seen: string[] = [];
    for (let head = await outbox.peek(); head; head = await outbox.peek()) {
      expect(head.message?.alert).toEqual(missed(seen.length + 1));
      seen.push(head.message!.key);
      await outbox.ack(head);
    }
    expect(seen).toEqual(['missed:1', 'missed:2', 'missed:3', 'missed:4', 'missed:5']);
  });

  it('peek leaves the head in place; ack pops only the message that was posted', async () => {
    const harness = makeHarness();
    const outbox = harness.open();
    const peer = harness.openPeer();
    await outbox.enqueue('k1', missed(1));
    await outbox.enqueue('k2', missed(2));
    const head = (await outbox.peek())!;
    expect((await outbox.peek())!.raw).toBe(head.raw);

    // Another replica delivered and removed it meanwhile: our late ack must not remove k2.
    expect(await peer.ack((await peer.peek())!)).toBe(true);
    expect(await outbox.ack(head)).toBe(false);
    expect(await outbox.deadLetter(head, { reason: 'invalid_blocks', status: 400 })).toBe(false);
    expect(await outbox.depth()).toBe(1);
    expect((await outbox.peek())!.message!.key).toBe('k2');
  });

  it('dead-letters a refused message with Slack’s error, newest first, capped', async () => {
    const outbox = makeHarness().open({ deadLetterLimit: 2 });
    for (let i = 1; i <= 3; i++) await outbox.enqueue(`k${i}`, missed(i));
    for (let i = 1; i <= 3; i++) {
      expect(await outbox.deadLetter((await outbox.peek())!, { reason: `error_${i}`, status: 400 })).toBe(
        true,
      );
    }
    expect(await outbox.depth()).toBe(0);
    const dead = await outbox.deadLetters();
    expect(dead.map((d) => [d.message?.key, d.reason, d.status])).toEqual([
      ['k3', 'error_3', 400],
      ['k2', 'error_2', 400],
    ]);
    expect(dead[0]!.message!.alert).toEqual(missed(3));
    expect(Date.parse(dead[0]!.failedAt)).not.toBeNaN();
    expect(outbox.counters()).toMatchObject({ failed: 3, delivered: 0 });
  });

  it('the lease has one holder at a time, renews for its owner, and is free after release or expiry', async () => {
    const harness = makeHarness();
    const a = harness.open();
    const b = harness.openPeer();
    expect(await a.acquireLease('worker-a', 10_000)).toBe(true);
    expect(await b.acquireLease('worker-b', 10_000)).toBe(false);
    expect(await a.acquireLease('worker-a', 10_000)).toBe(true);
    await b.releaseLease('worker-b');
    expect(await b.acquireLease('worker-b', 10_000)).toBe(false);
    await a.releaseLease('worker-a');
    expect(await b.acquireLease('worker-b', 60)).toBe(true);
    expect(await a.acquireLease('worker-a', 10_000)).toBe(false);
    await sleep(120);
    expect(await a.acquireLease('worker-a', 10_000)).toBe(true);
  });

  it('shares the earliest next post time between replicas', async () => {
    const harness = makeHarness();
    const a = harness.open();
    const b = harness.openPeer();
    expect(await b.pauseRemainingMs()).toBe(0);
    await a.pauseFor(5_000);
    const remaining = await b.pauseRemainingMs();
    expect(remaining).toBeGreaterThan(4_000);
    expect(remaining).toBeLessThanOrEqual(5_000);
    await a.pauseFor(0);
    expect(await b.pauseRemainingMs()).toBe(0);
    await a.pauseFor(50);
    await sleep(80);
    expect(await b.pauseRemainingMs()).toBe(0);
  });

  it('signals local enqueues (not duplicates) to wake the worker', async () => {
    const outbox = makeHarness().open();
    let calls = 0;
    const unsubscribe = outbox.onEnqueue(() => {
      calls += 1;
    });
    await outbox.enqueue('k1', missed(1));
    await outbox.enqueue('k1', missed(1));
    unsubscribe();
    await outbox.enqueue('k2', missed(2));
    expect(calls).toBe(1);
  });

  it('delivers urgent alerts first, each lane oldest first', async () => {
    const outbox = makeHarness().open();
    await outbox.enqueue('i1', call('incoming', 'c1'));
    await outbox.enqueue('roster', sampleAlerts['roster-changed']);
    await outbox.enqueue('m2', call('missed', 'c2'));
    await outbox.enqueue('low', sampleAlerts['low-balance']);
    expect(await drainKeys(outbox)).toEqual(['m2', 'low', 'i1', 'roster']);
  });

  it('folds a call’s unsent routine alerts into the one that tells the rest of the story, on any replica', async () => {
    const harness = makeHarness();
    const a = harness.open({ foldDepth: 0 });
    const b = harness.openPeer({ foldDepth: 0 });
    await a.enqueue('call:c1:incoming', call('incoming', 'c1'));
    await a.enqueue('call:c2:incoming', call('incoming', 'c2'));
    await b.enqueue('call:c1:answered', call('answered', 'c1'));
    await a.enqueue('call:c1:completed', call('completed', 'c1'));
    await b.enqueue('call:c2:missed', call('missed', 'c2'));
    expect(await a.depth()).toBe(2);

    const missedHead = (await a.peek())!;
    expect(eventsOf(missedHead.message!).map((e) => `${e.type}:${callSidOf(e)}`)).toEqual([
      'incoming:c2',
      'missed:c2',
    ]);
    await a.ack(missedHead);
    const completed = (await a.peek())!;
    expect(completed.message!.key).toBe('call:c1:completed');
    expect(completed.message!.alert).toEqual(call('completed', 'c1'));
    expect(completed.message!.folded!.map((m) => m.key)).toEqual(['call:c1:answered']);
    expect(eventsOf(completed.message!).map((e) => e.type)).toEqual(['incoming', 'answered', 'completed']);
    await a.ack(completed);
    expect(await a.depth()).toBe(0);
    // Each replica counts what its own enqueues folded.
    const superseded = [a, b].reduce<Record<string, number>>((sum, o) => {
      for (const [k, n] of Object.entries(o.counters().superseded)) sum[k] = (sum[k] ?? 0) + n;
      return sum;
    }, {});
    if (a !== b) expect(superseded).toEqual({ incoming: 2, answered: 1 });
    else expect(a.counters().superseded).toEqual({ incoming: 2, answered: 1 });
  });

  it('folds only once Slack is behind (foldDepth messages waiting)', async () => {
    const outbox = makeHarness().open({ foldDepth: 3 });
    await outbox.enqueue('call:c1:incoming', call('incoming', 'c1'));
    await outbox.enqueue('call:c1:answered', call('answered', 'c1'));
    await outbox.enqueue('call:c2:incoming', call('incoming', 'c2'));
    // Three waiting now: the next alert of c2 replaces its unsent incoming.
    await outbox.enqueue('call:c2:missed', call('missed', 'c2'));
    expect(await drainKeys(outbox)).toEqual(['call:c2:missed', 'call:c1:incoming', 'call:c1:answered']);
  });

  it('an urgent alert does not overtake its own call’s unsent alerts while Slack keeps up', async () => {
    const harness = makeHarness();
    const a = harness.open();
    const b = harness.openPeer();
    await a.enqueue('call:c1:incoming', call('incoming', 'c1'));
    await a.enqueue('call:c2:incoming', call('incoming', 'c2'));
    await a.enqueue('call:c2:answered', call('answered', 'c2'));
    await b.enqueue('call:c2:missed', call('missed', 'c2'));
    expect(await drainKeys(a)).toEqual([
      'call:c2:incoming',
      'call:c2:answered',
      'call:c2:missed',
      'call:c1:incoming',
    ]);
  });

  it('never folds the message being posted, nor lets its call’s urgent alert overtake it if that post fails', async () => {
    const outbox = makeHarness().open({ foldDepth: 0 });
    await outbox.enqueue('call:c1:incoming', call('incoming', 'c1'));
    const head = (await outbox.peek())!;
    await outbox.enqueue('call:c1:missed', call('missed', 'c1'));
    // Slack said 500: the worker peeks again and must get the incoming, not the missed.
    expect((await outbox.peek())!.raw).toBe(head.raw);
    expect(await outbox.ack(head)).toBe(true);
    const next = (await outbox.peek())!;
    expect(next.message!.alert.type).toBe('missed');
    expect(next.message!.folded).toBeUndefined();
  });

  it('replaces queued chatter with one summary past the routine limit; urgent and other routine alerts stay', async () => {
    const harness = makeHarness();
    const a = harness.open({ routineLimit: 5 });
    const b = harness.openPeer({ routineLimit: 5 });
    await a.enqueue('roster', sampleAlerts['roster-changed']);
    let events = 0;
    for (let i = 0; i < 40; i++) {
      const o = i % 2 ? a : b;
      await o.enqueue(`call:c${i}:incoming`, call('incoming', `c${i}`));
      events += 1;
      if (i % 3 === 0) {
        await o.enqueue(`call:c${i}:missed`, call('missed', `c${i}`));
        events += 1;
      }
      // Routine limit + summary + urgent alerts + earlier alerts they took along before folding began.
      expect(await a.depth()).toBeLessThanOrEqual(5 + 1 + 14 + DEFAULT_FOLD_DEPTH);
    }
    const delivered = await drain(a);
    const urgent = delivered.filter((m) => m.alert.type === 'missed');
    expect(urgent).toHaveLength(14);
    const lastUrgent = delivered.findLastIndex((m) => m.alert.type === 'missed');
    expect(lastUrgent).toBeLessThan(delivered.findIndex((m) => m.alert.type === 'backlog'));
    expect(lastUrgent).toBeLessThan(delivered.findIndex((m) => m.alert.type === 'roster-changed'));
    expect(delivered.filter((m) => m.alert.type === 'roster-changed')).toHaveLength(1);
    const summaries = delivered.filter((m) => m.alert.type === 'backlog');
    expect(summaries.length).toBeGreaterThan(0);
    // Every event reached Slack once: on its own, folded into another, or counted in a summary.
    const counted = delivered.reduce((n, m) => {
      if (m.alert.type === 'backlog') return n + Object.values(m.alert.counts).reduce((x, y) => x + y, 0);
      return n + (m.alert.type === 'roster-changed' ? 0 : eventsOf(m).length);
    }, 0);
    expect(counted).toBe(events);
    const summarized =
      a === b ? a.counters().summarized : sumCounts(a.counters().summarized, b.counters().summarized);
    expect(Object.values(summarized).reduce((x, y) => x + y, 0)).toBe(
      summaries.reduce(
        (n, m) =>
          n +
          Object.values((m.alert as { counts: Record<string, number> }).counts).reduce((x, y) => x + y, 0),
        0,
      ),
    );
  });

  it('counts retries', async () => {
    const outbox = makeHarness().open();
    outbox.recordRetry();
    outbox.recordRetry();
    expect(outbox.counters()).toEqual({
      enqueued: 0,
      duplicates: 0,
      delivered: 0,
      failed: 0,
      retries: 2,
      superseded: {},
      summarized: {},
    });
  });
});

describe('RedisOutbox specifics', () => {
  it('keeps every key under one hash tag, remembers keys for 7 days, and survives a new client', async () => {
    const prefix = uniquePrefix();
    const redis = testRedis(prefix);
    clients.push(redis);
    const outbox = redisOutbox(redis);
    await outbox.enqueue('voicemail:v3:abc', sampleAlerts.voicemail);
    await outbox.acquireLease('w', 10_000);
    await outbox.pauseFor(10_000);
    await outbox.deadLetter((await outbox.peek())!, { reason: 'no_service', status: 404 });
    await outbox.enqueue('k2', missed(2));

    const raw = testRedis('');
    clients.push(raw);
    const keys = (await raw.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).sort();
    expect(keys).toEqual([
      // The deliverer's lease is the job store's run lease (src/jobs/redis-job-store.ts).
      'job:{outbox:slack}:running',
      'outbox:{slack}:dead',
      'outbox:{slack}:pause',
      'outbox:{slack}:seen:k2',
      'outbox:{slack}:seen:voicemail:v3:abc',
      'outbox:{slack}:seq',
      'outbox:{slack}:urgent',
    ]);
    const ttl = await raw.ttl(`${prefix}outbox:{slack}:seen:k2`);
    expect(ttl).toBeGreaterThan(7 * 24 * 3600 - 10);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600);

    const fresh = testRedis(prefix);
    clients.push(fresh);
    const restarted = redisOutbox(fresh);
    expect(await restarted.depth()).toBe(1);
    expect((await restarted.deadLetters())[0]).toMatchObject({ reason: 'no_service', status: 404 });
  });

  it('an unreadable stored message can be dead-lettered instead of blocking the queue', async () => {
    const redis = testRedis();
    clients.push(redis);
    const outbox = redisOutbox(redis);
    await redis.zadd('outbox:{slack}:urgent', 0, 'not json');
    await outbox.enqueue('k1', missed(1));
    const head = (await outbox.peek())!;
    expect(head.message).toBeUndefined();
    expect(await outbox.deadLetter(head, { reason: 'unreadable' })).toBe(true);
    expect((await outbox.peek())!.message!.key).toBe('k1');
  });

  it('after a restart, later chatter still folds into the unsent summary and messages of the call', async () => {
    const prefix = uniquePrefix();
    const first = testRedis(prefix);
    clients.push(first);
    const before = redisOutbox(first, { routineLimit: 3, foldDepth: 0 });
    for (let i = 0; i < 4; i++) await before.enqueue(`call:c${i}:incoming`, call('incoming', `c${i}`));
    await before.enqueue('call:x:incoming', call('incoming', 'x'));
    await first.quit();
    clients.splice(clients.indexOf(first), 1);

    const second = testRedis(prefix);
    clients.push(second);
    const after = redisOutbox(second, { routineLimit: 3, foldDepth: 0 });
    await after.enqueue('call:x:missed', call('missed', 'x'));
    for (let i = 4; i < 8; i++) await after.enqueue(`call:c${i}:incoming`, call('incoming', `c${i}`));
    const delivered = await drain(after);
    expect(delivered.map((m) => m.alert.type)).toEqual(['missed', 'backlog', 'incoming']);
    expect(eventsOf(delivered[0]!).map((e) => e.type)).toEqual(['incoming', 'missed']);
    // Four summarized before the restart, three merged into that same summary after it.
    expect((delivered[1]!.alert as { counts: Record<string, number> }).counts).toEqual({ incoming: 7 });
    expect(delivered[2]!.key).toBe('call:c7:incoming');
  });

  it('moves the queue an earlier version left behind into the lanes, in order, urgent first', async () => {
    const redis = testRedis();
    clients.push(redis);
    const outbox = redisOutbox(redis);
    const legacy = (key: string, alert: object) =>
      JSON.stringify({ id: key, key, alert, enqueuedAt: '2026-12-01T00:00:00.000Z' });
    await redis.rpush(
      'outbox:{slack}:queue',
      legacy('a', sampleAlerts.incoming),
      legacy('b', missed(1)),
      legacy('c', sampleAlerts.completed),
    );
    expect(await outbox.depth()).toBe(3);
    const keys: string[] = [];
    for (let head = await outbox.peek(); head; head = await outbox.peek()) {
      keys.push(head.message!.key);
      await outbox.ack(head);
    }
    expect(keys).toEqual(['b', 'a', 'c']);
    expect(await redis.exists('outbox:{slack}:queue')).toBe(0);
  });

  it('two outboxes with different names do not share queue or lease', async () => {
    const prefix = uniquePrefix();
    const a = testRedis(prefix);
    const b = testRedis(prefix);
    clients.push(a, b);
    const slack = redisOutbox(a);
    const other = redisOutbox(b, { name: 'other' });
    await slack.enqueue('k', missed(1));
    expect(await other.depth()).toBe(0);
    expect(await other.enqueue('k', missed(1))).toBe(true);
    expect(await slack.acquireLease('w1', 1_000)).toBe(true);
    expect(await other.acquireLease('w2', 1_000)).toBe(true);
    expect(() => redisOutbox(a, { name: 'x}{y' })).toThrow();
  });
});

describe('MemoryOutbox specifics', () => {
  it('remembers at most maxSeenKeys dedupe keys, the oldest forgotten first', async () => {
    const outbox = memoryOutbox({ maxSeenKeys: 2 });
    for (const k of ['k1', 'k2', 'k3'])
      expect(await outbox.enqueue(k, sampleAlerts['roster-changed'])).toBe(true);
    expect(await outbox.enqueue('k3', sampleAlerts['roster-changed'])).toBe(false);
    expect(await outbox.enqueue('k1', sampleAlerts['roster-changed'])).toBe(true);
  });

  it('forgets seen keys after their TTL', async () => {
    let now = 1_000_000;
    const outbox = memoryOutbox({ seenTtlSeconds: 60, now: () => now });
    expect(await outbox.enqueue('k', missed(1))).toBe(true);
    now += 59_000;
    expect(await outbox.enqueue('k', missed(1))).toBe(false);
    now += 2_000;
    expect(await outbox.enqueue('k', missed(1))).toBe(true);
  });
});
