import { newCallSid, readTexml, type TelnyxPlayer, type TexmlPlan } from './telnyx-player.js';

/**
 * Whole calls as Telnyx would play them, driven by the TeXML the server answers. Times advance
 * on the player's clock (callback `Timestamp`s) rather than by sleeping, so wait and talk times
 * come out as scripted.
 */

export interface InboundScript {
  from?: string;
  to?: string;
  /** Ring round (1-based) in which the first rung agent answers; undefined = nobody answers. */
  answerInRound?: number;
  /** Seconds the phones ring before that agent answers. */
  answerAfter?: number;
  talkSeconds?: number;
  /** In voicemail: leave a message of this many seconds, or hang up before the beep (0). */
  voicemailSeconds?: number;
  /** The caller hangs up after this many seconds of ringing in round 1. */
  hangUpAfter?: number;
  /** Send every callback twice, and the answered leg's callbacks out of order. */
  chaos?: boolean;
}

export interface ScenarioResult {
  callSid: string;
  replies: TexmlPlan[];
  /** Agents' SIP URIs rung per round. */
  rounds: string[][];
}

const STATUS = '/texml/status';

export async function playInbound(p: TelnyxPlayer, script: InboundScript = {}): Promise<ScenarioResult> {
  const sid = newCallSid();
  const from = script.from ?? '+13125550100';
  const to = script.to ?? '+18005550199';
  const caller = { sid, from, to };
  const result: ScenarioResult = { callSid: sid, replies: [], rounds: [] };
  const send = async (fn: () => Promise<unknown>) => {
    await fn();
    if (script.chaos) await fn();
  };

  const first = await p.post('/texml/inbound', {
    ...p.base(sid, from, to),
    CallStatus: 'ringing',
    Direction: 'inbound',
  });
  if (first.status !== 200) throw new Error(`/texml/inbound answered ${first.status}: ${first.body}`);
  let plan = readTexml(first.body);
  result.replies.push(plan);
  await send(() => p.status(STATUS, caller, 'in-progress'));

  let round = 0;
  while (plan.dial) {
    round++;
    const dial = plan.dial;
    result.rounds.push(dial.targets.map((t) => t.uri));
    const legs = dial.targets.map((t) => ({
      sid: newCallSid(),
      from,
      to: t.uri,
      parent: sid,
      cb: t.statusCallback ?? STATUS,
    }));
    for (const leg of legs) {
      await send(() => p.status(leg.cb, leg, 'initiated'));
      await send(() => p.status(leg.cb, leg, 'ringing'));
    }

    if (script.hangUpAfter !== undefined && round === 1) {
      p.clock.advance(script.hangUpAfter);
      await send(() => p.status(STATUS, caller, 'completed', { CallDuration: String(script.hangUpAfter) }));
      for (const leg of legs) await send(() => p.status(leg.cb, leg, 'canceled'));
      if (dial.action) {
        await p.post(dial.action, {
          ...p.base(sid, from, to),
          DialCallStatus: 'canceled',
          Timestamp: p.clock.iso(),
        });
      }
      return result;
    }

    if (script.answerInRound === round && legs[0]) {
      const [winner, ...others] = legs;
      p.clock.advance(script.answerAfter ?? 8);
      const answeredAt = p.clock.iso();
      const answered = () => p.status(winner.cb, winner, 'in-progress', { Timestamp: answeredAt });
      for (const leg of others) await send(() => p.status(leg.cb, leg, 'canceled'));
      p.clock.advance(script.talkSeconds ?? 60);
      const completed = () =>
        p.status(winner.cb, winner, 'completed', {
          AnsweredTime: answeredAt,
          CallDuration: String(script.talkSeconds ?? 60),
          HangupSource: 'callee',
        });
      if (script.chaos) {
        // completed overtakes answered, and both are repeated
        await completed();
        await answered();
        await completed();
        await answered();
      } else {
        await answered();
        await completed();
      }
      const res = await p.post(dial.action as string, {
        ...p.base(sid, from, to),
        DialCallStatus: 'completed',
        DialCallSid: winner.sid,
        DialCallDuration: String(script.talkSeconds ?? 60),
        Timestamp: p.clock.iso(),
      });
      plan = readTexml(res.body);
      result.replies.push(plan);
      await send(() => p.status(STATUS, caller, 'completed'));
      return result;
    }

    p.clock.advance(dial.timeout ?? 20);
    for (const leg of legs) await send(() => p.status(leg.cb, leg, 'no-answer'));
    const res = await p.post(dial.action as string, {
      ...p.base(sid, from, to),
      DialCallStatus: 'no-answer',
      Timestamp: p.clock.iso(),
    });
    if (res.status !== 200) throw new Error(`dial-result answered ${res.status}: ${res.body}`);
    plan = readTexml(res.body);
    result.replies.push(plan);
  }

  if (plan.record) {
    const seconds = script.voicemailSeconds ?? 0;
    p.clock.advance(8); // the prompt
    if (seconds > 0) {
      p.clock.advance(seconds);
      const recordingUrl = `https://api.telnyx.com/v2/recordings/${newCallSid().slice(3)}.mp3`;
      const rec = {
        ...p.base(sid, from, to),
        RecordingUrl: recordingUrl,
        RecordingDuration: String(seconds),
        RecordingSid: newCallSid().slice(3),
        Timestamp: p.clock.iso(),
      };
      if (plan.record.action) {
        const res = await p.post(plan.record.action, rec);
        result.replies.push(readTexml(res.body));
      }
      await send(() => p.status(STATUS, caller, 'completed'));
      if (plan.record.recordingStatusCallback) {
        const cb = plan.record.recordingStatusCallback;
        await send(() =>
          p.post(cb, {
            ...rec,
            RecordingStatus: 'completed',
            RecordingChannels: '1',
            RecordingSource: 'RecordVerb',
          }),
        );
      }
    } else {
      await send(() => p.status(STATUS, caller, 'completed'));
      if (plan.record.recordingStatusCallback) {
        const cb = plan.record.recordingStatusCallback;
        await send(() => p.post(cb, { ...p.base(sid, from, to), RecordingStatus: 'absent' }));
      }
    }
  } else {
    await send(() => p.status(STATUS, caller, 'completed'));
  }
  return result;
}

/** The scenarios `npm run simulate -- <name>` knows. */
export const SCENARIOS: Record<string, { describe: string; script: InboundScript }> = {
  answered: {
    describe: 'an agent answers in the first round and talks for 95 s',
    script: { answerInRound: 1, answerAfter: 12, talkSeconds: 95 },
  },
  'second-round': {
    describe: 'nobody answers round 1; an agent answers in round 2',
    script: { answerInRound: 2, answerAfter: 6, talkSeconds: 40 },
  },
  missed: {
    describe: 'nobody answers; the caller hangs up at the voicemail prompt',
    script: { voicemailSeconds: 0 },
  },
  voicemail: {
    describe: 'nobody answers; the caller leaves a 24 s voicemail',
    script: { voicemailSeconds: 24 },
  },
  abandoned: { describe: 'the caller hangs up after 9 s of ringing', script: { hangUpAfter: 9 } },
  chaos: {
    describe: 'answered call with every callback duplicated and delivered out of order',
    script: { answerInRound: 1, answerAfter: 10, talkSeconds: 30, chaos: true },
  },
};
