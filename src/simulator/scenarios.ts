import { type QueueExit, type QueueScript, waitInQueue } from './queue-wait.js';
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
  /**
   * A caller who leaves no message (`voicemailSeconds: 0`): `record-action` (default) — the
   * <Record> action still comes, with `RecordingDuration=0`; `nothing` — only the caller's
   * `completed` status (Switchboard's grace timer decides).
   */
  silentHangUp?: 'record-action' | 'nothing';
  /**
   * Leave `Timestamp` out of the requests that are not status callbacks (the voice-URL fetch, the
   * <Dial> and <Record> actions): only status callbacks are documented to require it.
   */
  omitActionTimestamps?: boolean;
  /**
   * Keys pressed at the menu, one per `<Gather>` in turn (`92`: a wrong key, then 2). When they
   * run out, the caller presses nothing: the menu's `<Redirect>` (or its action) is requested
   * without `Digits`, as after Telnyx's timeout.
   */
  digits?: string;
  /** What the caller does while waiting in a queue (`<Enqueue>`). */
  queue?: QueueScript;
  /**
   * A call answered without waiting in a queue stays on the line (the agent busy) until this
   * settles, then hangs up: how a scenario keeps every agent busy.
   */
  hold?: Promise<void>;
  /** The agent's leg answered (its SIP URI). */
  onAnswered?: (agent: string) => void;
  /** The call was put in a queue (each time). */
  onEnqueued?: (queue: string) => void;
}

export interface ScenarioResult {
  callSid: string;
  replies: TexmlPlan[];
  /** Agents' SIP URIs rung per round. */
  rounds: string[][];
  /** What happened, in words, step by step (queue waits, announcements, digits pressed). */
  story: string[];
  /** Each stay in a queue, in order, and how it ended. */
  queueStays: QueueExit[];
  /** Seconds in queue before the call was answered, when it was answered after waiting. */
  answeredAfterQueueSeconds?: number;
}

const STATUS = '/texml/status';

const sipUser = (uri: string): string => /^sips?:([^@;]+)/.exec(uri)?.[1] ?? uri;

