import type { InboundScript, ScenarioResult } from './scenarios.js';

/**
 * A caller number for one simulator run: +1 312 555-01xx, from the range reserved for fiction
 * (https://www.nationalnanpa.com/pdf/NRUF/ATIS-0300115.pdf: 555-0100 to 555-0199), drawn anew each
 * run so the server's per-caller history (sticky routing) does not carry over between runs.
 */
export function randomCaller(rng: () => number = Math.random): string {
  return `+13125550${100 + Math.floor(rng() * 100)}`;
}

/** What the server said about the call (GET /api/calls/:sid), when the simulator may ask. */
export interface ServerView {
  outcome: string | null;
  agent: string | null;
  waitSeconds: number | null;
  talkSeconds: number | null;
  /** The call's queue (the menu's choice or the default queue, docs/interface.md §9). */
  queue?: string | null;
}

const sipUser = (uri: string): string => /^sips?:([^@;]+)/.exec(uri)?.[1] ?? uri;

/**
 * The outcome of an inbound run in one line: "answered by Alice after 12 s (talked 95 s)",
 * "voicemail (24 s message)", "missed: nobody answered and no message was left", "abandoned: the
 * caller hung up after 9 s of ringing". The server's own view wins when it is known.
 */
export function describeInbound(result: ScenarioResult, script: InboundScript, server?: ServerView): string {
  const line = outcomeLine(result, script, server);
  return server?.queue ? `${line} — queue ${server.queue}` : line;
}

function outcomeLine(result: ScenarioResult, script: InboundScript, server?: ServerView): string {
  const rounds = result.rounds.length;
  const timeouts = result.replies.map((r) => r.dial?.timeout ?? 20);
  const derived = (): ServerView => {
    if (script.hangUpAfter !== undefined && rounds >= 1) {
      return { outcome: 'abandoned', agent: null, waitSeconds: script.hangUpAfter, talkSeconds: null };
    }
    if (script.answerInRound !== undefined && rounds >= script.answerInRound) {
      const before = timeouts.slice(0, script.answerInRound - 1).reduce((a, b) => a + b, 0);
      const first = result.rounds[script.answerInRound - 1]?.[0];
      return {
        outcome: 'answered',
        agent: first ? sipUser(first) : null,
        waitSeconds: before + (script.answerAfter ?? 8),
        talkSeconds: script.talkSeconds ?? 60,
      };
    }
    const voicemail = (script.voicemailSeconds ?? 0) > 0 && result.replies.some((r) => r.record);
    return { outcome: voicemail ? 'voicemail' : 'missed', agent: null, waitSeconds: null, talkSeconds: null };
  };
  const v = server?.outcome ? server : derived();
  const ringing = rounds ? `${rounds} ring round${rounds === 1 ? '' : 's'}` : 'no agent rung';
  switch (v.outcome) {
    case 'answered':
      return `answered by ${v.agent ?? 'an agent'} after ${v.waitSeconds ?? '?'} s (talked ${v.talkSeconds ?? '?'} s; ${ringing})`;
    case 'abandoned':
      return `abandoned: the caller hung up after ${v.waitSeconds ?? '?'} s of ringing`;
    case 'voicemail':
      return `voicemail: a ${script.voicemailSeconds ?? '?'} s message after ${ringing}`;
    case 'missed':
      return `missed: ${rounds ? `nobody answered in ${ringing}` : 'no agent to ring'} and no message was left`;
    default:
      return `${v.outcome ?? 'unknown'} (${ringing})`;
  }
}
