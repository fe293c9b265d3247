import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, recordFromState } from '../../src/records/call-record.js';
import { alice, bob, carol, playCall } from '../stats/scripted-calls.js';

const T0 = Date.parse('2026-11-19T09:00:00Z');

describe('recordFromState', () => {
  it('answered in round 2: agent, rung, times, wait and talk to the second', () => {
    const state = playCall({
      sid: 'C1',
      at: T0,
      script: { kind: 'answered', by: bob, round: 2, wait: 26, talk: 45 },
    });
    expect(recordFromState(state)).toEqual({
      sid: 'C1',
      direction: 'inbound',
      caller: '+13125550100',
      callee: '+18005550199',
      agent: 'Bob',
      agentId: 'b1',
      rung: ['Alice', 'Bob'],
      startedAt: '2026-11-19T09:00:00.000Z',
      answeredAt: '2026-11-19T09:00:26.000Z',
      endedAt: '2026-11-19T09:01:11.000Z',
      waitSeconds: 26,
      talkSeconds: 45,
      outcome: 'answered',
      ringRounds: 2,
    });
  });

  it('abandoned: no agent, no answer time, wait until the hang-up', () => {
    const r = recordFromState(playCall({ sid: 'C2', at: T0, script: { kind: 'abandoned', wait: 9 } }));
    expect(r).toMatchObject({ outcome: 'abandoned', waitSeconds: 9, talkSeconds: 0, ringRounds: 1 });
    expect(r.agent).toBeUndefined();
    expect(r.answeredAt).toBeUndefined();
  });

  it('voicemail: wait until the voicemail prompt, the recording URL', () => {
    const r = recordFromState(
      playCall({ sid: 'C3', at: T0, script: { kind: 'voicemail', rounds: 2, message: 24 } }),
    );
    expect(r).toMatchObject({
      outcome: 'voicemail',
      waitSeconds: 40,
      talkSeconds: 0,
      ringRounds: 2,
      recordingUrl: 'https://api.telnyx.com/v2/recordings/C3.mp3',
    });
  });

  it('missed (no agent online), failed', () => {
    expect(recordFromState(playCall({ sid: 'C4', at: T0, script: { kind: 'no-agents' } }))).toMatchObject({
      outcome: 'missed',
      waitSeconds: 2,
      ringRounds: 0,
      rung: [],
    });
    expect(recordFromState(playCall({ sid: 'C5', at: T0, script: { kind: 'failed' } }))).toMatchObject({
      outcome: 'failed',
      ringRounds: 0,
    });
  });

  it('outbound: the placing agent, the customer as callee, no wait', () => {
    const r = recordFromState(
      playCall({ sid: 'C6', at: T0, script: { kind: 'outbound', agent: carol, ring: 7, talk: 90 } }),
    );
    expect(r).toMatchObject({
      direction: 'outbound',
      caller: '+18005550199',
      callee: '+13125550111',
      agent: 'Carol <&>',
      agentId: 'c1',
      rung: [],
      outcome: 'answered',
      waitSeconds: 0,
      talkSeconds: 90,
      ringRounds: 0,
    });
    const unanswered = recordFromState(
      playCall({ sid: 'C7', at: T0, script: { kind: 'outbound', agent: alice, ring: 30 } }),
    );
    expect(unanswered).toMatchObject({ outcome: 'missed', agent: 'Alice', talkSeconds: 0 });
  });

  it('round-trips through its stored form, and rejects what is not a record', () => {
    const r = recordFromState(
      playCall({ sid: 'C8', at: T0, script: { kind: 'answered', by: alice, wait: 5, talk: 7 } }),
    );
    expect(decodeRecord(encodeRecord(r))).toEqual(r);
    expect(decodeRecord('not json')).toBeUndefined();
    expect(decodeRecord('null')).toBeUndefined();
    expect(decodeRecord(JSON.stringify({ ...r, outcome: 'lost' }))).toBeUndefined();
    expect(decodeRecord(JSON.stringify({ ...r, waitSeconds: -1 }))).toBeUndefined();
    expect(decodeRecord(JSON.stringify({ ...r, startedAt: 'yesterday' }))).toBeUndefined();
  });
});
