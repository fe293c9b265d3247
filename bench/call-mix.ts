import { type KeyObject, randomUUID, sign } from 'node:crypto';

/**
 * The requests Telnyx sends for one answered inbound call, signed as Telnyx signs them
 * (Ed25519 over `timestamp|raw body`, docs/telnyx.md §2), with the PascalCase parameters of
 * docs/telnyx.md §1.2–1.4. Signed ahead of each load phase so the load generator spends its
 * CPU on HTTP, not on signatures; the server accepts a timestamp for 300 s, so a batch is signed
 * just before it is played. The call mix's agent legs are the exception (`DialedCall`): Telnyx
 * rings the agents the inbound reply's `<Dial>` names, so their callbacks are signed when that
 * reply is in.
 */

export type RouteName = 'inbound' | 'status' | 'dial-result';

export interface SignedRequest {
  route: RouteName;
  /** Path and query, as Telnyx requests the absolute URL from the TeXML. */
  path: string;
  body: string;
  headers: Record<string, string>;
}

/**
 * The steps of one call, in the order they are sent on one connection: one signed /texml/inbound,
 * six /texml/status callbacks for the caller and two agent legs, one /texml/dial-result, and the
 * caller's completed callback. Leg A answers after 8 s and talks 60 s; leg B is canceled.
 */
export const MIX_STEPS = [
  'inbound',
  'status: caller in-progress',
  'status: leg A ringing',
  'status: leg B ringing',
  'status: leg A in-progress',
  'status: leg B canceled',
  'status: leg A completed',
  'dial-result: completed',
  'status: caller completed',
] as const;

/** The roster of the server the mix plays against (`npm run bench`, and the paired run's mix). */
export const MIX_AGENTS = 150;

/** The indexes of MIX_STEPS that are /texml/status callbacks (the callbacks-only phase). */
export const CALLBACK_STEPS = [1, 2, 3, 4, 5, 6, 8] as const;

const ACCOUNT_SID = randomUUID();
const CONNECTION_ID = '1568109700606592442';
const HOTLINE = '+18005550199';

/** A TeXML CallSid as Telnyx shows them (`v3:` + 22 url-safe characters). */
export const callSid = (): string => `v3:${randomUUID().replaceAll('-', '').slice(0, 22)}`;

/** A US caller number: unique per call, so every caller is new to routing (no sticky agent). */
const callerNumber = (n: number): string => `+1312${String(5_000_000 + (n % 4_999_999)).padStart(7, '0')}`;

export interface CallMixOptions {
  privateKey: KeyObject;
  /** SIP URIs of the roster's agents; call n's legs ring agents n and n+1 (mod the roster) unless `rung`. */
  agentSips: readonly string[];
  /** Call n's caller number; default a new number per call (no history, no sticky agent). */
  caller?: (n: number) => string;
  /**
   * The CallSids of the call and its two legs; default new ones. Lets `bench/round-trips.ts
   * --follow-dial` sign the rest of a call again once it knows whom the inbound reply dialed.
   */
  sids?: { call: string; legA: string; legB: string };
  /**
   * The agents the inbound reply's `<Dial>` rang, in its order: leg A rings the first, leg B the
   * second (the first again when it rang one). Default: agents n and n+1 of `agentSips`.
   */
  rung?: readonly string[];
}

/** Signs one request the way Telnyx does. */
export function signRequest(
  privateKey: KeyObject,
  route: RouteName,
  path: string,
  params: Record<string, string>,
  nowMs = Date.now(),
): SignedRequest {
  const body = new URLSearchParams(params).toString();
  const timestamp = String(Math.floor(nowMs / 1000));
  const signature = sign(null, Buffer.from(`${timestamp}|${body}`), privateKey).toString('base64');
  return {
    route,
    path,
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'Telnyx Webhooks',
      'telnyx-timestamp': timestamp,
      'telnyx-signature-ed25519': signature,
    },
  };
}