export async function playInbound(p: TelnyxPlayer, script: InboundScript = {}): Promise<ScenarioResult> {
  const sid = newCallSid();
  const from = script.from ?? '+13125550100';
  const to = script.to ?? '+18005550199';
  const caller = { sid, from, to };
  const result: ScenarioResult = { callSid: sid, replies: [], rounds: [], story: [], queueStays: [] };
  p.calls.register({
    accountSid: p.accountSid,
    callSid: sid,
    from,
    to,
    direction: 'inbound',
    startedAt: p.clock.ms,
  });
  const send = async (fn: () => Promise<unknown>) => {
    await fn();
    if (script.chaos) await fn();
  };
  /** Params of a request that is not a status callback, without `Timestamp` when scripted so. */
  const action = (extra: Record<string, string>): Record<string, string> => {
    const params: Record<string, string> = { ...p.base(sid, from, to), Timestamp: p.clock.iso(), ...extra };
    if (script.omitActionTimestamps) delete params.Timestamp;
    return params;
  };

  const first = await p.post('/texml/inbound', action({ CallStatus: 'ringing', Direction: 'inbound' }));
  if (first.status !== 200) throw new Error(`/texml/inbound answered ${first.status}: ${first.body}`);
  let plan = readTexml(first.body);
  result.replies.push(plan);
  await send(() => p.status(STATUS, caller, 'in-progress'));

  // The menu: press the scripted keys, then let it time out (at most 10 menus, against loops).
  const keys = [...(script.digits ?? '')];
  for (let menus = 0; plan.gather && menus < 10; menus++) {
    const key = keys.shift();
    const target = key !== undefined ? plan.gather.action : (plan.redirect?.url ?? plan.gather.action);
    if (!target) break;
    p.clock.advance(key !== undefined ? 3 : (plan.gather.timeout ?? 5));
    const reply = await p.post(target, {
      ...p.base(sid, from, to),
      CallStatus: 'in-progress',
      ...(key !== undefined ? { Digits: key } : {}),
    });
    if (reply.status !== 200) throw new Error(`${target} answered ${reply.status}: ${reply.body}`);
    plan = readTexml(reply.body);
    result.replies.push(plan);
  }

  let round = 0;
  const hangUp = async (extra: Record<string, string> = {}) => {
    p.calls.end(sid, p.clock.ms);
    await send(() => p.status(STATUS, caller, 'completed', extra));
  };
  for (;;) {
    if (plan.enqueue && !plan.dial) {
      script.onEnqueued?.(plan.enqueue.queue);
      const exit = await waitInQueue(p, caller, plan.enqueue, script.queue ?? {}, result.story);
      result.queueStays.push(exit);
      if (exit.kind === 'ended') {
        await hangUp(exit.by === 'caller' ? { HangupSource: 'caller' } : {});
        return result;
      }
      plan = exit.plan;
      result.replies.push(plan);
      continue;
    }
    if (plan.redirect && !plan.dial && !plan.record) {
      const res = await p.request(
        plan.redirect.method,
        plan.redirect.url,
        action({ CallStatus: 'in-progress' }),
      );
      if (res.status !== 200)
        throw new Error(`Redirect ${plan.redirect.url} answered ${res.status}: ${res.body}`);
      plan = readTexml(res.body);
      result.replies.push(plan);
      continue;
    }
    if (!plan.dial) break;
    round++;
    const dial = plan.dial;
    result.rounds.push(dial.targets.map((t) => t.uri));
    const all = dial.targets.map((t) => ({
      sid: newCallSid(),
      from,
      to: t.uri,
      parent: sid,
      cb: t.statusCallback ?? STATUS,
    }));
    // Telnyx refuses a leg to a SIP URI it will not connect (e.g. SIP URI calling disabled on
    // the agent's connection): the leg fails at once and never rings.
    const legs = all.filter((leg) => p.canDial(leg.to));
    for (const leg of all.filter((l) => !legs.includes(l))) {
      await send(() => p.status(leg.cb, leg, 'initiated'));
      await send(() =>
        p.status(leg.cb, leg, 'failed', { HangupCause: 'call_rejected', SipHangupCause: '403' }),
      );
    }
    if (legs.length === 0) {
      const res = await p.post(dial.action as string, action({ DialCallStatus: 'failed' }));
      if (res.status !== 200) throw new Error(`dial-result answered ${res.status}: ${res.body}`);
      plan = readTexml(res.body);
      result.replies.push(plan);
      continue;
    }
    for (const leg of legs) {
      await send(() => p.status(leg.cb, leg, 'initiated'));
      await send(() => p.status(leg.cb, leg, 'ringing'));
    }

    if (script.hangUpAfter !== undefined && round === 1) {
      p.clock.advance(script.hangUpAfter);
      await send(() => p.status(STATUS, caller, 'completed', { CallDuration: String(script.hangUpAfter) }));
      for (const leg of legs) await send(() => p.status(leg.cb, leg, 'canceled'));
      if (dial.action) await p.post(dial.action, action({ DialCallStatus: 'canceled' }));
      p.calls.end(sid, p.clock.ms);
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
        script.onAnswered?.(winner.to);
        if (script.hold && result.queueStays.length === 0) await script.hold;
        await completed();
      }
      const res = await p.post(
        dial.action as string,
        action({
          DialCallStatus: 'completed',
          DialCallSid: winner.sid,
          DialCallDuration: String(script.talkSeconds ?? 60),
        }),
      );
      plan = readTexml(res.body);
      result.replies.push(plan);
      const queued = result.queueStays.reduce((sum, x) => sum + x.waited, 0);
      if (result.queueStays.length > 0) result.answeredAfterQueueSeconds = queued;
      result.story.push(
        `connected to ${sipUser(winner.to)}${result.queueStays.length ? ` after ${queued} s in queue` : ''}; talked ${script.talkSeconds ?? 60} s`,
      );
      await hangUp();
      return result;
    }

    p.clock.advance(dial.timeout ?? 20);
    result.story.push(
      `${legs.map((l) => sipUser(l.to)).join(', ')} let it ring out (${dial.timeout ?? 20} s)`,
    );
    for (const leg of legs) await send(() => p.status(leg.cb, leg, 'no-answer'));
    const res = await p.post(dial.action as string, action({ DialCallStatus: 'no-answer' }));
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
      const rec = action({
        RecordingUrl: recordingUrl,
        RecordingDuration: String(seconds),
        RecordingSid: newCallSid().slice(3),
      });
      if (plan.record.action) {
        const res = await p.post(plan.record.action, rec);
        result.replies.push(readTexml(res.body));
      }
      await hangUp();
      if (plan.record.recordingStatusCallback) {
        // `completed` is the recording status Telnyx sends by default; <Record> has no attribute
        // choosing others (https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/record).
        const cb = plan.record.recordingStatusCallback;
        await send(() =>
          p.post(cb, {
            ...rec,
            Timestamp: p.clock.iso(),
            RecordingStatus: 'completed',
            RecordingChannels: '1',
            RecordingSource: 'RecordVerb',
          }),
        );
      }
    } else {
      // The caller hangs up at the beep without a word: no recording, so no recording callback.
      if (plan.record.action && (script.silentHangUp ?? 'record-action') === 'record-action') {
        await p.post(plan.record.action, action({ RecordingDuration: '0' }));
      }
      await hangUp();
    }
  } else {
    await hangUp();
  }
  return result;
}

