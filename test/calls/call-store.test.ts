import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallStore } from '../../src/calls/call-store.js';
import type { AgentRef, CallEvent, CallState } from '../../src/calls/call-types.js';
import { MemoryCallStore } from '../../src/calls/memory-call-store.js';
import { RedisCallStore } from '../../src/calls/redis-call-store.js';
import { coalesceWrites } from '../../src/redis.js';
import { testRedis } from '../setup/redis.js';
import { describeBackends, type Implementations } from '../support/describe-backends.js';
import { osWriteCounter } from '../support/os-writes.js';

type StatusEvent = Extract<CallEvent, { kind: 'status' }>;

const T0 = Date.parse('2026-11-20T10:00:00Z');
const alice: AgentRef = { id: 'a1', name: 'Alice', sip: 'sip:alice@sip.telnyx.com' };
const bob: AgentRef = { id: 'b1', name: 'Bob', sip: 'sip:bob@sip.telnyx.com' };

const inbound = (sid: string, at = T0): CallEvent => ({
  kind: 'inbound',
  sid,
  from: '+13125550100',
  to: '+13125550199',
  at,
});
const round = (attempt: number, targets: AgentRef[], at: number): CallEvent => ({
  kind: 'dial-started',
  attempt,
  targets,
  at,
});
const leg = (
  legSid: string,
  parentSid: string,
  status: 'initiated' | 'ringing' | 'in-progress' | 'completed' | 'no-answer' | 'canceled',
  seq: number,
  at: number,
  agent?: AgentRef,
): StatusEvent => ({ kind: 'status', legSid, parentSid, status, seq, at, agent, to: agent?.sip });
const caller = (
  sid: string,
  status: 'ringing' | 'in-progress' | 'completed',
  seq: number,
  at: number,
): CallEvent => ({
  kind: 'status',
  legSid: sid,
  status,
  seq,
  at,
});

/** Both implementations; a second `one()` on Redis is a second replica on the same keys. */
const implementations: Implementations<CallStore> = {
  memory: () => new MemoryCallStore(3600),
  // The clock of the events: calls started on T0 are running, not weeks old.
  redis: (redis) => new RedisCallStore(redis, 3600, () => T0),
};

