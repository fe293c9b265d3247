import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/records/call-record.js';
import type {
  CallRecordStore,
  CallRecordStoreOptions,
  RecordFeed,
} from '../../src/records/call-record-store.js';

export type Store = CallRecordStore & RecordFeed;

/** Two handles on the same records, as two replicas would have (one store twice for memory). */
export interface StorePair {
  a: Store;
  b: Store;
  close(): Promise<void>;
}

export type StoreFactory = (options: CallRecordStoreOptions) => Promise<StorePair>;

const DAY = '2026-11-19';
const at = (time: string) => Date.parse(`${DAY}T${time}Z`);

export function record(sid: string, startedAt: number, over: Partial<CallRecord> = {}): CallRecord {
  return {
    sid,
    direction: 'inbound',
    caller: '+13125550100',
    callee: '+18005550199',
    agent: 'Alice',
    agentId: 'a1',
    rung: ['Alice', 'Bob'],
    startedAt: new Date(startedAt).toISOString(),
    answeredAt: new Date(startedAt + 10_000).toISOString(),
    endedAt: new Date(startedAt + 70_000).toISOString(),
    waitSeconds: 10,
    talkSeconds: 60,
    outcome: 'answered',
    ringRounds: 1,
    ...over,
  };
}

const sids = (records: CallRecord[]) => records.map((r) => r.sid).sort();

/** The behaviour every CallRecordStore (and its feed) must have; run once per implementation. */
export function callRecordStoreSuite(name: string, create: StoreFactory): void {
  describe(`${name} call record store`, () => {
    let pair: StorePair;
    let clock = at('23:00:00');

    beforeEach(async () => {
      clock = at('23:00:00');
      pair = await create({ now: () => clock, retentionDays: 2, feedMaxLength: 1000 });
    });
    afterEach(async () => {
      await pair.close();
    });

    it('appends a record once per sid, whichever replica sees it first', async () => {
      const r = record('C1', at('10:00:00'));
      expect(await pair.a.append(r)).toBe(true);
      expect(await pair.a.append(r)).toBe(false);
      expect(await pair.b.append({ ...r, talkSeconds: 61 })).toBe(false);
      const day = await pair.b.range(at('00:00:00'), at('23:59:59'));
      expect(day).toEqual([r]);
      expect((await pair.a.readAfter(undefined, 10)).map((e) => e.record)).toEqual([r]);
    });

    it('duplicated finishes racing on two replicas store one record', async () => {
      const r = record('C2', at('11:00:00'));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? pair.a : pair.b).append(r)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await pair.a.range(at('00:00:00'), at('23:59:59'))).toHaveLength(1);
      expect(await pair.b.readAfter(undefined, 100)).toHaveLength(1);
    });

    it('range selects by start time: from inclusive, to exclusive, whenever the call ended', async () => {
      const from = at('00:00:00');
      const to = from + 86_400_000;
      await pair.a.append(record('before', from - 1_000, { endedAt: new Date(from + 60_000).toISOString() }));
      await pair.a.append(record('first', from));
      await pair.a.append(record('late', to - 1, { endedAt: new Date(to + 3_600_000).toISOString() }));
      await pair.a.append(record('next-day', to));
      expect(sids(await pair.b.range(from, to))).toEqual(['first', 'late']);
      expect(sids(await pair.b.range(from - 1_000, from + 1))).toEqual(['before', 'first']);
      expect(await pair.b.range(from, from)).toEqual([]);
    });

    it('range spans UTC days: a local day in UTC+9 or UTC-5', async () => {
      const tokyoFrom = Date.parse('2026-11-18T15:00:00Z');
      const tokyoTo = Date.parse('2026-11-19T15:00:00Z');
      await pair.a.append(record('t1', Date.parse('2026-11-18T16:00:00Z')));
      await pair.a.append(record('t2', Date.parse('2026-11-19T14:59:59Z')));
      await pair.a.append(record('out', Date.parse('2026-11-19T15:00:00Z')));
      expect(sids(await pair.a.range(tokyoFrom, tokyoTo))).toEqual(['t1', 't2']);
      const nyFrom = Date.parse('2026-11-19T05:00:00Z');
      expect(sids(await pair.a.range(nyFrom, nyFrom + 86_400_000))).toEqual(['out', 't2']);
    });

    it('refuses an inverted or overly wide range', async () => {
      await expect(pair.a.range(at('10:00:00'), at('09:00:00'))).rejects.toThrow(RangeError);
      await expect(pair.a.range(0, 400 * 86_400_000)).rejects.toThrow(RangeError);
    });

    it('feed: append order, pages after a cursor, cursors only move forward', async () => {
      for (let i = 1; i <= 5; i++) await pair.a.append(record(`F${i}`, at('12:00:00') - i * 60_000));
      const page1 = await pair.b.readAfter(undefined, 2);
      expect(page1.map((e) => e.record?.sid)).toEqual(['F1', 'F2']);
      const page2 = await pair.b.readAfter(page1[1]?.id, 10);
      expect(page2.map((e) => e.record?.sid)).toEqual(['F3', 'F4', 'F5']);
      expect(await pair.a.readAfter(page2[2]?.id, 10)).toEqual([]);

      expect(await pair.a.cursor('pg')).toBeUndefined();
      expect(await pair.a.advanceCursor('pg', page2[0]!.id)).toBe(true);
      expect(await pair.b.cursor('pg')).toBe(page2[0]!.id);
      expect(await pair.b.advanceCursor('pg', page1[1]!.id)).toBe(false);
      expect(await pair.b.advanceCursor('pg', page2[0]!.id)).toBe(false);
      expect(await pair.a.cursor('pg')).toBe(page2[0]!.id);
      expect(await pair.a.cursor('other')).toBeUndefined();
      expect((await pair.a.readAfter(await pair.a.cursor('pg'), 10)).map((e) => e.record?.sid)).toEqual([
        'F4',
        'F5',
      ]);
    });

    it('keeps what it returns apart from what it stores', async () => {
      await pair.a.append(record('M1', at('08:00:00')));
      const [got] = await pair.a.range(at('00:00:00'), at('23:00:00'));
      got!.rung.push('Mallory');
      got!.talkSeconds = 999;
      expect(await pair.b.range(at('00:00:00'), at('23:00:00'))).toEqual([record('M1', at('08:00:00'))]);
    });
  });
}