/** The nine signed requests of call number `n` (see MIX_STEPS), timestamped `nowMs`. */
export function signedCall(n: number, o: CallMixOptions, nowMs = Date.now()): SignedRequest[] {
  return callSigners(n, o, nowMs).map((signStep) => signStep());
}

/** One signer per step of MIX_STEPS, in its order: signs that step of call `n` when called. */
function callSigners(n: number, o: CallMixOptions, nowMs: number): (() => SignedRequest)[] {
  const sid = o.sids?.call ?? callSid();
  const legA = o.sids?.legA ?? callSid();
  const legB = o.sids?.legB ?? callSid();
  const from = o.caller ? o.caller(n) : callerNumber(n);
  const agents = o.agentSips;
  const sipA = (o.rung?.[0] ?? agents[n % agents.length]) as string;
  const sipB = (o.rung?.[1] ?? o.rung?.[0] ?? agents[(n + 1) % agents.length]) as string;
  const iso = (offsetSeconds: number) => new Date(nowMs + offsetSeconds * 1000).toISOString();
  const common = (s: string, to: string) => ({
    AccountSid: ACCOUNT_SID,
    CallSid: s,
    CallSidLegacy: s,
    ConnectionId: CONNECTION_ID,
    ApiVersion: '2010-04-01',
    From: from,
    To: to,
  });
  const progress = (
    s: string,
    to: string,
    status: string,
    seq: number,
    at: number,
    extra: Record<string, string> = {},
  ) => ({
    ...common(s, to),
    CallStatus: status,
    CallbackSource: 'call-progress-events',
    SequenceNumber: String(seq),
    Timestamp: iso(at),
    CallInitiatedAt: iso(s === sid ? 0 : 1),
    ...(s === sid ? {} : { ParentCallSid: sid, ParentCallSidLegacy: sid }),
    ...extra,
  });
  const ended = (answeredAt: number, endedAt: number, source: string) => ({
    AnsweredTime: iso(answeredAt),
    CallDuration: String(endedAt - answeredAt),
    StartTime: iso(answeredAt),
    EndTime: iso(endedAt),
    HangupCause: 'normal_clearing',
    HangupSource: source,
    SipHangupCause: '200',
  });
  const s = (params: () => Record<string, string>) => () =>
    signRequest(o.privateKey, 'status', '/texml/status', params(), nowMs);

  return [
    () =>
      signRequest(
        o.privateKey,
        'inbound',
        '/texml/inbound',
        {
          ...common(sid, HOTLINE),
          CallStatus: 'ringing',
          CallerId: 'Bench Caller',
          CallingPartyType: 'pstn',
        },
        nowMs,
      ),
    s(() => progress(sid, HOTLINE, 'in-progress', 2, 0.5)),
    s(() => progress(legA, sipA, 'ringing', 1, 1)),
    s(() => progress(legB, sipB, 'ringing', 1, 1)),
    s(() => progress(legA, sipA, 'in-progress', 2, 9)),
    s(() => progress(legB, sipB, 'canceled', 3, 9, { HangupCause: 'originator_cancel' })),
    s(() => progress(legA, sipA, 'completed', 3, 69, ended(9, 69, 'callee'))),
    () =>
      signRequest(
        o.privateKey,
        'dial-result',
        '/texml/dial-result?attempt=1',
        {
          ...common(sid, HOTLINE),
          CallStatus: 'in-progress',
          DialCallStatus: 'completed',
          DialCallSid: legA,
          DialCallSidLegacy: legA,
          DialCallDuration: '60',
          Timestamp: iso(69),
        },
        nowMs,
      ),
    s(() => progress(sid, HOTLINE, 'completed', 3, 70, ended(0, 70, 'callee'))),
  ];
}

/** `count` calls numbered from `first`, all signed now. */
export function signCalls(first: number, count: number, o: CallMixOptions): SignedRequest[][] {
  const now = Date.now();
  const out: SignedRequest[][] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = signedCall(first + i, o, now);
  return out;
}

