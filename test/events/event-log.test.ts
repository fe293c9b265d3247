import { describe, expect, it } from 'vitest';
import type { CallCenterEvent } from '../../src/events/call-center-event.js';
import { decodeEvent } from '../../src/events/call-center-event.js';
import {
  compareIds,
  type EventLog,
  type EventLogOptions,
  eventsBetween,
} from '../../src/events/event-log.js';
import { MemoryEventLog } from '../../src/events/memory-event-log.js';
import { RedisEventLog } from '../../src/events/redis-event-log.js';
import { describeBackends, type Implementations } from '../support/describe-backends.js';

const impl = (options: EventLogOptions = {}): Implementations<EventLog> => ({
  memory: () => new MemoryEventLog(options),
  redis: (redis) => new RedisEventLog(redis, options),
});

const enter = (callSid: string, at = Date.now()): CallCenterEvent => ({
  type: 'enter-queue',
  at,
  queue: 'support',
  callSid,
  position: 1,
});

describeBackends('event log', (backend) => {
  it('hands events back in append order with increasing ids', async () => {
    const log = backend.one(impl());
    const ids = [await log.append(enter('C1')), ...(await log.appendMany([enter('C2'), enter('C3')]))];
    expect(ids).toHaveLength(3);
    expect([...ids].sort(compareIds)).toEqual(ids);
    expect(new Set(ids).size).toBe(3);
    const read = await log.read({ limit: 10 });
    expect(read.map((e) => [e.id, e.type === 'enter-queue' && e.callSid])).toEqual([
      [ids[0], 'C1'],
      [ids[1], 'C2'],
      [ids[2], 'C3'],
    ]);
    expect(read[0]).toMatchObject({ type: 'enter-queue', queue: 'support', position: 1 });
  });

  it('pages with since = the last id (exclusive) and a limit', async () => {
    const log = backend.one(impl());
    const ids = await log.appendMany(Array.from({ length: 7 }, (_, i) => enter(`C${i}`)));
    const page1 = await log.read({ limit: 3 });
    const page2 = await log.read({ since: page1.at(-1)!.id, limit: 3 });
    const page3 = await log.read({ since: page2.at(-1)!.id, limit: 3 });
    expect([...page1, ...page2, ...page3].map((e) => e.id)).toEqual(ids);
    expect(await log.read({ since: ids.at(-1)!, limit: 3 })).toEqual([]);
    await expect(log.read({ since: 'bogus', limit: 1 })).rejects.toThrow(RangeError);
  });

  it('reads a time window by append time: since (ms, inclusive) and until (ms, exclusive)', async () => {
    const log = backend.one(impl());
    const [first] = await log.appendMany([enter('C1')]);
    const firstMs = Number(first!.split('-')[0]);
    expect((await log.read({ since: firstMs, limit: 10 })).map((e) => e.id)).toEqual([first]);
    expect(await log.read({ since: firstMs + 1, limit: 10 })).toEqual([]);
    expect(await log.read({ until: firstMs, limit: 10 })).toEqual([]);
    expect((await log.read({ until: firstMs + 1, limit: 10 })).map((e) => e.id)).toEqual([first]);
  });

  it('two replicas appending share one order', async () => {
    const [a, b] = backend.pair(impl());
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).append(enter(`C${i}`))));
    const all = await a.read({ limit: 100 });
    expect(all).toHaveLength(20);
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort(compareIds));
    expect(await b.read({ limit: 100 })).toEqual(all);
  });

  it('feed cursors only move forward', async () => {
    const [a, b] = backend.pair(impl());
    const ids = await a.appendMany([enter('C1'), enter('C2'), enter('C3')]);
    expect(await a.cursor('postgres')).toBeUndefined();
    expect((await a.readAfter(undefined, 2)).map((e) => e.id)).toEqual(ids.slice(0, 2));
    expect(await a.advanceCursor('postgres', ids[1]!)).toBe(true);
    expect(await b.advanceCursor('postgres', ids[0]!)).toBe(false);
    expect(await b.cursor('postgres')).toBe(ids[1]);
    expect((await b.readAfter(ids[1], 10)).map((e) => e.event)).toEqual([enter('C3', expect.any(Number))]);
    await expect(a.advanceCursor('postgres', 'x')).rejects.toThrow(RangeError);
  });

  it('eventsBetween selects by when events happened, across pages', async () => {
    const log = backend.one(impl());
    const now = Date.now();
    await log.appendMany([
      enter('before', now - 3_600_000),
      enter('in1', now - 1_000),
      enter('in2', now - 500),
      enter('after', now + 3_600_000),
    ]);
    const events = await eventsBetween(log, now - 60_000, now + 60_000, { pageSize: 1 });
    expect(events.map((e) => e.type === 'enter-queue' && e.callSid)).toEqual(['in1', 'in2']);
  });

  if (backend.name === 'redis') {
    it('keeps one stream in the {events} tag and trims entries older than the retention', async () => {
      let now = Date.now();
      const raw = backend.redis();
      const log = new RedisEventLog(raw, { retentionDays: 40, now: () => now });
      for (let i = 0; i < 300; i++) await log.append(enter(`C${i}`));
      expect(await raw.xlen(log.streamKey)).toBe(300);
      now += 41 * 86_400_000;
      await log.append(enter('late'));
      // MINID ~ drops whole stream nodes (100 entries each by default): the old ones go.
      expect(await raw.xlen(log.streamKey)).toBeLessThan(101);
      const prefix = raw.options.keyPrefix ?? '';
      expect(await raw.keys(`${prefix}*`)).toEqual([`${prefix}events:{events}:log`]);
    });

    it('appends one event as one XADD and several as one script, trimmed alike (bench/RESULTS.md, wave 3)', async () => {
      let now = Date.now();
      const raw = backend.redis();
      const log = new RedisEventLog(raw, { retentionDays: 40, now: () => now });
      await log.appendMany([enter('warm1'), enter('warm2')]); // loads the script (EVALSHA, then EVAL)
      const sent: string[] = [];
      const client = raw as unknown as { sendCommand: (c: { name: string }, ...r: unknown[]) => unknown };
      const send = client.sendCommand.bind(raw);
      client.sendCommand = (c, ...r) => {
        sent.push(c.name);
        return send(c, ...r);
      };
      await log.append(enter('one'));
      const ids = await log.appendMany([enter('a'), enter('b'), enter('c')]);
      expect(sent).toEqual(['xadd', 'evalsha']);
      expect(ids).toHaveLength(3);
      expect([...ids].sort(compareIds)).toEqual(ids);
      const read = await log.read({ limit: 10 });
      expect(read.map((e) => e.type === 'enter-queue' && e.callSid)).toEqual([
        'warm1',
        'warm2',
        'one',
        'a',
        'b',
        'c',
      ]);
      expect(read.slice(3).map((e) => e.id)).toEqual(ids);
      for (let i = 0; i < 300; i++) await log.appendMany([enter(`C${i}`), enter(`D${i}`)]);
      now += 41 * 86_400_000;
      await log.appendMany([enter('late1'), enter('late2')]);
      expect(await raw.xlen(log.streamKey)).toBeLessThan(102);
    });

    it('passes over entries it cannot read', async () => {
      const raw = backend.redis();
      const log = new RedisEventLog(raw);
      await raw.xadd(log.streamKey, '*', 'e', '{"type":"from-the-future","at":1}');
      await log.append(enter('C1'));
      expect((await log.read({ limit: 10 })).map((e) => e.type)).toEqual(['enter-queue']);
      const feed = await log.readAfter(undefined, 10);
      expect(feed.map((e) => e.event?.type)).toEqual([undefined, 'enter-queue']);
    });
  }
});

