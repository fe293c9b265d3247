import { packageDir } from './package-dir.js';
import { openTemplateDir } from './template-set.js';
import type { ShapeObject } from './view-shape.js';

export { FALLBACK_VOICEMAIL_TEXML, fallbackVoicemailTexml } from './fallback-voicemail.js';
export { TemplateError } from './template-error.js';

/**
 * The call flows: one TeXML template per step of a call (texml/*.xml, Mustache, editable by the
 * operator), checked once at start and rendered per request. Every value is XML-escaped; URLs
 * inside the replies are absolute, built from the public base URL.
 */

/** One SIP endpoint to ring. */
export interface DialTarget {
  name: string;
  /** `sip:user@sip.telnyx.com` */
  sip: string;
}

/** One ring round: a `<Dial>` ringing `targets` at once for `timeoutSeconds`. */
export interface DialRound {
  /** 1 for the first round (the store keeps it under the CallSid; it is not in any URL). */
  attempt: number;
  targets: DialTarget[];
  /** Ring time; clamped to the 5–120 s Telnyx accepts. */
  timeoutSeconds: number;
  /** Caller ID the agents' phones show (E.164). */
  callerId?: string;
}

export type VoicemailReason = 'no-answer' | 'no-agents';

/** Why the caller's queue is closed (docs/interface.md §9). */
export type ClosedFlowReason = 'after-hours' | 'holiday' | 'closure' | 'manual';

/** Renders each step of a call as a TeXML document. Pure and synchronous; never does I/O. */
export interface Flows {
  /** First reply to a new call: greeting and the first ring round; `round` null (or no targets) = voicemail. */
  inbound(v: { base: string; round: DialRound | null }): string;
  /** The try-again prompt and the next ring round; with no targets, voicemail (`no-agents`). */
  nextRound(v: { base: string; round: DialRound }): string;
  /** The voicemail prompt for `reason`, then `<Record>` and `<Hangup/>`. */
  voicemail(v: { base: string; reason: VoicemailReason }): string;
  /** After the recording: thanks and `<Hangup/>`. */
  thanks(v: { base: string }): string;
  /** Dial result when an agent answered and the bridge ended: `<Hangup/>`. */
  answered(v: { base: string }): string;
  /** Click-to-call: the agent answered, now dial the customer `to` showing `callerId`. */
  outbound(v: { base: string; to: string; callerId: string }): string;
  /**
   * Nobody eligible is free: `<Enqueue>` into `queue` (docs/interface.md §7), after the queue's
   * `welcome` prompt when the caller joins for the first time (`play`: its MP3 URL, else `say`).
   */
  enqueue(v: { base: string; queue: string; welcome?: { play?: string; say: string } }): string;
  /**
   * The waitUrl document: `<Leave/>`, or the announcement (if any) and hold music (`holdMusic`:
   * an absolute URL; default the server's `audio/hold-music.mp3`).
   */
  queueWait(v: {
    base: string;
    leave: boolean;
    announce?: { position: number; wait: string };
    callback: boolean;
    /** The queue's "press 1" prompt (`play`: its MP3 URL, else `say`); default the spoken text. */
    callbackOffer?: { play?: string; say: string };
    holdMusic?: string;
  }): string;
  /**
   * The caller's queue is closed (docs/interface.md §9): the closed prompt (`play`: its MP3 as an
   * absolute URL, else `say` is spoken), then the voicemail `<Record>`.
   */
  closed(v: { base: string; reason: ClosedFlowReason; play?: string; say: string }): string;
  /** A waiting caller's turn: the `<Dial>` to the agent it was offered to. */
  queueDial(v: { base: string; round: DialRound }): string;
  /** The caller asked for a callback: a confirmation and `<Hangup/>`. */
  callbackRequested(v: { base: string }): string;
}

/** The shipped templates: `texml/` of the package. */
export const DEFAULT_TEXML_DIR = packageDir('texml');

/** Telnyx's accepted `<Dial timeout>` range, in seconds (docs/telnyx.md §3). */
export const DIAL_TIMEOUT_MIN = 5;
export const DIAL_TIMEOUT_MAX = 120;

// ---- What each template is rendered with (documented for operators in texml/README.md) ----

interface TargetView {
  name: string;
  sip: string;
}
interface RoundView {
  attempt: number;
  timeout: number;
  callerId?: string;
  targets: TargetView[];
}
interface InboundView {
  base: string;
  round: RoundView | null;
}
interface NextRoundView {
  base: string;
  round: RoundView;
}
interface VoicemailView {
  base: string;
  reason: VoicemailReason;
  noAgents: boolean;
  noAnswer: boolean;
}
interface BaseView {
  base: string;
}
interface OutboundView {
  base: string;
  to: string;
  callerId: string;
}

const ROUND_SHAPE: ShapeObject = {
  attempt: 'value',
  timeout: 'value',
  callerId: 'value',
  targets: [{ name: 'value', sip: 'value' }],
};