describeBackends('call store', (backend) => {
  let store: CallStore;
  beforeEach(() => {
    store = backend.one(implementations);
  });
  afterEach(async () => {
    if (store instanceof MemoryCallStore) await store.close();
  });

  it('creates a call, records rounds and lists it as active', async () => {
    const r1 = await store.update('c1', inbound('c1'));
    expect(r1.changed).toBe(true);
    await store.update('c1', round(1, [alice, bob], T0 + 1000));
    const s = await store.get('c1');
    expect(s).toMatchObject({
      sid: 'c1',
      from: '+13125550100',
      attempts: 1,
      rung: ['a1', 'b1'],
      phase: 'ringing-agents',
    });
    expect((await store.active()).map((c) => c.sid)).toEqual(['c1']);
    const tl = await store.timeline('c1');
    expect(tl.map((e) => e.type)).toEqual(['call-received', 'ring-round']);
  });

  it('answers with the wait time, once, despite duplicate and out-of-order callbacks', async () => {
    await store.update('c2', inbound('c2'));
    const r = await store.update('c2', round(1, [alice, bob], T0 + 500));
    expect(r.pending.map((p) => p.id)).toEqual(['alert:incoming']);
    await store.ack('c2', ['alert:incoming']);

    // completed of Alice's leg arrives before her answered callback
    const answered = leg('L1', 'c2', 'in-progress', 2, T0 + 12_000, alice);
    const completed: CallEvent = {
      ...leg('L1', 'c2', 'completed', 3, T0 + 72_000, alice),
      answeredAt: T0 + 12_000,
    };
    const a = await store.update('c2', completed);
    expect(a.state?.answeredAt).toBe(T0 + 12_000);
    expect(a.pending.map((p) => p.id).sort()).toEqual(['alert:answered', 'answered-by', 'idle:L1']);
    const late = await store.update('c2', answered);
    expect(late.changed).toBe(false);
    expect((await store.get('c2'))?.legs['L1']?.status).toBe('completed');
    const dup = await store.update('c2', completed);
    expect(dup.changed).toBe(false);
    // still pending until acknowledged: a retry re-drives them
    expect(dup.pending).toHaveLength(3);
    await store.ack(
      'c2',
      dup.pending.map((p) => p.id),
    );
    expect((await store.update('c2', completed)).pending).toEqual([]);

    const end = await store.update('c2', caller('c2', 'completed', 3, T0 + 73_000));
    expect(end.state).toMatchObject({ outcome: 'answered', phase: 'ended' });
    const completedAlert = end.pending.find((p) => p.id === 'alert:completed');
    expect(completedAlert).toMatchObject({ alert: { agent: 'Alice', waitSeconds: 12, talkSeconds: 60 } });
    expect(await store.active()).toEqual([]);
  });

  it('applies several events as one write, with the effects of each', async () => {
    const r = await store.update('cm', [
      inbound('cm'),
      round(1, [alice], T0 + 100),
      round(1, [bob], T0 + 200),
    ]);
    expect(r.state).toMatchObject({ attempts: 1, rung: ['a1'] });
    expect(r.pending.map((p) => p.id)).toEqual(['alert:incoming']);
    expect((await store.timeline('cm')).map((e) => e.type)).toEqual(['call-received', 'ring-round']);
    expect((await store.update('cm', [round(1, [alice], T0)])).changed).toBe(false);
  });

  it('hands out pending effects in the order they were owed, whatever the hash does', async () => {
    await store.update('co', [inbound('co'), round(1, [alice, bob], T0)]);
    await store.update('co', leg('LA', 'co', 'ringing', 1, T0 + 1000, alice));
    // The Dial action reports the bridge before the leg's own answer: answered, then completed.
    await store.update('co', {
      kind: 'dial-ended',
      dialStatus: 'completed',
      dialLeg: 'LA',
      dialDuration: 60,
      attempt: 1,
      at: T0 + 70_000,
    });
    // The caller's own `completed` ends the call (the Dial action does not).
    const r = await store.update('co', caller('co', 'completed', 5, T0 + 70_500));
    expect(r.pending.map((p) => p.id)).toEqual([
      'alert:incoming',
      'alert:answered',
      'answered-by',
      'caller-ended',
      'alert:completed',
      'finished',
    ]);
    expect(r.pending.find((p) => p.id === 'alert:completed')).toMatchObject({
      alert: { agent: 'Alice', talkSeconds: 60 },
    });
  });

  it('never moves a status back', async () => {
    await store.update('c3', inbound('c3'));
    await store.update('c3', caller('c3', 'in-progress', 2, T0 + 1000));
    const back = await store.update('c3', caller('c3', 'ringing', 1, T0 + 900));
    expect(back.changed).toBe(false);
    expect((await store.get('c3'))?.status).toBe('in-progress');
  });

  it('loses no update when two replicas apply callbacks of one call at once', async () => {
    const other = backend.name === 'redis' ? backend.one(implementations) : store;
    await store.update('c4', inbound('c4'));
    await store.update('c4', round(1, [alice, bob], T0));
    const events: CallEvent[] = [];
    for (let i = 0; i < 20; i++) {
      events.push(leg(`L${i}`, 'c4', 'ringing', 1, T0 + i, i % 2 ? alice : bob));
      events.push(leg(`L${i}`, 'c4', 'no-answer', 3, T0 + 20_000 + i, i % 2 ? alice : bob));
    }
    await Promise.all(events.map((e, i) => (i % 2 ? store : other).update('c4', e)));
    const s = await store.get('c4');
    expect(Object.keys(s?.legs ?? {})).toHaveLength(20);
    expect(Object.values(s?.legs ?? {}).every((l) => l.status === 'no-answer')).toBe(true);
  });

  it('holds a voicemail decision until the recording reports, and lists it as due', async () => {
    await store.update('c5', inbound('c5'));
    await store.update('c5', { kind: 'voicemail-started', reason: 'no-agents', at: T0 + 2000 });
    const hung = await store.update('c5', caller('c5', 'completed', 3, T0 + 10_000));
    expect(hung.state?.outcome).toBeUndefined();
    expect(hung.state?.finalizeAt).toBe(T0 + 70_000);
    expect(await store.dueForFinalize(T0 + 69_999)).toEqual([]);
    expect(await store.dueForFinalize(T0 + 70_000)).toEqual(['c5']);
    const fin = await store.update('c5', { kind: 'finalize', at: T0 + 70_000 });
    expect(fin.state?.outcome).toBe('missed');
    expect(fin.pending.find((p) => p.id === 'alert:missed')).toMatchObject({
      alert: { reason: 'no-agents' },
    });
    expect(await store.dueForFinalize(T0 + 100_000)).toEqual([]);
  });

  it('what a caller does to a returned state does not reach the store', async () => {
    const first = await store.update('own', inbound('own'));
    // Scribbled on by a careless caller: neither the stored call nor what this replica remembers
    // of it (the next commit builds on that memory) may change.
    (first.state as CallState).from = '+19999999999';
    (first.state as CallState).legs.fake = { sid: 'fake', status: 'ringing', seq: 1 } as never;
    const next = await store.update('own', caller('own', 'in-progress', 2, T0 + 1000));
    expect(next.state?.from).toBe('+13125550100');
    expect(next.state?.legs.fake).toBeUndefined();
    (next.state as CallState).status = 'completed';
    expect((await store.get('own'))?.status).toBe('in-progress');
    expect((await store.get('own'))?.from).toBe('+13125550100');
  });

  it('returns null for an unknown call and an empty timeline', async () => {
    expect(await store.get('nope')).toBeNull();
    expect(await store.timeline('nope')).toEqual([]);
  });
});

