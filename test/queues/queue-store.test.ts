import { expect, it } from 'vitest';
import { MemoryQueueStore } from '../../src/queues/memory-queue-store.js';
import { isStickyOffer } from '../../src/queues/queue-entry.js';
import type { QueueStore, QueueStoreOptions } from '../../src/queues/queue-store.js';
import { RedisQueueStore } from '../../src/queues/redis-queue-store.js';
import { describeBackends, type Implementations } from '../support/describe-backends.js';

const T = Date.parse('2026-12-01T10:00:00Z');
const s = (seconds: number) => T + seconds * 1000;

const impl = (options: QueueStoreOptions = {}): Implementations<QueueStore> => ({
  memory: () => new MemoryQueueStore(options),
  redis: (redis) => new RedisQueueStore(redis, options),
});

const join = (store: QueueStore, callSid: string, at: number, queue = 'support', maxWaiting = 50) =>
  store.enqueue(
    { callSid, queue, caller: `+1312555${callSid.padStart(4, '0').slice(-4)}` },
    { now: at, maxWaiting },
  );

describeBackends('queue store', (backend) => {
  it('places callers in first-join order and tells each their position', async () => {
    const store = backend.one(impl());
    expect(await join(store, 'C1', s(0))).toMatchObject({ ok: true, position: 1, rejoined: false });
    expect(await join(store, 'C2', s(1))).toMatchObject({ ok: true, position: 2 });
    expect(await join(store, 'C3', s(2), 'sales')).toMatchObject({ ok: true, position: 1 });
    expect(await store.position('C2')).toBe(2);
    expect(await store.position('nope')).toBeUndefined();
    const line = await store.list('support', s(10));
    expect(line.map((e) => [e.callSid, e.position, e.waitSeconds])).toEqual([
      ['C1', 1, 10],
      ['C2', 2, 9],
    ]);
    expect(line[0]).toMatchObject({
      queue: 'support',
      caller: expect.stringMatching(/^\+1312555/),
      firstJoinedAt: s(0),
    });
  });

  it('breaks a tie of join times by enqueue order, deterministically', async () => {
    const store = backend.one(impl());
    for (const sid of ['Z', 'A', 'M']) await join(store, sid, s(0));
    expect((await store.list('support', s(1))).map((e) => e.callSid)).toEqual(['Z', 'A', 'M']);
    expect((await store.claimNext(['support'], 'a1', s(1)))?.callSid).toBe('Z');
  });

  it('refuses a caller when the line is full, saying why; a repeated enqueue changes nothing', async () => {
    const store = backend.one(impl());
    await join(store, 'C1', s(0), 'support', 2);
    await join(store, 'C2', s(1), 'support', 2);
    expect(await join(store, 'C3', s(2), 'support', 2)).toEqual({
      ok: false,
      reason: 'full',
      waiting: 2,
      maxWaiting: 2,
    });
    expect(await join(store, 'C1', s(3), 'support', 2)).toMatchObject({
      ok: true,
      rejoined: true,
      position: 1,
      entry: { firstJoinedAt: s(0) },
    });
    expect(await store.get('C3')).toBeUndefined();
  });

  it('a caller coming back with their first join time gets their place back', async () => {
    const store = backend.one(impl());
    await join(store, 'C1', s(0));
    await join(store, 'C2', s(5));
    const removed = await store.remove('C1', 'voicemail', s(6));
    await join(store, 'C3', s(7));
    const back = await store.enqueue(
      { callSid: 'C1', queue: 'support', caller: 'x', firstJoinedAt: removed!.entry.firstJoinedAt },
      { now: s(8), maxWaiting: 50 },
    );
    expect(back).toMatchObject({ ok: true, position: 1 });
    expect((await store.list('support', s(9))).map((e) => e.callSid)).toEqual(['C1', 'C2', 'C3']);
  });

  it('claims the longest-waiting caller across the agent’s queues and marks them offered', async () => {
    const store = backend.one(impl());
    await join(store, 'S1', s(5), 'sales');
    await join(store, 'P1', s(3), 'support');
    await join(store, 'B1', s(1), 'billing');
    const first = await store.claimNext(['sales', 'support'], 'a1', s(10));
    expect(first).toMatchObject({ callSid: 'P1', offeredTo: 'a1', offeredAt: s(10) });
    expect((await store.claimNext(['sales', 'support'], 'a2', s(10)))?.callSid).toBe('S1');
    expect(await store.claimNext(['sales', 'support'], 'a3', s(10))).toBeUndefined();
    expect(await store.claimNext([], 'a3', s(10))).toBeUndefined();
    // Being offered does not change anyone's place.
    expect(await store.position('P1')).toBe(1);
  });

  it('an unanswered offer puts the caller back at the same place, ahead of later callers', async () => {
    const store = backend.one(impl());
    await join(store, 'C1', s(0));
    await join(store, 'C2', s(1));
    expect((await store.claimNext(['support'], 'a1', s(2)))?.callSid).toBe('C1');
    expect((await store.claimNext(['support'], 'a2', s(2)))?.callSid).toBe('C2');
    expect(await store.release('C1', 'a2', { rangOut: true })).toBeUndefined(); // not a2's offer: stale
    expect(await store.release('C1', 'a1', { rangOut: true })).toMatchObject({ callSid: 'C1', ringOuts: 1 });
    expect(await store.release('C1', 'a1', { rangOut: true })).toBeUndefined(); // duplicate: counts nothing
    expect(await store.get('C1')).not.toHaveProperty('offeredTo');
    expect((await store.get('C1'))?.ringOuts).toBe(1);
    await join(store, 'C3', s(3));
    expect((await store.claimNext(['support'], 'a3', s(4)))?.callSid).toBe('C1');
    // Withdrawn (the caller was given to someone else, ring-all lost the race): no ring-out.
    const withdrawn = await store.release('C1', 'a3');
    expect(withdrawn?.ringOuts).toBe(1);
    expect(withdrawn).not.toHaveProperty('offeredTo');
  });

  it('a caller held for their preferred agent: only that agent, and first, until the hold ends (§5.1)', async () => {
    const store = backend.one(impl());
    await join(store, 'OLD', s(0));
    const held = await store.enqueue(
      {
        callSid: 'HELD',
        queue: 'support',
        caller: '+13125550111',
        preferredAgent: 'alice',
        preferredUntil: s(25),
      },
      { now: s(10), maxWaiting: 50 },
    );
    expect(held).toMatchObject({
      ok: true,
      position: 2,
      entry: { preferredAgent: 'alice', preferredUntil: s(25) },
    });
    await join(store, 'NEW', s(12));
    // Bob takes the longest-waiting caller, then the next one not held for someone else.
    expect((await store.claimNext(['support'], 'bob', s(14)))?.callSid).toBe('OLD');
    expect((await store.claimNext(['support'], 'carol', s(14)))?.callSid).toBe('NEW');
    expect(await store.claimNext(['support'], 'dave', s(14))).toBeUndefined();
    // Alice gets her caller before any longer-waiting one.
    await store.release('OLD', 'bob');
    const mine = await store.claimNext(['support'], 'alice', s(20));
    expect(mine).toMatchObject({ callSid: 'HELD', offeredTo: 'alice', preferredAgent: 'alice' });
    expect(isStickyOffer(mine!)).toBe(true);
    // Her offer ends unanswered: the hold is used up, anyone may take the caller now.
    const back = await store.release('HELD', 'alice', { rangOut: true });
    expect(back).not.toHaveProperty('preferredAgent');
    expect(back).not.toHaveProperty('preferredUntil');
    expect((await store.claimNext(['support'], 'dave', s(21)))?.callSid).toBe('OLD');
    expect((await store.claimNext(['support'], 'erin', s(21)))?.callSid).toBe('HELD');
  });

  it('a hold ends by itself at preferredUntil; then the caller is in line like anyone', async () => {
    const store = backend.one(impl());
    await store.enqueue(
      {
        callSid: 'HELD',
        queue: 'support',
        caller: '+13125550111',
        preferredAgent: 'alice',
        preferredUntil: s(15),
      },
      { now: s(0), maxWaiting: 50 },
    );
    await join(store, 'LATER', s(1));
    expect((await store.claimNext(['support'], 'bob', s(14)))?.callSid).toBe('LATER');
    expect(await store.claimNext(['support'], 'carol', s(14))).toBeUndefined();
    const claimed = await store.claimNext(['support'], 'carol', s(15));
    expect(claimed).toMatchObject({ callSid: 'HELD', offeredTo: 'carol' });
    expect(isStickyOffer(claimed!)).toBe(false);
    // Alice, late: her caller is no longer held for her (not a sticky ring).
    await store.release('HELD', 'carol');
    const late = await store.claimNext(['support'], 'alice', s(16));
    expect(late?.callSid).toBe('HELD');
    expect(isStickyOffer(late!)).toBe(false);
  });

  it('an offer nobody released lapses after offerTimeoutSeconds', async () => {
    const store = backend.one(impl({ offerTimeoutSeconds: 60 }));
    await join(store, 'C1', s(0));
    await store.claimNext(['support'], 'a1', s(1));
    expect(await store.claimNext(['support'], 'a2', s(60))).toBeUndefined();
    expect(await store.claimNext(['support'], 'a2', s(61))).toMatchObject({ callSid: 'C1', offeredTo: 'a2' });
  });

  it('one pending claim per agent: another claim for that agent claims nobody until settled or lapsed', async () => {
    const [a, b] = backend.pair(impl());
    await join(a, 'C1', s(0));
    await join(a, 'C2', s(1));
    await join(a, 'C3', s(2));
    expect((await a.claimNext(['support'], 'a1', s(10)))?.callSid).toBe('C1');
    // The same agent, from the other replica, before the first claim is settled: nobody.
    expect(await b.claimNext(['support'], 'a1', s(10))).toBeUndefined();
    // Other agents are not held up.
    expect((await b.claimNext(['support'], 'a2', s(10)))?.callSid).toBe('C2');
    // Settling another caller's claim changes nothing; settling this one frees the agent.
    await b.settleClaim('a1', 'C2');
    expect(await b.claimNext(['support'], 'a1', s(11))).toBeUndefined();
    await b.settleClaim('a1', 'C1');
    expect((await b.claimNext(['support'], 'a1', s(11)))?.callSid).toBe('C3');
    // A claim never settled (its replica died) lapses after claimGuardSeconds (5 s).
    await a.release('C3', 'a1');
    expect(await a.claimNext(['support'], 'a1', s(15))).toBeUndefined();
    expect((await a.claimNext(['support'], 'a1', s(16)))?.callSid).toBe('C3');
  });

  it('remove answers once, with the wait and the place the caller had', async () => {
    const store = backend.one(impl());
    await join(store, 'C1', s(0));
    await join(store, 'C2', s(4));
    await join(store, 'C3', s(8));
    const removed = await store.remove('C2', 'abandon', s(34));
    expect(removed).toMatchObject({
      reason: 'abandon',
      waitSeconds: 30,
      position: 2,
      entry: { callSid: 'C2' },
    });
    expect(await store.remove('C2', 'abandon', s(35))).toBeUndefined();
    expect(await store.position('C3')).toBe(2);
  });

  it('two replicas removing the same caller: exactly one gets it', async () => {
    const [a, b] = backend.pair(impl());
    await join(a, 'C1', s(0));
    const results = await Promise.all([a.remove('C1', 'connect', s(5)), b.remove('C1', 'abandon', s(5))]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('two replicas claiming for two free agents never offer the same caller twice', async () => {
    const [a, b] = backend.pair(impl());
    for (let i = 0; i < 10; i++) await join(a, `C${i}`, s(i));
    const claims = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).claimNext(['support'], `agent${i}`, s(20))),
    );
    const sids = claims.filter(Boolean).map((e) => e!.callSid);
    expect(sids).toHaveLength(10);
    expect(new Set(sids).size).toBe(10);
    for (const e of claims.filter(Boolean)) expect((await a.get(e!.callSid))?.offeredTo).toBe(e!.offeredTo);
  });

  it('a callback keeps its place, waits for its retry time, and is removed after its last attempt', async () => {
    const store = backend.one(impl());
    await join(store, 'C1', s(0));
    await join(store, 'C2', s(10));
    expect(await store.requestCallback('C1', '+13125550101', s(60))).toMatchObject({
      callback: { number: '+13125550101', requestedAt: s(60), attempts: 0, nextAttemptAt: s(60) },
    });
    // Asking twice keeps the first request.
    expect((await store.requestCallback('C1', '+1999', s(61)))?.callback?.number).toBe('+13125550101');
    expect(await store.requestCallback('gone', '+1', s(61))).toBeUndefined();
    expect(await store.position('C1')).toBe(1);
    expect(await store.position('C2')).toBe(2);

    expect((await store.claimNext(['support'], 'a1', s(70)))?.callSid).toBe('C1');
    const failed = await store.callbackAttemptFailed('C1', {
      now: s(100),
      retrySeconds: 300,
      maxAttempts: 2,
    });
    expect(failed).toMatchObject({
      exhausted: false,
      entry: { callback: { attempts: 1, nextAttemptAt: s(400) } },
    });
    expect(failed?.entry).not.toHaveProperty('offeredTo');
    // Not yet due: the next caller goes first; the callback still holds place 1.
    expect((await store.claimNext(['support'], 'a1', s(200)))?.callSid).toBe('C2');
    await store.remove('C2', 'connect', s(201));
    expect(await store.claimNext(['support'], 'a1', s(399))).toBeUndefined();
    expect((await store.claimNext(['support'], 'a1', s(400)))?.callSid).toBe('C1');
    const last = await store.callbackAttemptFailed('C1', { now: s(430), retrySeconds: 300, maxAttempts: 2 });
    expect(last).toMatchObject({
      exhausted: true,
      removed: { reason: 'callback-failed', waitSeconds: 430, position: 1 },
    });
    expect(await store.get('C1')).toBeUndefined();
    expect(
      await store.callbackAttemptFailed('C1', { now: s(431), retrySeconds: 300, maxAttempts: 2 }),
    ).toBeUndefined();
  });

  it('refuses a callback to a caller being offered, records the attempt in progress, and counts a failure once', async () => {
    const store = backend.one(impl());
    await join(store, 'C1', s(0));
    await join(store, 'C2', s(5));
    await store.claimNext(['support'], 'a1', s(10));
    // C1 is being offered: pressing 1 now changes nothing (the caller is about to be connected).
    expect((await store.requestCallback('C1', '+13125550101', s(11)))?.callback).toBeUndefined();
    await store.release('C1', 'a1');
    expect(
      await store.requestCallback('C1', '+13125550101', s(12), { base: 'https://sb.example.com' }),
    ).toMatchObject({ callback: { base: 'https://sb.example.com', attempts: 0 } });

    expect((await store.claimNext(['support'], 'a2', s(20)))?.callSid).toBe('C1');
    // Only the agent it is offered to records the attempt.
    expect(await store.callbackAttemptStarted('C1', 'a9', 'v3:out-1')).toBeUndefined();
    expect(await store.callbackAttemptStarted('C1', 'a2', 'v3:out-1')).toMatchObject({
      offeredTo: 'a2',
      callback: { attemptSid: 'v3:out-1' },
    });
    const o = { now: s(60), retrySeconds: 30, maxAttempts: 3 };
    // A report about another call, another attempt or another agent counts nothing.
    expect(await store.callbackAttemptFailed('C1', { ...o, attemptSid: 'v3:other' })).toBeUndefined();
    expect(await store.callbackAttemptFailed('C1', { ...o, attempt: 2 })).toBeUndefined();
    expect(await store.callbackAttemptFailed('C1', { ...o, agentId: 'a9' })).toBeUndefined();
    const guard = { agentId: 'a2', attempt: 1, attemptSid: 'v3:out-1' };
    const failed = await store.callbackAttemptFailed('C1', { ...o, ...guard });
    expect(failed).toMatchObject({
      exhausted: false,
      entry: { callback: { attempts: 1, nextAttemptAt: s(90) } },
    });
    expect(failed?.entry.callback).not.toHaveProperty('attemptSid');
    expect(failed?.entry).not.toHaveProperty('offeredTo');
    // The same report again (another replica, a re-run effect): already counted.
    expect(await store.callbackAttemptFailed('C1', { ...o, ...guard })).toBeUndefined();
    expect(await store.position('C1')).toBe(1);
  });

  it('summarizes each queue: waiting, callbacks, offered, longest wait', async () => {
    const store = backend.one(impl());
    await join(store, 'C1', s(0));
    await join(store, 'C2', s(10));
    await join(store, 'C3', s(20));
    await store.requestCallback('C2', '+13125550102', s(30));
    await store.claimNext(['support'], 'a1', s(40));
    expect(await store.summaries(['support', 'sales'], s(45))).toEqual([
      { queue: 'support', waiting: 3, callbacks: 1, offered: 1, longestWaitSeconds: 45 },
      { queue: 'sales', waiting: 0, callbacks: 0, offered: 0, longestWaitSeconds: 0 },
    ]);
  });

  it('drops entries older than maxAgeSeconds (a lost hang-up leaves no ghost)', async () => {
    const store = backend.one(impl({ maxAgeSeconds: 3600 }));
    await join(store, 'OLD', s(0), 'support', 2);
    await join(store, 'NEW', s(1800), 'support', 2);
    // The stale caller is not offered, and does not count against maxWaiting.
    expect((await store.claimNext(['support'], 'a1', s(3600)))?.callSid).toBe('NEW');
    await join(store, 'OLD2', s(3601), 'other');
    expect((await join(store, 'X', s(3601), 'support', 2)).ok).toBe(true);
    expect(await store.get('OLD')).toBeUndefined();
    const pruned = await store.prune(s(7300));
    expect(pruned.map((e) => e.callSid).sort()).toEqual(['NEW', 'OLD2', 'X']);
    expect(await store.summaries(['support', 'other'], s(7300))).toMatchObject([
      { waiting: 0 },
      { waiting: 0 },
    ]);
  });

  if (backend.name === 'redis') {
    it('keeps every key in one hash tag and lets them all expire', async () => {
      const store = backend.one(impl({ maxAgeSeconds: 3600 }));
      await join(store, 'C1', s(0));
      await join(store, 'C2', s(1));
      await store.claimNext(['support'], 'a1', s(2)); // its pending claim stays behind
      const raw = backend.redis();
      const prefix = raw.options.keyPrefix ?? '';
      const keys = (await raw.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).sort();
      expect(keys).toEqual([
        'queues:{queues}:claiming',
        'queues:{queues}:entries',
        'queues:{queues}:line:support',
        'queues:{queues}:seq',
      ]);
      for (const key of keys) {
        const ttl = await raw.ttl(key);
        expect(ttl).toBeGreaterThan(3500);
        expect(ttl).toBeLessThanOrEqual(3600);
      }
    });

    it('a held caller is listed in the held set, in the hash tag, with the same expiry', async () => {
      const store = backend.one(impl({ maxAgeSeconds: 3600 }));
      await store.enqueue(
        { callSid: 'H', queue: 'support', caller: 'x', preferredAgent: 'alice', preferredUntil: s(15) },
        { now: s(0), maxWaiting: 50 },
      );
      const raw = backend.redis();
      const [member, score] = await raw.zrange('queues:{queues}:held', '0', '-1', 'WITHSCORES');
      expect({ member: JSON.parse(member!), score: Number(score) }).toEqual({
        member: { a: 'alice', s: 'H' },
        score: s(15),
      });
      expect(await raw.ttl('queues:{queues}:held')).toBeGreaterThan(3500);
      // A claim after the hold drops it from the set.
      await store.claimNext(['support'], 'bob', s(16));
      expect(await raw.zcard('queues:{queues}:held')).toBe(0);
    });

    it('an unreadable entry is dropped, not left blocking the line', async () => {
      const store = backend.one(impl());
      await join(store, 'C1', s(0));
      await join(store, 'C2', s(1));
      await backend.redis().hset('queues:{queues}:entries', 'C1', '{broken');
      expect((await store.claimNext(['support'], 'a1', s(2)))?.callSid).toBe('C2');
      expect((await store.list('support', s(3))).map((e) => e.callSid)).toEqual(['C2']);
    });

    it('rejects queue names that would break the hash tag', async () => {
      const store = backend.one(impl());
      await expect(join(store, 'C1', s(0), 'a{b}')).rejects.toThrow(RangeError);
    });
  }
});