export interface OutboundScript {
  /** The call Telnyx created for POST /api/calls, as the fake Telnyx API recorded it. */
  callSid: string;
  agentSip: string;
  /** `Url` of the create request: fetched when the agent answers. */
  url: string;
  hotline: string;
  agentAnswersAfter?: number;
  /** undefined: the customer does not answer. */
  talkSeconds?: number;
}

/**
 * A click-to-call after the API created it: the agent's phone rings and answers, Telnyx fetches
 * `url`, dials the customer from the reply, the customer talks (or not), everyone hangs up.
 */
export async function playOutbound(p: TelnyxPlayer, script: OutboundScript): Promise<ScenarioResult> {
  const agentLeg = { sid: script.callSid, from: script.hotline, to: script.agentSip };
  p.calls.register({
    accountSid: p.accountSid,
    callSid: script.callSid,
    from: script.hotline,
    to: script.agentSip,
    direction: 'outbound',
    startedAt: p.clock.ms,
  });
  const result: ScenarioResult = {
    callSid: script.callSid,
    replies: [],
    rounds: [],
    story: [],
    queueStays: [],
  };
  await p.status(STATUS, agentLeg, 'initiated');
  await p.status(STATUS, agentLeg, 'ringing');
  p.clock.advance(script.agentAnswersAfter ?? 4);
  await p.status(STATUS, agentLeg, 'in-progress');
  const res = await p.post(script.url, {
    ...p.base(script.callSid, script.hotline, script.agentSip),
    CallStatus: 'in-progress',
  });
  const plan = readTexml(res.body);
  result.replies.push(plan);
  const target = plan.dial?.targets[0];
  if (plan.dial && target) {
    result.rounds.push([target.uri]);
    const leg = {
      sid: newCallSid(),
      from: plan.dial.callerId ?? script.hotline,
      to: target.uri,
      parent: script.callSid,
    };
    const cb = target.statusCallback ?? STATUS;
    await p.status(cb, leg, 'initiated');
    await p.status(cb, leg, 'ringing');
    p.clock.advance(6);
    if (script.talkSeconds !== undefined) {
      await p.status(cb, leg, 'in-progress');
      p.clock.advance(script.talkSeconds);
      await p.status(cb, leg, 'completed', { CallDuration: String(script.talkSeconds) });
    } else {
      p.clock.advance(24);
      await p.status(cb, leg, 'no-answer');
    }
    if (plan.dial.action) {
      const end = await p.post(plan.dial.action, {
        ...p.base(script.callSid, script.hotline, script.agentSip),
        DialCallStatus: script.talkSeconds !== undefined ? 'completed' : 'no-answer',
        DialCallSid: leg.sid,
        DialCallDuration: String(script.talkSeconds ?? 0),
        Timestamp: p.clock.iso(),
      });
      result.replies.push(readTexml(end.body));
    }
  }
  p.calls.end(script.callSid, p.clock.ms);
  await p.status(STATUS, agentLeg, 'completed');
  if (target) {
    result.story.push(
      script.talkSeconds !== undefined
        ? `${sipUser(script.agentSip)} answered, then ${target.uri} answered and talked ${script.talkSeconds} s`
        : `${sipUser(script.agentSip)} answered; ${target.uri} did not answer`,
    );
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