describe('redis call store expiry', () => {
  it('expires a finished call after the TTL and a running one later', async () => {
    const redis = testRedis();
    try {
      const store = new RedisCallStore(redis, 120);
      await store.update('x', inbound('x'));
      expect(await redis.ttl('call:{x}')).toBeGreaterThan(120);
      await store.update('x', caller('x', 'completed', 3, T0 + 5000));
      const ttl = await redis.ttl('call:{x}');
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
    } finally {
      await redis.quit();
    }
  });
});

describe.each([
  {
    name: 'memory',
    open: (now: () => number) => {
      const store = new MemoryCallStore(3600, now);
      return { store: store as CallStore, close: async (): Promise<void> => store.close() };
    },
  },
  {
    name: 'redis',
    open: (now: () => number) => {
      const redis: Redis = testRedis();
      return {
        store: new RedisCallStore(redis, 3600, now) as CallStore,
        close: async (): Promise<void> => void (await redis.quit()),
      };
    },
  },
])('active calls index ($name)', ({ open }) => {
  it('counts running calls exactly, and drops a call whose completed callback never came once it is older than a call can live', async () => {
    let now = T0;
    const { store, close } = open(() => now);
    try {
      await store.update('lost', inbound('lost', T0));
      now = T0 + 1000;
      await store.update('done', inbound('done', now));
      now = T0 + 2000;
      await store.update('live', inbound('live', now));
      now = T0 + 9000;
      await store.update('done', caller('done', 'completed', 3, now));
      expect(await store.activeCount()).toBe(2);

      // TTL 1 h + the 4 h a call can last: 'lost' never got its completed callback.
      now = T0 + 5 * 3600_000 + 1000;
      await store.update('fresh', inbound('fresh', now));
      // 'live' started within the horizon (2 s after 'lost') and is still counted.
      now = T0 + 5 * 3600_000 + 1500;
      expect(await store.activeCount()).toBe(2);
      expect((await store.active()).map((c) => c.sid).sort()).toEqual(['fresh', 'live']);
    } finally {
      await close();
    }
  });
});

describe('redis active calls index', () => {
  it('prunes stale entries by score beyond the newest 10,000 and counts with one ZCARD', async () => {
    const redis = testRedis();
    try {
      let now = T0;
      const store = new RedisCallStore(redis, 3600, () => now);
      await store.update('old', inbound('old', T0));
      now = T0 + 6 * 3600_000;
      // 10,000 newer entries in front of it (written directly: the index alone is what is tested).
      const p = redis.pipeline();
      for (let i = 0; i < 10_000; i++) p.zadd('calls:active', now - i, `n${i}`);
      await p.exec();
      await store.active(10);
      expect(await redis.zscore('calls:active', 'old')).toBeNull();

      const commands: string[] = [];
      const monitor = redis.sendCommand.bind(redis);
      redis.sendCommand = ((cmd: { name: string }) => {
        commands.push(cmd.name);
        return monitor(cmd as never);
      }) as typeof redis.sendCommand;
      // active(10) dropped the 10 entries it read that have no call state behind them.
      expect(await store.activeCount()).toBe(9_990);
      redis.sendCommand = monitor;
      expect(commands.filter((c) => c === 'hget' || c === 'hmget')).toEqual([]);
      expect(commands.length).toBeLessThanOrEqual(4);
    } finally {
      await redis.quit();
    }
  });

  it('a repeated callback of an ended call removes a leftover index entry', async () => {
    const redis = testRedis();
    try {
      const store = new RedisCallStore(redis, 3600, () => T0);
      await store.update('x', inbound('x'));
      await store.update('x', caller('x', 'completed', 3, T0 + 5000));
      // The replica that ended it died before updating the index:
      await redis.zadd('calls:active', T0, 'x');
      await store.update('x', caller('x', 'completed', 3, T0 + 5000));
      expect(await store.activeCount()).toBe(0);
    } finally {
      await redis.quit();
    }
  });
});