describe('memory event log bounds', () => {
  it('keeps at most maxEntries and drops events older than the retention', async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    const log = new MemoryEventLog({ maxEntries: 3, retentionDays: 1, now: () => now });
    for (let i = 0; i < 5; i++) await log.append(enter(`C${i}`, now));
    expect((await log.read({ limit: 10 })).map((e) => e.type === 'enter-queue' && e.callSid)).toEqual([
      'C2',
      'C3',
      'C4',
    ]);
    now += 86_400_001;
    expect(await log.read({ limit: 10 })).toEqual([]);
  });

  it('never hands out a smaller id when the clock steps back', async () => {
    let now = 10_000;
    const log = new MemoryEventLog({ now: () => now });
    const a = await log.append(enter('C1', now));
    now = 5_000;
    const b = await log.append(enter('C2', now));
    expect(compareIds(a, b)).toBeLessThan(0);
  });
});

describe('decodeEvent', () => {
  it('accepts known events and rejects the rest', () => {
    expect(decodeEvent(JSON.stringify(enter('C1', 5)))).toEqual(enter('C1', 5));
    expect(decodeEvent('nope')).toBeUndefined();
    expect(decodeEvent('{"type":"enter-queue"}')).toBeUndefined();
    expect(decodeEvent('{"type":"unknown","at":1}')).toBeUndefined();
    expect(decodeEvent('null')).toBeUndefined();
  });
});
