import type { CallUpdate } from './live-calls.js';
import {
  type EnqueueVerb,
  readTexml,
  readVerbs,
  type TelnyxPlayer,
  type TexmlPlan,
  type Verb,
} from './telnyx-player.js';

/**
 * A caller waiting in a TeXML queue, played as Telnyx documents `<Enqueue>`
 * (https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/enqueue):
 * - the `waitUrl` is requested (with `waitUrlMethod`, default POST) carrying the queue parameters
 *   `QueueSid`, `QueuePosition`, `CurrentQueueSize`, `QueueTime`, `AvgQueueTime`
 *   (https://developers.telnyx.com/api-reference/callbacks/texml-queue); "once all the commands
 *   from the flow are executed, the waitUrl is re-requested, and the TeXML document is run once
 *   again";
 * - only `<Play>`, `<Say>`, `<Gather>`, `<Pause>`, `<Hangup>`, `<Redirect>`, `<Leave>` are
 *   supported there: anything else is an error the simulator reports;
 * - `<Leave>` "removes a call from the queue and continues with the next verb after the original
 *   `<Enqueue>`" (texml-verbs/leave); the Enqueue `action` "will be sent right away when the call
 *   is dequeued using `<Leave>`" and its reply is followed;
 * - a call update through the REST API (`Url` / `Texml` / `Status=completed`, texml-calls.yml
 *   `UpdateTexmlCall`) takes the call out of the queue at once;
 * - `<Gather>`: a digit pressed POSTs the Gather `action` with `Digits` (docs/telnyx.md §1.5) and
 *   the reply is played in the queue; without input, Telnyx's behaviour is UNCONFIRMED: by default
 *   the player goes on with the next verb (what Twilio documents), `gatherNoInput: 'action'`
 *   posts the action with empty `Digits` instead, so a server can be tested against both.
 */

export interface QueueScript {
  /** Press `digit` at the first `<Gather>` heard once the caller has waited `afterSeconds` (default 0). */
  press?: { digit: string; afterSeconds?: number };
  /** The caller hangs up after waiting this many seconds. */
  hangUpAfter?: number;
  /** Seconds a `<Play>` lasts (the hold-music file's length; default 30). */
  playSeconds?: number;
  gatherNoInput?: 'next-verb' | 'action';
  /**
   * POST the Enqueue `action` with `QueueResult=hangup` when the caller hangs up in the queue
   * (default true): Twilio documents it; Telnyx says only that the action is requested "when the
   * call leaves the queue" (UNCONFIRMED for a hang-up).
   */
  actionOnHangUp?: boolean;
  /** Fail the run when still waiting after this many simulated seconds (default 3600). */
  limitSeconds?: number;
}

export type QueueExit =
  /** Out of the queue with a document to go on with. */
  | { kind: 'continue'; plan: TexmlPlan; via: 'update' | 'leave' | 'redirect'; waited: number }
  /** The call ended in the queue. */
  | { kind: 'ended'; by: 'caller' | 'server' | 'api'; waited: number };

export interface QueueCall {
  sid: string;
  from: string;
  to: string;
}

interface Ctx {
  p: TelnyxPlayer;
  call: QueueCall;
  enqueue: EnqueueVerb;
  script: QueueScript;
  /** Lines a call-center person reads ("waiting: number 2 in line …"). */
  story: string[];
  pressed: boolean;
  lastPosition?: string;
}

const WAIT_VERBS = new Set(['Play', 'Say', 'Gather', 'Pause', 'Hangup', 'Redirect', 'Leave']);

export async function waitInQueue(
  p: TelnyxPlayer,
  call: QueueCall,
  enqueue: EnqueueVerb,
  script: QueueScript,
  story: string[],
): Promise<QueueExit> {
  const ctx: Ctx = { p, call, enqueue, script, story, pressed: false };
  p.queues.join(enqueue.queue, call.sid, p.clock.ms);
  const limit = script.limitSeconds ?? 3600;
  for (;;) {
    const early = await interrupt(ctx);
    if (early) return early;
    if (waited(ctx) >= limit) {
      throw new Error(`call ${call.sid} still waiting in queue ${enqueue.queue} after ${limit} s`);
    }
    if (!enqueue.waitUrl) {
      // No waitUrl: Telnyx plays its own hold music; the call waits for an update or a hang-up.
      const out = await hear(ctx, 10);
      if (out) return out;
      continue;
    }
    const params = { ...p.base(call.sid, call.from, call.to), ...queueParams(ctx) };
    const position = params.QueuePosition;
    if (position !== ctx.lastPosition) {
      story.push(
        `waiting: number ${position} in line (${params.CurrentQueueSize} waiting), ${params.QueueTime} s so far`,
      );
      ctx.lastPosition = position;
    }
    const res = await p.request(enqueue.waitUrlMethod, enqueue.waitUrl, params);
    if (res.status !== 200) throw new Error(`waitUrl ${enqueue.waitUrl} answered ${res.status}: ${res.body}`);
    const before = p.clock.ms;
    const out = await play(ctx, readVerbs(res.body), enqueue.waitUrl);
    if (out) return out;
    // A document that takes no time (empty) is not re-requested in a tight loop: a second passes.
    if (p.clock.ms === before) {
      const idle = await hear(ctx, 1);
      if (idle) return idle;
    }
  }
}

