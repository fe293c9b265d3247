import { describe, expect, it } from 'vitest';
import { recordFromState } from '../../src/records/call-record.js';
import { computeStats } from '../../src/stats/call-stats.js';
import { alice, bob, type CallSpec, carol, playCall } from './scripted-calls.js';

/** Berlin is UTC+1 in November: local 09:05 is 08:05Z. */
const berlin = (local: string) => Date.parse(`${local}+01:00`);
const DAY = '2026-11-19';
const options = { date: DAY, timeZone: 'Europe/Berlin', serviceLevelSeconds: 20, shortAbandonSeconds: 5 };

/** A scripted day: every wait and talk time known, so every KPI is known to the second. */
const day: CallSpec[] = [
  { sid: 'c1', at: berlin(`${DAY}T09:05:00`), script: { kind: 'answered', by: alice, wait: 12, talk: 300 } },
  // exactly at the service-level target: counts as within
  { sid: 'c2', at: berlin(`${DAY}T09:20:00`), script: { kind: 'answered', by: bob, wait: 20, talk: 61 } },
  // round 1 unanswered (20 s), answered 6 s into round 2
  {
    sid: 'c3',
    at: berlin(`${DAY}T09:40:00`),
    script: { kind: 'answered', by: alice, round: 2, wait: 26, talk: 45 },
  },
  // 4 s < SHORT_ABANDON_SECONDS: a short abandon; 5 s is not
  { sid: 'c4', at: berlin(`${DAY}T10:10:00`), script: { kind: 'abandoned', wait: 4 } },
  { sid: 'c5', at: berlin(`${DAY}T10:15:00`), script: { kind: 'abandoned', wait: 5 } },
  { sid: 'c6', at: berlin(`${DAY}T10:30:00`), script: { kind: 'abandoned', wait: 33 } },
  { sid: 'c7', at: berlin(`${DAY}T11:00:00`), script: { kind: 'voicemail', rounds: 2, message: 24 } },
  { sid: 'c8', at: berlin(`${DAY}T11:30:00`), script: { kind: 'no-agents' } },
  { sid: 'c9', at: berlin(`${DAY}T13:00:00`), script: { kind: 'failed' } },
  // queued, asked to be called back after 70 s: offered, neither abandoned nor missed
  { sid: 'c14', at: berlin(`${DAY}T13:30:00`), script: { kind: 'callback', wait: 70 } },
  {
    sid: 'c10',
    at: berlin(`${DAY}T14:00:00`),
    script: { kind: 'outbound', agent: carol, ring: 9, talk: 90 },
  },
  // started the evening before, answered after midnight: belongs to the day before
  {
    sid: 'c11',
    at: berlin('2026-11-18T23:59:50'),
    script: { kind: 'answered', by: alice, wait: 15, talk: 30 },
  },
  // started just before midnight, answered and ended the next day: belongs to this day, hour 23
  { sid: 'c12', at: berlin(`${DAY}T23:59:58`), script: { kind: 'answered', by: bob, wait: 10, talk: 94 } },
  // the next local day
  { sid: 'c13', at: berlin('2026-11-20T00:00:00'), script: { kind: 'abandoned', wait: 50 } },
];

const records = day.map((spec) => recordFromState(playCall(spec)));

