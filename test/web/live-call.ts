import { newCallSid, readTexml, type TelnyxPlayer } from '../../src/simulator/telnyx-player.js';

/**
 * One inbound call played step by step (the same requests as `playInbound` in
 * src/simulator/scenarios.ts), so a test can look at the pages while the call rings and talks.
 */
export interface LiveCall {
  sid: string;
  from: string;
  to: string;
  action: string;
  legs: Array<{ sid: string; from: string; to: string; parent: string; cb: string }>;
  winner?: { sid: string; from: string; to: string; parent: string; cb: string };
  answeredAt?: string;
}

const STATUS = '/texml/status';

export async function ringAgents(
  p: TelnyxPlayer,
  from = '+13125550100',
  to = '+18005550199',
): Promise<LiveCall> {
  const sid = newCallSid();
  const first = await p.post('/texml/inbound', {
    ...p.base(sid, from, to),
    CallStatus: 'ringing',
    Direction: 'inbound',
  });
  if (first.status !== 200) throw new Error(`/texml/inbound answered ${first.status}: ${first.body}`);
  const plan = readTexml(first.body);
  if (!plan.dial) throw new Error(`no <Dial> in ${first.body}`);
  await p.status(STATUS, { sid, from, to }, 'in-progress');
  const legs = plan.dial.targets.map((t) => ({
    sid: newCallSid(),
    from,
    to: t.uri,
    parent: sid,
    cb: t.statusCallback ?? STATUS,
  }));
  for (const leg of legs) {
    await p.status(leg.cb, leg, 'initiated');
    await p.status(leg.cb, leg, 'ringing');
  }
  return { sid, from, to, action: plan.dial.action as string, legs };
}

export async function answer(
  p: TelnyxPlayer,
  call: LiveCall,
  agentSip: string,
  afterSeconds = 6,
): Promise<void> {
  const winner = call.legs.find((l) => l.to === agentSip);
  if (!winner) throw new Error(`${agentSip} was not rung: ${call.legs.map((l) => l.to).join(', ')}`);
  p.clock.advance(afterSeconds);
  call.winner = winner;
  call.answeredAt = p.clock.iso();
  await p.status(winner.cb, winner, 'in-progress', { Timestamp: call.answeredAt });
  for (const leg of call.legs) if (leg !== winner) await p.status(leg.cb, leg, 'canceled');
}

export async function hangUp(p: TelnyxPlayer, call: LiveCall, talkSeconds = 30): Promise<void> {
  const winner = call.winner;
  if (!winner) throw new Error('nobody answered');
  p.clock.advance(talkSeconds);
  await p.status(winner.cb, winner, 'completed', {
    AnsweredTime: call.answeredAt as string,
    CallDuration: String(talkSeconds),
    HangupSource: 'callee',
  });
  await p.post(call.action, {
    ...p.base(call.sid, call.from, call.to),
    DialCallStatus: 'completed',
    DialCallSid: winner.sid,
    DialCallDuration: String(talkSeconds),
    Timestamp: p.clock.iso(),
  });
  await p.status(STATUS, { sid: call.sid, from: call.from, to: call.to }, 'completed');
}