/** Drops trailing slashes so `{{base}}/texml/…` never has two. */
const baseUrl = (base: string): string => base.replace(/\/+$/, '');

function roundView(round: DialRound): RoundView {
  const attempt = Number.isFinite(round.attempt) ? Math.max(1, Math.trunc(round.attempt)) : 1;
  const seconds = Number.isFinite(round.timeoutSeconds) ? Math.round(round.timeoutSeconds) : 30;
  return {
    attempt,
    timeout: Math.min(DIAL_TIMEOUT_MAX, Math.max(DIAL_TIMEOUT_MIN, seconds)),
    callerId: round.callerId || undefined,
    targets: round.targets.map((t) => ({ name: t.name, sip: t.sip })),
  };
}

const voicemailView = (base: string, reason: VoicemailReason): VoicemailView => ({
  base: baseUrl(base),
  reason,
  noAgents: reason === 'no-agents',
  noAnswer: reason === 'no-answer',
});

// Sample values for the load-time check: awkward characters on purpose, so a placeholder in a
// spot where escaping cannot help (e.g. inside a tag name) fails at start-up, not on a call.
const SAMPLE_BASE = 'https://sb.example.com';
const SAMPLE_TARGETS: DialTarget[] = [
  { name: `Ann & "Bo" <O'Neil>`, sip: 'sip:ann@sip.telnyx.com' },
  { name: 'Bob', sip: 'sip:bob@sip.telnyx.com;transport=tls' },
];
const sampleRound = (attempt: number, callerId?: string): RoundView =>
  roundView({ attempt, targets: SAMPLE_TARGETS, timeoutSeconds: 20, callerId });

/**
 * Loads and checks the call-flow templates in `dir` (default: the shipped `texml/`), with the
 * partials in `dir/partials/`. Throws `TemplateError` (`file:line: reason`) for the first broken
 * template, so a bad edit stops start-up instead of a call.
 */
/** The "press 1" words when the queue has no prompt of its own. */
const DEFAULT_CALLBACK_OFFER = 'To be called back instead of waiting, press 1.';