describe('computeStats', () => {
  it('a scripted day: every KPI to the second', () => {
    const stats = computeStats(records, options);
    const hourly = new Array(24).fill(0);
    hourly[9] = 3;
    hourly[10] = 3;
    hourly[11] = 2;
    hourly[13] = 1;
    hourly[23] = 1;
    expect(stats).toEqual({
      date: DAY,
      timeZone: 'Europe/Berlin',
      from: '2026-11-18T23:00:00.000Z',
      to: '2026-11-19T23:00:00.000Z',
      serviceLevelSeconds: 20,
      shortAbandonSeconds: 5,
      offered: 10, // c1–c8, c12, c14
      answered: 4, // c1 c2 c3 c12
      missed: 1, // c8
      abandoned: 2, // c5 c6
      shortAbandoned: 1, // c4
      voicemails: 1, // c7
      callbacks: 1, // c14
      failed: 1, // c9
      answeredWithinServiceLevel: 3, // waits 12, 20, 10 (not 26)
      serviceLevel: 0.5, // 3 / (4 answered + 2 abandoned)
      averageSpeedOfAnswer: 17, // (12 + 20 + 26 + 10) / 4
      averageHandleTime: 125, // (300 + 61 + 45 + 94) / 4
      longestWait: 72, // c14: 70 s in line, then 2 s to hang up
      hourly,
      busiestHour: { hour: 9, offered: 3 }, // 09 and 10 tie: the earlier
      outbound: { placed: 1, answered: 1, talkSeconds: 90 },
      perAgent: [
        {
          agent: 'Alice',
          offered: 8, // every inbound call with a ring round: c1–c7, c12
          answered: 2,
          answeredWithinServiceLevel: 1,
          averageSpeedOfAnswer: 19, // (12 + 26) / 2
          averageHandleTime: 173, // (300 + 45) / 2 = 172.5
          longestWait: 26,
          talkSeconds: 345,
          outbound: { placed: 0, answered: 0, talkSeconds: 0 },
        },
        {
          agent: 'Bob',
          offered: 8,
          answered: 2,
          answeredWithinServiceLevel: 2,
          averageSpeedOfAnswer: 15, // (20 + 10) / 2
          averageHandleTime: 78, // (61 + 94) / 2 = 77.5
          longestWait: 20,
          talkSeconds: 155,
          outbound: { placed: 0, answered: 0, talkSeconds: 0 },
        },
        {
          agent: 'Carol <&>',
          offered: 0,
          answered: 0,
          answeredWithinServiceLevel: 0,
          averageSpeedOfAnswer: null,
          averageHandleTime: null,
          longestWait: 0,
          talkSeconds: 0,
          outbound: { placed: 1, answered: 1, talkSeconds: 90 },
        },
      ],
    });
  });

  it('the thresholds are settings: a 25 s target and 10 s short abandons', () => {
    const stats = computeStats(records, { ...options, serviceLevelSeconds: 25, shortAbandonSeconds: 10 });
    expect(stats).toMatchObject({
      abandoned: 1, // only c6 (33 s)
      shortAbandoned: 2,
      answeredWithinServiceLevel: 3,
      serviceLevel: 0.6, // 3 / (4 + 1)
    });
    expect(computeStats(records, { ...options, serviceLevelSeconds: 26 }).serviceLevel).toBe(0.6667);
    expect(computeStats(records, { ...options, shortAbandonSeconds: 0 }).shortAbandoned).toBe(0);
  });

  it('the same records read as a UTC day: calls move between days and hours', () => {
    const stats = computeStats(records, { ...options, timeZone: 'UTC' });
    // UTC day 2026-11-19 starts at 01:00 Berlin: c11 (22:59:50Z on the 18th) stays out, c12
    // (22:59:58Z) and c13 (23:00Z) are in.
    expect(stats.offered).toBe(11);
    expect(stats.hourly[8]).toBe(3);
    expect(stats.hourly[22]).toBe(1);
    expect(stats.hourly[23]).toBe(1);
    expect(stats.longestWait).toBe(72);
  });

  it('a day without calls: zeros, and null where an average has nothing to average', () => {
    const stats = computeStats([], options);
    expect(stats).toMatchObject({
      offered: 0,
      answered: 0,
      serviceLevel: null,
      averageSpeedOfAnswer: null,
      averageHandleTime: null,
      longestWait: 0,
      busiestHour: null,
      perAgent: [],
    });
  });

  it('only abandons: service level 0, not null', () => {
    expect(
      computeStats(
        records.filter((r) => r.sid === 'c6'),
        options,
      ).serviceLevel,
    ).toBe(0);
  });

  it('counts a record that appears twice once', () => {
    const first = records[0]!;
    expect(computeStats([first, { ...first }], options).offered).toBe(1);
  });

  it('a 25-hour day: both 02:00 hours count as hour 2', () => {
    const autumn = '2026-10-25';
    const r = [
      recordFromState(
        playCall({
          sid: 'd1',
          at: Date.parse('2026-10-25T00:30:00Z'),
          script: { kind: 'abandoned', wait: 9 },
        }),
      ),
      recordFromState(
        playCall({
          sid: 'd2',
          at: Date.parse('2026-10-25T01:30:00Z'),
          script: { kind: 'abandoned', wait: 9 },
        }),
      ),
    ];
    const stats = computeStats(r, { ...options, date: autumn });
    expect(stats.hourly[2]).toBe(2);
    expect(stats.busiestHour).toEqual({ hour: 2, offered: 2 });
  });
});