/** The MIX_STEPS that name an agent (the legs), those of leg B alone, and the caller's hang-up. */
const stepsNamed = (part: string) =>
  new Set(MIX_STEPS.flatMap((name, i) => (name.includes(part) ? [i] : [])));
const LEG_STEPS = stepsNamed('leg ');
const LEG_B_STEPS = stepsNamed('leg B');
const CALLER_COMPLETED = MIX_STEPS.indexOf('status: caller completed');

/** The MIX_STEPS a call plays when its inbound reply rang `rung` agents (Telnyx sends no more). */
export function stepsWhenRung(rung: number): number[] {
  const all = MIX_STEPS.map((_, i) => i);
  // Nobody rang (queued, voicemail): the caller hangs up.
  if (rung === 0) return [0, CALLER_COMPLETED];
  return rung === 1 ? all.filter((i) => !LEG_B_STEPS.has(i)) : all;
}

/** The SIP URIs a TeXML reply's `<Dial>` rings, in order (none when it has no `<Dial>`). */
export function dialedSips(body: string): string[] {
  const dial = /<Dial\b[^>]*>([\s\S]*?)<\/Dial>/.exec(body)?.[1];
  if (!dial) return [];
  return [...dial.matchAll(/<Sip\b[^>]*>([^<]+)<\/Sip>/g)].map((m) =>
    (m[1] as string)
      .trim()
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>')
      .replaceAll('&quot;', '"')
      .replaceAll('&#39;', "'")
      .replaceAll('&amp;', '&'),
  );
}

/** A call as a load phase plays it: its first request, then the rest once the first's reply is in. */
export interface ScriptedCall {
  readonly first: SignedRequest;
  rest(status: number, body: string): readonly SignedRequest[];
}

/** Some steps of a call signed ahead, whatever the replies (the single-route phases). */
export function fixedSteps(call: readonly SignedRequest[], steps: readonly number[]): ScriptedCall {
  const requests = steps.map((i) => call[i] as SignedRequest);
  return { first: requests[0] as SignedRequest, rest: () => requests.slice(1) };
}

/**
 * A call of the mix whose agent legs follow the inbound reply, as Telnyx's do: leg A rings the
 * first agent the `<Dial>` lists and answers, leg B the second and is canceled (left out when one
 * rang); a reply without `<Dial>` (queued, voicemail) is followed by the caller hanging up. The
 * steps that name no agent are signed ahead, with the call's timestamp; the legs are signed when
 * the reply is in, by the load generator during the phase, with the same timestamp, sids and
 * sequence numbers as `signedCall`.
 */
export class DialedCall implements ScriptedCall {
  readonly first: SignedRequest;
  private readonly options: CallMixOptions;
  private readonly ahead = new Map<number, SignedRequest>();

  constructor(
    private readonly n: number,
    o: CallMixOptions,
    private readonly nowMs = Date.now(),
  ) {
    this.options = { ...o, sids: o.sids ?? { call: callSid(), legA: callSid(), legB: callSid() } };
    const signers = callSigners(n, this.options, nowMs);
    signers.forEach((signStep, i) => {
      if (!LEG_STEPS.has(i)) this.ahead.set(i, signStep());
    });
    this.first = this.ahead.get(0) as SignedRequest;
  }

  rest(status: number, body: string): SignedRequest[] {
    const rung = status === 200 ? dialedSips(body) : [];
    const signers = rung.length ? callSigners(this.n, { ...this.options, rung }, this.nowMs) : [];
    return stepsWhenRung(rung.length)
      .slice(1)
      .map((i) => this.ahead.get(i) ?? (signers[i] as () => SignedRequest)());
  }
}

/** `count` calls numbered from `first` whose legs follow the inbound reply, signed (ahead) now. */
export function dialedCalls(first: number, count: number, o: CallMixOptions): DialedCall[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => new DialedCall(first + i, o, now));
}