export function loadFlows(dir: string = DEFAULT_TEXML_DIR): Flows {
  const templates = openTemplateDir(dir);

  const inbound = templates.compile<InboundView>({
    file: 'inbound.xml',
    shape: { base: 'value', round: ROUND_SHAPE },
    samples: [
      {
        label: 'a ring round with caller ID',
        view: { base: SAMPLE_BASE, round: sampleRound(1, '+13125550100') },
      },
      { label: 'a ring round without caller ID', view: { base: SAMPLE_BASE, round: sampleRound(1) } },
      { label: 'no agent online', view: { base: SAMPLE_BASE, round: null } },
    ],
  });
  const nextRound = templates.compile<NextRoundView>({
    file: 'next-round.xml',
    shape: { base: 'value', round: ROUND_SHAPE },
    samples: [
      {
        label: 'a ring round with caller ID',
        view: { base: SAMPLE_BASE, round: sampleRound(2, '+13125550100') },
      },
      { label: 'a ring round without caller ID', view: { base: SAMPLE_BASE, round: sampleRound(3) } },
    ],
  });
  const voicemail = templates.compile<VoicemailView>({
    file: 'voicemail.xml',
    shape: { base: 'value', reason: 'value', noAgents: 'value', noAnswer: 'value' },
    samples: [
      { label: 'reason no-answer', view: voicemailView(SAMPLE_BASE, 'no-answer') },
      { label: 'reason no-agents', view: voicemailView(SAMPLE_BASE, 'no-agents') },
    ],
  });
  const thanks = templates.compile<BaseView>({
    file: 'thanks.xml',
    shape: { base: 'value' },
    samples: [{ label: 'a recorded message', view: { base: SAMPLE_BASE } }],
  });
  const answered = templates.compile<BaseView>({
    file: 'answered.xml',
    shape: { base: 'value' },
    samples: [{ label: 'an answered call', view: { base: SAMPLE_BASE } }],
  });
  const outbound = templates.compile<OutboundView>({
    file: 'outbound.xml',
    shape: { base: 'value', to: 'value', callerId: 'value' },
    samples: [
      { label: 'a click-to-call', view: { base: SAMPLE_BASE, to: '+13125550123', callerId: '+13125550100' } },
    ],
  });

  interface EnqueueView {
    base: string;
    queue: string;
    welcome: { play: string | null; say: string } | null;
  }
  const enqueue = templates.compile<EnqueueView>({
    file: 'queue-enqueue.xml',
    shape: { base: 'value', queue: 'value', welcome: { play: 'value', say: 'value' } },
    samples: [
      { label: 'a queue', view: { base: SAMPLE_BASE, queue: `support & "sales" <x>`, welcome: null } },
      {
        label: 'a welcome MP3',
        view: {
          base: SAMPLE_BASE,
          queue: 'sales',
          welcome: { play: `${SAMPLE_BASE}/audio/queue-welcome.mp3`, say: 'x' },
        },
      },
      {
        label: 'a spoken welcome',
        view: { base: SAMPLE_BASE, queue: 'sales', welcome: { play: null, say: `Hold <on> & "wait"` } },
      },
    ],
  });
  interface WaitView {
    base: string;
    leave: boolean;
    announce: { position: number; wait: string } | null;
    callback: { play: string | null; say: string } | null;
    holdMusic: string;
  }
  const announce = { position: 3, wait: 'two minutes' };
  const music = `${SAMPLE_BASE}/audio/hold-music.mp3?a=1&b="2"`;
  const queueWait = templates.compile<WaitView>({
    file: 'queue-wait.xml',
    shape: {
      base: 'value',
      leave: 'value',
      announce: { position: 'value', wait: 'value' },
      callback: { play: 'value', say: 'value' },
      holdMusic: 'value',
    },
    samples: [
      {
        label: 'leave',
        view: { base: SAMPLE_BASE, leave: true, announce: null, callback: null, holdMusic: music },
      },
      {
        label: 'announce',
        view: { base: SAMPLE_BASE, leave: false, announce, callback: null, holdMusic: music },
      },
      {
        label: 'music only',
        view: { base: SAMPLE_BASE, leave: false, announce: null, callback: null, holdMusic: music },
      },
      {
        label: 'callback offer',
        view: {
          base: SAMPLE_BASE,
          leave: false,
          announce,
          callback: { play: null, say: 'Press 1 <to> be "called" back & more' },
          holdMusic: music,
        },
      },
      {
        label: 'callback offer MP3',
        view: {
          base: SAMPLE_BASE,
          leave: false,
          announce: null,
          callback: { play: `${SAMPLE_BASE}/audio/callback-offer.mp3`, say: 'x' },
          holdMusic: music,
        },
      },
    ],
  });
  interface ClosedView {
    base: string;
    reason: ClosedFlowReason;
    play: string | null;
    say: string;
  }
  const closed = templates.compile<ClosedView>({
    file: 'closed.xml',
    shape: { base: 'value', reason: 'value', play: 'value', say: 'value' },
    samples: [
      {
        label: 'an MP3 prompt',
        view: { base: SAMPLE_BASE, reason: 'holiday', play: `${SAMPLE_BASE}/audio/holiday.mp3`, say: 'x' },
      },
      {
        label: 'a spoken prompt',
        view: { base: SAMPLE_BASE, reason: 'manual', play: null, say: `Closed <today> & "tomorrow"` },
      },
    ],
  });
  const queueDial = templates.compile<NextRoundView>({
    file: 'queue-dial.xml',
    shape: { base: 'value', round: ROUND_SHAPE },
    samples: [{ label: 'one agent', view: { base: SAMPLE_BASE, round: sampleRound(1, '+13125550100') } }],
  });
  const callbackRequested = templates.compile<BaseView>({
    file: 'queue-callback.xml',
    shape: { base: 'value' },
    samples: [{ label: 'a callback', view: { base: SAMPLE_BASE } }],
  });

  return {
    enqueue: ({ base, queue, welcome }) =>
      enqueue({
        base: baseUrl(base),
        queue,
        welcome: welcome ? { play: welcome.play ?? null, say: welcome.say } : null,
      }),
    queueWait: ({ base, leave, announce, callback, callbackOffer, holdMusic }) =>
      queueWait({
        base: baseUrl(base),
        leave,
        announce: announce ?? null,
        callback: callback
          ? { play: callbackOffer?.play ?? null, say: callbackOffer?.say ?? DEFAULT_CALLBACK_OFFER }
          : null,
        holdMusic: holdMusic ?? `${baseUrl(base)}/audio/hold-music.mp3`,
      }),
    closed: ({ base, reason, play, say }) => closed({ base: baseUrl(base), reason, play: play ?? null, say }),
    queueDial: ({ base, round }) => queueDial({ base: baseUrl(base), round: roundView(round) }),
    callbackRequested: ({ base }) => callbackRequested({ base: baseUrl(base) }),
    inbound: ({ base, round }) =>
      inbound({ base: baseUrl(base), round: round && round.targets.length > 0 ? roundView(round) : null }),
    nextRound: ({ base, round }) =>
      round.targets.length > 0
        ? nextRound({ base: baseUrl(base), round: roundView(round) })
        : voicemail(voicemailView(base, 'no-agents')),
    voicemail: ({ base, reason }) => voicemail(voicemailView(base, reason)),
    thanks: ({ base }) => thanks({ base: baseUrl(base) }),
    answered: ({ base }) => answered({ base: baseUrl(base) }),
    outbound: ({ base, to, callerId }) => outbound({ base: baseUrl(base), to, callerId }),
  };
}