const waited = (ctx: Ctx): number => ctx.p.queues.waited(ctx.enqueue.queue, ctx.call.sid, ctx.p.clock.ms);

const queueParams = (ctx: Ctx): Record<string, string> =>
  ctx.p.queues.params(ctx.enqueue.queue, ctx.call.sid, ctx.p.clock.ms);

/** An update of the call, or the caller's hang-up, ends the wait before the next verb. */
async function interrupt(ctx: Ctx): Promise<QueueExit | undefined> {
  const update = ctx.p.calls.take(ctx.call.sid);
  if (update) return applyUpdate(ctx, update);
  const { hangUpAfter } = ctx.script;
  if (hangUpAfter !== undefined && waited(ctx) >= hangUpAfter) return callerHangsUp(ctx);
  return undefined;
}

async function applyUpdate(ctx: Ctx, update: CallUpdate): Promise<QueueExit> {
  const w = leave(ctx);
  if (update.kind === 'hangup') {
    ctx.story.push(`the call was ended through the API after ${w} s in queue`);
    return { kind: 'ended', by: 'api', waited: w };
  }
  if (update.kind === 'texml') {
    ctx.story.push(`taken out of the queue after ${w} s (new TeXML)`);
    return { kind: 'continue', plan: readTexml(update.texml), via: 'update', waited: w };
  }
  ctx.story.push(`taken out of the queue after ${w} s in line`);
  const { p, call } = ctx;
  const res = await p.request(update.method, update.url, {
    ...p.base(call.sid, call.from, call.to),
    CallStatus: 'in-progress',
  });
  if (res.status !== 200) throw new Error(`updated Url ${update.url} answered ${res.status}: ${res.body}`);
  return { kind: 'continue', plan: readTexml(res.body), via: 'update', waited: w };
}

async function callerHangsUp(ctx: Ctx): Promise<QueueExit> {
  const position = queueParams(ctx).QueuePosition;
  const w = leave(ctx);
  ctx.story.push(`the caller hung up after ${w} s in queue (number ${position} in line)`);
  const { p, call, enqueue } = ctx;
  if (enqueue.action && (ctx.script.actionOnHangUp ?? true)) {
    await p.request(enqueue.method, enqueue.action, {
      ...p.base(call.sid, call.from, call.to),
      QueueResult: 'hangup',
      QueueTime: String(w),
    });
  }
  return { kind: 'ended', by: 'caller', waited: w };
}

/** Out of Telnyx's queue; returns the seconds waited. */
function leave(ctx: Ctx): number {
  const w = waited(ctx);
  ctx.p.queues.leave(ctx.enqueue.queue, ctx.call.sid);
  return w;
}

/** Audio or silence of `seconds`, cut short by an update or the caller hanging up. */
async function hear(ctx: Ctx, seconds: number): Promise<QueueExit | undefined> {
  let left = seconds;
  while (left > 0) {
    const { hangUpAfter } = ctx.script;
    const untilHangUp = hangUpAfter === undefined ? left : hangUpAfter - waited(ctx);
    if (untilHangUp <= 0) return interrupt(ctx);
    const step = Math.min(left, untilHangUp);
    await ctx.p.listen(ctx.call.sid, step);
    left -= step;
    const out = await interrupt(ctx);
    if (out) return out;
  }
  return undefined;
}

/** Plays a wait document's verbs in order; an exit ends the wait, undefined = document done. */
async function play(ctx: Ctx, verbs: Verb[], docUrl: string): Promise<QueueExit | undefined> {
  for (const verb of verbs) {
    const early = await interrupt(ctx);
    if (early) return early;
    if (!WAIT_VERBS.has(verb.name)) {
      throw new Error(
        `<${verb.name}> is not supported in a waitUrl document (texml-verbs/enqueue allows ${[...WAIT_VERBS].join(', ')})`,
      );
    }
    const out = await playOne(ctx, verb, docUrl);
    if (out === 'document-done') return undefined;
    if (out) return out;
  }
  return undefined;
}