describe('redis call store round trips', () => {
  /** Counts the commands a client sends (EVALSHA and its EVAL fallback count once each). */
  function counting(redis: Redis): () => string[] {
    const sent: string[] = [];
    const original = redis.sendCommand.bind(redis);
    redis.sendCommand = ((cmd: { name: string }, ...rest: unknown[]) => {
      if (cmd.name !== 'eval' || sent.at(-1) !== 'evalsha') sent.push(cmd.name);
      // `rest` carries a pipeline's stream: dropping it would send each command on its own.
      return original(cmd as never, ...(rest as []));
    }) as typeof redis.sendCommand;
    return () => sent.splice(0);
  }

  it('writes a new call and each later callback it committed itself in one round trip, no read first', async () => {
    const redis = testRedis();
    try {
      const store = new RedisCallStore(redis, 3600, () => T0);
      await redis.ping(); // connected: the handshake is not counted
      const sent = counting(redis);
      await store.update('rt', inbound('rt'));
      // The compare-and-set, then the active index (another slot, so not inside the script).
      expect(sent()).toEqual(['evalsha', 'zadd', 'zremrangebyscore']);
      await store.update('rt', caller('rt', 'in-progress', 2, T0 + 1000));
      expect(sent()).toEqual(['evalsha']);
      // A duplicate: one read (state and pending effects together), no write.
      const dup = await store.update('rt', caller('rt', 'in-progress', 2, T0 + 1000));
      expect(dup.changed).toBe(false);
      expect(sent()).toEqual(['evalsha']);
    } finally {
      await redis.quit();
    }
  });

  /**
   * Counts the socket writes that reach the operating system (one `write`/`writev` each), for a
   * client that coalesces the commands of one turn of the event loop, as the app's does.
   */
  function socketWrites(redis: Redis): () => number {
    coalesceWrites(redis);
    return osWriteCounter(redis);
  }

  it('a new call and its index entry go out in one socket write; so does its end', async () => {
    const redis = testRedis();
    try {
      const store = new RedisCallStore(redis, 3600, () => T0);
      await redis.ping();
      const writes = socketWrites(redis);
      await store.update('one', inbound('one'));
      expect(writes()).toBe(1);
      expect(await store.activeCount()).toBe(1);
      writes();
      await store.update('one', caller('one', 'completed', 3, T0 + 5000));
      expect(writes()).toBe(1);
      expect(await store.activeCount()).toBe(0);
    } finally {
      await redis.quit();
    }
  });

  it('acknowledgements made in one turn of the event loop go out in one socket write, done before they resolve', async () => {
    const redis = testRedis();
    const prefix = redis.options.keyPrefix as string;
    const other = testRedis(prefix);
    try {
      const store = new RedisCallStore(redis, 3600, () => T0);
      const replica = new RedisCallStore(other, 3600, () => T0);
      const sids = ['b1', 'b2', 'b3'];
      for (const sid of sids) await store.update(sid, [inbound(sid), round(1, [bob], T0 + 100)]);
      const writes = socketWrites(redis);
      await Promise.all(sids.map((sid) => store.ack(sid, ['alert:incoming'])));
      expect(writes()).toBe(1);
      // Resolved means stored: another replica is not handed them again.
      for (const sid of sids)
        expect((await replica.update(sid, round(1, [bob], T0 + 100))).pending).toEqual([]);
    } finally {
      await Promise.all([redis.quit(), other.quit()]);
    }
  });

  it('index writes guessed from a stale memory are set right from what is stored', async () => {
    const redis = testRedis();
    const prefix = redis.options.keyPrefix as string;
    const other = testRedis(prefix);
    try {
      const a = new RedisCallStore(redis, 3600, () => T0);
      const b = new RedisCallStore(other, 3600, () => T0);
      // b saw the whole call; a gets Telnyx's retry of the inbound request afterwards and guesses
      // "a new call" (an active index entry) before the compare-and-set tells it otherwise.
      await b.update('late', inbound('late'));
      await b.update('late', caller('late', 'completed', 3, T0 + 5000));
      expect(await b.activeCount()).toBe(0);
      const r = await a.update('late', inbound('late'));
      expect(r.changed).toBe(false);
      expect(await a.activeCount()).toBe(0);
      expect(await redis.zscore('calls:active', 'late')).toBeNull();
      // Still running: the entry keeps the start b stored, not the one a guessed.
      await b.update('run', inbound('run'));
      expect((await a.update('run', inbound('run', T0 + 200))).changed).toBe(false);
      expect(Number(await redis.zscore('calls:active', 'run'))).toBe(T0);
    } finally {
      await Promise.all([redis.quit(), other.quit()]);
    }
  });

  it('a replica whose remembered state is stale applies the event to what another replica stored', async () => {
    const redis = testRedis();
    const prefix = redis.options.keyPrefix as string;
    const other = testRedis(prefix);
    try {
      const a = new RedisCallStore(redis, 3600, () => T0);
      const b = new RedisCallStore(other, 3600, () => T0);
      await a.update('st', inbound('st'));
      await b.update('st', round(1, [alice, bob], T0 + 500)); // a's memory is now one version behind
      await b.update('st', leg('LA', 'st', 'ringing', 1, T0 + 600, alice));
      const sent = counting(redis);
      const r = await a.update('st', leg('LA', 'st', 'in-progress', 2, T0 + 2000, alice));
      expect(r.changed).toBe(true);
      expect(r.state).toMatchObject({ attempts: 1, rung: ['a1', 'b1'], answeredLeg: 'LA' });
      expect(r.pending.map((p) => p.id)).toContain('alert:answered');
      // The stale try came back with the stored state; the retry committed: two scripts, no read.
      expect(sent().filter((c) => c === 'evalsha')).toHaveLength(2);
      expect(await b.get('st')).toEqual(r.state);
      // And b, now stale itself, still sees a's write.
      const done = await b.update('st', leg('LA', 'st', 'completed', 3, T0 + 9000, alice));
      expect(done.state?.legs.LA?.status).toBe('completed');
      expect(done.state?.answeredLeg).toBe('LA');
    } finally {
      await Promise.all([redis.quit(), other.quit()]);
    }
  });

  it('a memory of a call whose keys are gone starts over from "no call"', async () => {
    const redis = testRedis();
    try {
      const store = new RedisCallStore(redis, 3600, () => T0);
      await store.update('gone', inbound('gone'));
      await store.update('gone', round(1, [alice], T0 + 100));
      await redis.del('call:{gone}', 'call:{gone}:tl', 'call:{gone}:fx');
      const r = await store.update('gone', inbound('gone', T0 + 200));
      expect(r.changed).toBe(true);
      expect(r.state?.attempts ?? 0).toBe(0);
      expect((await store.get('gone'))?.sid).toBe('gone');
    } finally {
      await redis.quit();
    }
  });
});

describe('memory call store cap', () => {
  it('evicts the oldest finished calls past the cap and never a running one', async () => {
    const store = new MemoryCallStore(3600, () => T0, 3);
    try {
      for (let i = 1; i <= 3; i++) await store.update(`run${i}`, inbound(`run${i}`));
      for (let i = 1; i <= 5; i++) {
        await store.update(`f${i}`, inbound(`f${i}`));
        await store.update(`f${i}`, caller(`f${i}`, 'completed', 3, T0 + 1000 * i));
      }
      expect(await store.get('f1')).toBeNull();
      expect(await store.get('f2')).toBeNull();
      expect((await store.timeline('f1')).length).toBe(0);
      for (const sid of ['f3', 'f4', 'f5', 'run1', 'run2', 'run3'])
        expect(await store.get(sid)).not.toBeNull();
      expect(await store.activeCount()).toBe(3);
    } finally {
      store.close();
    }
  });
});