const sayingSeconds = (text: string): number =>
  Math.max(1, Math.ceil(text.split(/\s+/).filter(Boolean).length / 2.5));

async function playOne(
  ctx: Ctx,
  verb: Verb,
  docUrl: string,
): Promise<QueueExit | 'document-done' | undefined> {
  const { p, call, enqueue } = ctx;
  switch (verb.name) {
    case 'Play':
      return hear(ctx, ctx.script.playSeconds ?? 30);
    case 'Say':
      ctx.story.push(`heard: "${verb.text}"`);
      return hear(ctx, sayingSeconds(verb.text));
    case 'Pause':
      return hear(ctx, Number(verb.attrs.length ?? 1) || 1);
    case 'Hangup': {
      const w = leave(ctx);
      ctx.story.push(`Switchboard hung up after ${w} s in queue`);
      return { kind: 'ended', by: 'server', waited: w };
    }
    case 'Redirect': {
      const w = leave(ctx);
      ctx.story.push(`redirected out of the queue after ${w} s`);
      const res = await p.request(
        verb.attrs.method ?? 'POST',
        verb.text,
        p.base(call.sid, call.from, call.to),
      );
      if (res.status !== 200) throw new Error(`Redirect ${verb.text} answered ${res.status}: ${res.body}`);
      return { kind: 'continue', plan: readTexml(res.body), via: 'redirect', waited: w };
    }
    case 'Leave': {
      const w = leave(ctx);
      if (!enqueue.action) {
        ctx.story.push(`left the queue after ${w} s`);
        return { kind: 'continue', plan: planOf(enqueue.after), via: 'leave', waited: w };
      }
      ctx.story.push(`left the queue after ${w} s in line`);
      // QueueResult/QueueTime: Twilio's names for the action request; Telnyx lists none
      // (UNCONFIRMED, docs/telnyx.md §1.7).
      const res = await p.request(enqueue.method, enqueue.action, {
        ...p.base(call.sid, call.from, call.to),
        QueueResult: 'leave',
        QueueTime: String(w),
      });
      if (res.status !== 200) throw new Error(`Enqueue action answered ${res.status}: ${res.body}`);
      return { kind: 'continue', plan: readTexml(res.body), via: 'leave', waited: w };
    }
    case 'Gather':
      return gather(ctx, verb, docUrl);
  }
  return undefined;
}

async function gather(
  ctx: Ctx,
  verb: Verb,
  docUrl: string,
): Promise<QueueExit | 'document-done' | undefined> {
  const { p, call, script } = ctx;
  for (const child of verb.children) {
    if (!['Say', 'Play', 'Pause'].includes(child.name)) continue;
    const out = await playOne(ctx, child, docUrl);
    if (out) return out;
    // A key pressed during the prompt interrupts it, as on a phone.
    if (pressDue(ctx)) break;
  }
  const action = verb.attrs.action ?? docUrl;
  const method = verb.attrs.method ?? 'POST';
  let digits: string | undefined;
  if (pressDue(ctx)) {
    digits = script.press?.digit as string;
    ctx.pressed = true;
    ctx.story.push(`pressed ${digits} after ${waited(ctx)} s in queue`);
  } else {
    const timeout = Number(verb.attrs.timeout ?? 5) || 5;
    const out = await hear(ctx, timeout);
    if (out) return out;
    if (pressDue(ctx)) return gather(ctx, { ...verb, children: [] }, docUrl);
    if ((script.gatherNoInput ?? 'next-verb') === 'next-verb') return undefined;
    digits = '';
  }
  const res = await p.request(method, action, { ...p.base(call.sid, call.from, call.to), Digits: digits });
  if (res.status !== 200) throw new Error(`Gather action ${action} answered ${res.status}: ${res.body}`);
  // The reply replaces the wait document; when it is done the waitUrl loop goes on.
  const out = await play(ctx, readVerbs(res.body), action);
  return out ?? 'document-done';
}

const pressDue = (ctx: Ctx): boolean =>
  !ctx.pressed && ctx.script.press !== undefined && waited(ctx) >= (ctx.script.press.afterSeconds ?? 0);

/** The verbs after `<Enqueue>`, as a document of their own. */
function planOf(verbs: Verb[]): TexmlPlan {
  return readTexml(`<Response>${verbs.map(toXml).join('')}</Response>`);
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function toXml(v: Verb): string {
  const attrs = Object.entries(v.attrs)
    .map(([k, val]) => ` ${k}="${esc(val)}"`)
    .join('');
  const inner = v.children.length ? v.children.map(toXml).join('') : esc(v.text);
  return `<${v.name}${attrs}>${inner}</${v.name}>`;
}
