import type { Logger } from 'pino';
import type { Agent, Roster } from '../agents/agent.js';
import type { Notifier } from '../alerts/alert.js';
import type { Prompt } from '../call-center/call-center-file.js';
import { menuChoice, renderMenuTexml } from '../call-center/menu.js';
import type { HoursReason } from '../call-center/opening-hours.js';
import { closedPrompt, promptUrl } from '../call-center/prompts.js';
import type { CallCenterEvent } from '../events/call-center-event.js';
import type { CallCenter } from '../queues/call-center.js';
import { QueueDirectory } from '../queues/queue-directory.js';
import type { AfterQueue, QueueFlow } from '../queues/queue-flow.js';
import { callerText, parseCount, parseTelnyxTime, type TexmlParams } from '../telnyx/texml-params.js';
import type { DialRound, Flows } from '../texml/flows.js';
import { withTimeout } from '../with-timeout.js';
import { waitSeconds } from './call-outcome.js';
import type { CallStore, UpdateResult } from './call-store.js';
import type { AgentRef, CallEvent, CallState, ClosedInfo, Effect } from './call-types.js';
import { parseCallStatus } from './leg-status.js';

/** The agents of one ring round, as the picker chose them (docs/interface.md §5). */
export interface RoundPick {
  agents: Agent[];
  /** The caller's preferred agent alone: rung for STICKY_RING_SECONDS, not one of DIAL_ATTEMPTS. */
  sticky?: boolean;
  /** Nobody rings: the caller's preferred agent (id) is engaged; hold the caller in the queue for them. */
  preferred?: string;
}

/**
 * Chooses whom to ring and learns from what happened. Implementations never throw from `pick`:
 * when history or shared counters cannot be read they fall back to the strategy alone.
 */
export interface AgentPicker {
  pick(input: {
    callSid: string;
    caller: string;
    round: number;
    alreadyRung: readonly string[];
    /** May answer `preferred` (wait in the queue for the preferred agent) instead of ringing others. */
    waitForPreferred?: boolean;
    /** The call's queue (docs/interface.md §7): its agents, with its strategy. */
    queue: string;
    /**
     * Events to append right after the round's `offer` events, in the same log write, when an
     * offer commits: the inbound's `enter-queue`. Taken out of the array when logged; what is left
     * in it, the flow logs itself.
     */
    logWithOffers?: CallCenterEvent[];
  }): Promise<RoundPick>;
  /** An agent answered this call (counted once per call, whoever calls it how often). */
  answered(callSid: string, caller: string, agentId: string): Promise<void>;
  busy(agentId: string, leg: string, at: number): Promise<void>;
  idle(agentId: string, leg: string, at: number): Promise<void>;
}

export interface CallFlowOptions {
  store: CallStore;
  roster: Roster;
  picker: AgentPicker;
  flows: Flows;
  notifier: Notifier;
  log: Logger;
  dialAttempts: number;
  dialTimeoutSeconds: number;
  /** STICKY_RING_SECONDS: ring time of the round that rings the preferred agent alone (default 15). */
  stickyRingSeconds?: number;
  hotlineNumber?: string;
  /** Runs once per finished call (call records, metrics). */
  onFinished?: (call: CallState) => Promise<void>;
  now?: () => number;
  /** How long a TeXML reply may wait on the store before answering without it. */
  storeBudgetMs?: number;
  /** Agent status and state (docs/interface.md §5): offers, answers, ring-outs, wrap-ups. */
  center?: CallCenter;
  /** Callers waiting for a free agent (docs/interface.md §7); without it, voicemail as before. */
  queue?: QueueFlow;
  /**
   * The queues, the menu and the prompts of the call-center file (docs/interface.md §9). Default:
   * the queue flow's, else one `support` queue of every agent, no menu.
   */
  directory?: QueueDirectory;
  /** Opening hours (docs/interface.md §9); without them every queue is open. */
  hours?: HoursLookup;
  /** Whether `audio/<name>.mp3` is served (a prompt without its MP3 is spoken); default: all are. */
  hasAudio?: (name: string) => boolean;
}

/** The opening hours as the call flow asks for them (`OpeningHoursService.check` fits). */
export interface HoursLookup {
  check(
    queue: string,
    at?: number,
  ): Promise<{ open: boolean; reason: HoursReason; closure?: { reason?: string; prompt?: Prompt } }>;
}

/** The request's time, as `CallFlow.when` reads it. */
type When = { at: number; local?: true; receivedAt: number };

/** Thrown when a callback could not be stored: the route answers 503 so Telnyx retries it. */
export class CallbackNotStoredError extends Error {
  constructor(cause: unknown) {
    super(`callback not stored: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'CallbackNotStoredError';
  }
}

/** A recording with a usable URL and a duration that is not 0 (absent duration: trust the URL). */
function hasMessage(p: TexmlParams): boolean {
  const url = p.RecordingUrl?.trim();
  if (!url || !/^https?:\/\//i.test(url)) return false;
  return parseCount(p.RecordingDuration) !== 0;
}

/** Telnyx says the recording is 0 s long: the caller left no message. */
const emptyRecording = (p: TexmlParams): boolean => parseCount(p.RecordingDuration) === 0;

const toRef = (a: Agent): AgentRef => ({ id: a.id, name: a.name, sip: a.sip });

/**
 * What each Telnyx request means for a call, and which TeXML to answer. The two replies a caller
 * waits on (`inbound`, `dialResult`) always produce a valid document within a bounded time: the
 * store gets `storeBudgetMs`, routing falls back to the roster, and Slack is never awaited.
 */
export class CallFlow {
  private readonly now: () => number;
  private readonly budget: number;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly directory: QueueDirectory;

  constructor(private readonly o: CallFlowOptions) {
    this.now = o.now ?? Date.now;
    this.budget = o.storeBudgetMs ?? 800;
    this.directory = o.directory ?? o.queue?.directory ?? new QueueDirectory({ roster: o.roster });
  }

  /**
   * `POST /texml/inbound`: with a menu in the call-center file, the menu (docs/interface.md §9);
   * without one, the call goes to the default queue: the closed prompt and voicemail when it is
   * closed, else the greeting and the first ring round of its agents, the line when none is free,
   * or voicemail when nobody of it is signed in.
   */
  async inbound(p: TexmlParams, base: string): Promise<string> {
    const sid = p.CallSid as string;
    const at = this.when(p);
    const from = callerText(p.From);
    const arrived: CallEvent = {
      kind: 'inbound',
      sid,
      from,
      to: callerText(p.To),
      callerName: callerText(p.CallerId) || undefined,
      ...at,
    };
    const config = this.directory.config();
    if (config.menu) {
      // The attempt is kept in the call's state, never in the URL (query strings are not signed).
      await this.recordForReply(sid, [arrived, { kind: 'menu-played', attempt: 1, ...at }]);
      return this.menuDocument(base, false);
    }
    return this.enterQueue({
      sid,
      from,
      accountSid: p.AccountSid,
      base,
      at,
      before: [arrived, { kind: 'queue-chosen', queue: config.defaultQueue, ...at }],
      queue: config.defaultQueue,
      afterMenu: false,
    });
  }

  /**
   * `POST /texml/menu`: the menu's `<Gather action>` (a key in `Digits`) or its `<Redirect>` (no
   * key: whether Telnyx requests the action on a timeout is UNCONFIRMED, so both lead here). A
   * valid key sends the caller to its queue; no key or a wrong key plays the menu again until its
   * `retries` are used up, then the default queue. Which attempt this was comes from the call's
   * state; when the state cannot be read it counts as the last one, so nobody loops.
   */
  async menu(p: TexmlParams, base: string): Promise<string> {
    const sid = p.CallSid as string;
    const at = this.when(p);
    let state: CallState | null = null;
    let unknown = false;
    try {
      state = await withTimeout(this.o.store.get(sid), this.budget);
    } catch (err) {
      unknown = true;
      this.o.log.warn({ err, callSid: sid }, 'call state unavailable for the menu; taking this key as final');
    }
    const config = this.directory.config();
    const from = state?.from || callerText(p.From);
    const common = { sid, from, accountSid: p.AccountSid, base, at, afterMenu: true };
    if (state?.queue !== undefined) {
      // A repeated request after the choice: the call is already on its way to its queue.
      return this.enterQueue({ ...common, before: [], queue: state.queue });
    }
    const menu = config.menu;
    if (!menu) {
      // The menu was removed from the file while the caller listened: the default queue.
      return this.enterQueue({
        ...common,
        before: [{ kind: 'queue-chosen', queue: config.defaultQueue, ...at }],
        queue: config.defaultQueue,
      });
    }
    const attempt = unknown ? menu.retries + 1 : Math.max(1, state?.menu?.attempts ?? 1);
    const decision = menuChoice(menu, p.Digits, attempt, config.defaultQueue);
    if ('repeat' in decision) {
      await this.recordForReply(sid, [
        { kind: 'menu-played', attempt: decision.repeat, reason: decision.reason, ...at },
      ]);
      return this.menuDocument(base, decision.reason === 'invalid');
    }
    const chosen: CallEvent =
      'reason' in decision
        ? { kind: 'queue-chosen', queue: decision.queue, fallback: decision.reason, ...at }
        : {
            kind: 'queue-chosen',
            queue: decision.queue,
            digit: (p.Digits ?? '').trim().charAt(0),
            ...at,
          };
    return this.enterQueue({ ...common, before: [chosen], queue: decision.queue });
  }

  /** The menu document; its action (and no-input redirect) is `/texml/menu`. */
  private menuDocument(base: string, afterInvalid: boolean): string {
    const root = base.replace(/\/+$/, '');
    return renderMenuTexml(this.directory.config(), {
      base: root,
      action: `${root}/texml/menu`,
      afterInvalid,
      hasAudio: this.o.hasAudio,
    });
  }

  /**
   * The call reaches `queue` (docs/interface.md §7, §9): closed → the closed prompt that fits and
   * voicemail; open → the first ring round of the queue's free agents, else the line, else
   * voicemail. `before` (the call's arrival, the queue choice) is stored with what follows.
   */
  private async enterQueue(c: {
    sid: string;
    from: string;
    accountSid: string | undefined;
    base: string;
    at: When;
    before: CallEvent[];
    queue: string;
    /** The caller came from the menu: no greeting before the ring round. */
    afterMenu: boolean;
  }): Promise<string> {
    const { sid, from, base, at, before, queue } = c;
    const hours = await this.hoursOf(sid, queue, at.at);
    if (hours && !hours.open) {
      const closed: ClosedInfo = {
        reason: hours.reason as ClosedInfo['reason'],
        ...(hours.closure?.reason ? { detail: hours.closure.reason } : {}),
      };
      if (this.o.center) {
        this.background(
          this.o.center.log([
            {
              type: 'voicemail',
              at: this.now(),
              queue,
              callSid: sid,
              reason: 'closed',
              closed: closed.reason,
            },
          ]),
        );
      }
      await this.recordForReply(sid, [
        ...before,
        { kind: 'voicemail-started', reason: 'closed', closed, ...at },
      ]);
      return this.closedDocument(base, queue, hours);
    }
    // Offered at once, the call still enters its queue, at the front (docs/interface.md §7 log):
    // logged with the offers, in one event-log write (the picker takes it out of `entered`), or
    // below when no committed offer took it.
    const entered: CallCenterEvent[] = this.o.center
      ? [{ type: 'enter-queue', at: this.now(), queue, callSid: sid, position: 1 }]
      : [];
    let round = await this.nextRound(sid, from, 1, [], queue, this.o.queue !== undefined, entered);
    if (!round.dial) {
      // Nobody eligible is free, or the preferred agent is engaged: wait in the queue when an
      // agent of it is signed in (held for the preferred agent for STICKY_RING_SECONDS, §5.1).
      const joined = await this.joinQueue(sid, from, c.accountSid, queue, round.preferred);
      if (joined) {
        await this.recordForReply(sid, before);
        return this.o.flows.enqueue({ base, queue: joined, welcome: this.welcome(base, joined) });
      }
      // The queue cannot hold the caller for their agent: the strategy, among the others, now.
      if (round.preferred) round = await this.nextRound(sid, from, 1, [], queue, false, entered);
    }
    const unlogged = round.dial ? entered.splice(0) : [];
    if (unlogged.length && this.o.center) {
      const now = this.now();
      this.background(this.o.center.log(unlogged.map((e) => ({ ...e, at: now }))));
    }
    const events: CallEvent[] = [
      ...before,
      round.dial
        ? {
            kind: 'dial-started',
            attempt: 1,
            targets: round.agents.map(toRef),
            ...(round.sticky ? { sticky: true } : {}),
            ...at,
          }
        : { kind: 'voicemail-started', reason: 'no-agents', ...at },
    ];
    await this.recordForReply(sid, events);
    if (c.afterMenu) {
      return round.dial
        ? this.o.flows.queueDial({ base, round: round.dial })
        : this.o.flows.voicemail({ base, reason: 'no-agents' });
    }
    return this.o.flows.inbound({ base, round: round.dial });
  }

  /**
   * Whether `queue` is open at `at` (the request's Telnyx time, so a call is judged by when it
   * happened); undefined, and the queue treated as open, when the hours cannot be told in time.
   */
  private async hoursOf(
    callSid: string,
    queue: string,
    at: number,
  ): Promise<Awaited<ReturnType<HoursLookup['check']>> | undefined> {
    if (!this.o.hours) return undefined;
    try {
      return await withTimeout(this.o.hours.check(queue, at), this.budget);
    } catch (err) {
      this.o.log.warn({ err, callSid, queue }, 'opening hours unavailable; the queue counts as open');
      return undefined;
    }
  }

  /** The queue's welcome prompt (docs/call-center-file.md), heard once on first joining its line. */
  private welcome(base: string, queue: string): { play?: string; say: string } | undefined {
    return this.queuePrompt(base, queue, 'welcome');
  }

  /** One of the queue's prompts from the call-center file: its MP3 URL when served, and its words. */
  private queuePrompt(
    base: string,
    queue: string,
    name: 'welcome' | 'callbackOffer',
  ): { play?: string; say: string } | undefined {
    const prompt = this.directory.queue(queue)?.prompts[name];
    if (!prompt) return undefined;
    const play = promptUrl(prompt, { base, hasAudio: this.o.hasAudio });
    return { ...(play ? { play } : {}), say: prompt.say };
  }

  /** The closed prompt that fits the reason (the queue's own from the file), then voicemail. */
  private closedDocument(
    base: string,
    queue: string,
    hours: Awaited<ReturnType<HoursLookup['check']>>,
  ): string {
    const prompt = closedPrompt(this.directory.queue(queue), hours);
    const play = promptUrl(prompt, { base, hasAudio: this.o.hasAudio });
    return this.o.flows.closed({
      base,
      reason: hours.reason as ClosedInfo['reason'],
      ...(play ? { play } : {}),
      say: prompt.say,
    });
  }

  /**
   * `POST /texml/queue/wait`: the `<Enqueue waitUrl>` document. When the queue cannot be read the
   * caller keeps hearing hold music (the next fetch tries again): leaving would drop them into an
   * action we could not answer either.
   */
  async queueWait(p: TexmlParams, base: string): Promise<string> {
    const queue = this.o.queue;
    if (!queue) return this.o.flows.queueWait({ base, leave: true, callback: false });
    try {
      const {
        holdMusic,
        queue: name,
        ...doc
      } = await withTimeout(queue.wait(p.CallSid as string), this.budget);
      // The queue's own hold music (docs/call-center-file.md); the default when its MP3 is missing.
      const music = holdMusic
        ? promptUrl({ play: holdMusic, say: '' }, { base, hasAudio: this.o.hasAudio })
        : undefined;
      // The queue's own "press 1" prompt (docs/call-center-file.md `prompts.callbackOffer`).
      const offer = doc.callback && name ? this.queuePrompt(base, name, 'callbackOffer') : undefined;
      return this.o.flows.queueWait({
        base,
        ...doc,
        ...(music ? { holdMusic: music } : {}),
        ...(offer ? { callbackOffer: offer } : {}),
      });
    } catch (err) {
      this.o.log.warn({ err, callSid: p.CallSid }, 'queue unavailable for the wait document; hold music');
      return this.o.flows.queueWait({ base, leave: false, callback: false });
    }
  }

  /**
   * `POST /texml/queue/callback`: the `<Gather action>` of the wait document. 1: the caller's
   * place becomes a callback (docs/interface.md §7); they hear a confirmation and are hung up.
   * Any other key, or no key (UNCONFIRMED whether Telnyx requests the action without input),
   * or a queue that cannot be read: back to the hold music. Offered to an agent meanwhile: leave.
   */
  async queueCallback(p: TexmlParams, base: string): Promise<string> {
    const sid = p.CallSid as string;
    const queue = this.o.queue;
    if (!queue) return this.o.flows.queueWait({ base, leave: true, callback: false });
    let answer: Awaited<ReturnType<QueueFlow['requestCallback']>> = { kind: 'hold' };
    try {
      answer = await withTimeout(queue.requestCallback(sid, p.Digits, base), this.budget);
    } catch (err) {
      this.o.log.warn({ err, callSid: sid }, 'queue unavailable for the callback request; hold music');
    }
    switch (answer.kind) {
      case 'requested':
        await this.recordForReply(sid, [{ kind: 'callback-requested', ...this.when(p) }]);
        return this.o.flows.callbackRequested({ base });
      case 'leave':
        return this.o.flows.queueWait({ base, leave: true, callback: false });
      case 'hold':
        return this.queueWait(p, base);
    }
  }

  /** `POST /texml/queue/result`: the caller left the queue (`<Enqueue action>`). */
  async queueResult(p: TexmlParams, base: string): Promise<string> {
    const sid = p.CallSid as string;
    const queue = this.o.queue;
    let next: AfterQueue = { kind: 'voicemail', reason: 'queue-unavailable' };
    if (queue) {
      try {
        next = await withTimeout(queue.afterQueue(sid, p.QueueResult), this.budget);
      } catch (err) {
        this.o.log.warn({ err, callSid: sid }, 'queue unavailable after the Enqueue; voicemail');
      }
    }
    return this.afterQueueDocument(sid, p, base, next);
  }

  private async afterQueueDocument(
    sid: string,
    p: TexmlParams,
    base: string,
    next: AfterQueue,
  ): Promise<string> {
    const at = this.when(p);
    switch (next.kind) {
      case 'dial': {
        let attempts = 0;
        try {
          attempts = (await withTimeout(this.o.store.get(sid), this.budget))?.attempts ?? 0;
        } catch {}
        // An offer to the caller's preferred agent within their hold rings for STICKY_RING_SECONDS.
        const round: DialRound = {
          attempt: attempts + 1,
          timeoutSeconds: next.sticky ? this.stickyRingSeconds : this.o.dialTimeoutSeconds,
          targets: [{ name: next.agent.name, sip: next.agent.sip }],
        };
        await this.recordForReply(sid, [
          {
            kind: 'dial-started',
            attempt: round.attempt,
            targets: [toRef(next.agent)],
            ...(next.sticky ? { sticky: true } : {}),
            ...at,
          },
        ]);
        return this.o.flows.queueDial({ base, round });
      }
      case 'enqueue':
        return this.o.flows.enqueue({ base, queue: next.queue });
      case 'hangup':
        return this.o.flows.answered({ base });
      case 'voicemail': {
        // The queue closed while the caller waited: the closed prompt, not "nobody answered".
        let queue: string | undefined;
        try {
          queue = (await withTimeout(this.o.store.get(sid), this.budget))?.queue;
        } catch {}
        const hours = queue !== undefined ? await this.hoursOf(sid, queue, at.at) : undefined;
        if (queue !== undefined && hours && !hours.open) {
          const closed: ClosedInfo = {
            reason: hours.reason as ClosedInfo['reason'],
            ...(hours.closure?.reason ? { detail: hours.closure.reason } : {}),
          };
          await this.recordForReply(sid, [{ kind: 'voicemail-started', reason: 'closed', closed, ...at }]);
          return this.closedDocument(base, queue, hours);
        }
        await this.recordForReply(sid, [{ kind: 'voicemail-started', reason: 'no-answer', ...at }]);
        return this.o.flows.voicemail({ base, reason: 'no-answer' });
      }
    }
  }

  /**
   * Puts the caller in line of `name` (held for `preferred` for STICKY_RING_SECONDS, when given);
   * the queue name, or undefined for voicemail (also when the queue fails).
   */
  private async joinQueue(
    sid: string,
    from: string,
    accountSid: string | undefined,
    name: string,
    preferred?: string,
  ): Promise<string | undefined> {
    const queue = this.o.queue;
    if (!queue) return undefined;
    try {
      const joined = await withTimeout(
        queue.join(sid, from, accountSid?.trim() || undefined, name, preferred ? { preferred } : {}),
        this.budget,
      );
      return joined.kind === 'queued' ? joined.queue : undefined;
    } catch (err) {
      this.o.log.warn({ err, callSid: sid }, 'queue unavailable; voicemail');
      return undefined;
    }
  }

  /**
   * `POST /texml/outbound`: the agent picked up a click-to-call; dial the customer bound to this
   * call when it was created (never a number from the request).
   */
  async outboundAnswered(p: TexmlParams, base: string): Promise<string> {
    const sid = p.CallSid as string;
    let state: CallState | null = null;
    try {
      state = await withTimeout(this.o.store.get(sid), this.budget);
    } catch (err) {
      this.o.log.error({ err, callSid: sid }, 'call state unavailable: cannot dial the customer');
    }
    if (state?.direction !== 'outbound' || !state.customer || !this.o.hotlineNumber) {
      this.o.log.warn({ callSid: sid }, 'no click-to-call is bound to this call; hanging up');
      return this.o.flows.answered({ base });
    }
    await this.recordForReply(sid, [{ kind: 'customer-dial-started', ...this.when(p) }]);
    return this.o.flows.outbound({ base, to: state.customer, callerId: this.o.hotlineNumber });
  }

  /**
   * Records a click-to-call that Telnyx accepted. Throws when it cannot be stored: the route
   * reports it, and /texml/outbound will hang up rather than dial an unknown number.
   */
  async outboundCreated(event: Extract<CallEvent, { kind: 'outbound-created' }>): Promise<void> {
    await this.apply(event.sid, event);
  }

  /**
   * `POST /texml/dial-result`: the <Dial> ended — hang up, ring the next round, or voicemail.
   * Whether this is a click-to-call and which round ended come from the store under the CallSid,
   * never from the request URL (its query string is not covered by Telnyx's signature). When the
   * store cannot be read the round is unknown, so the caller goes to voicemail rather than being
   * rung round after round.
   */
  async dialResult(p: TexmlParams, base: string): Promise<string> {
    const sid = p.CallSid as string;
    const at = this.when(p);
    const dialStatus = (p.DialCallStatus ?? '').trim().toLowerCase();
    let state: CallState | null = null;
    let unknown = false;
    try {
      state = await withTimeout(this.o.store.get(sid), this.budget);
    } catch (err) {
      unknown = true;
      this.o.log.warn({ err, callSid: sid }, 'call state unavailable for dial-result; no further ring round');
    }
    if (state?.direction === 'outbound') {
      // The customer leg of a click-to-call ended: the call ends with it.
      await this.recordForReply(sid, [
        {
          kind: 'dial-ended',
          dialStatus,
          dialLeg: p.DialCallSid || undefined,
          dialDuration: parseCount(p.DialCallDuration),
          attempt: 1,
          ...at,
        },
      ]);
      return this.o.flows.answered({ base });
    }
    const attempt = unknown ? this.o.dialAttempts : (state?.attempts ?? 1);
    // Rounds that count against DIAL_ATTEMPTS: a sticky round (§5.1) does not.
    const counted = unknown ? attempt : attempt - (state?.stickyRounds ?? 0);
    const answered =
      dialStatus === 'completed' || dialStatus === 'answered' || state?.answeredAt !== undefined;
    const ended: CallEvent = {
      kind: 'dial-ended',
      dialStatus,
      dialLeg: p.DialCallSid || undefined,
      dialDuration: parseCount(p.DialCallDuration),
      attempt,
      ...at,
    };
    await this.roundEnded(state, sid, dialStatus);
    if (answered) {
      await this.recordForReply(sid, [ended]);
      return this.o.flows.answered({ base });
    }
    const gone =
      dialStatus === 'canceled' || (state && (state.phase === 'ended' || state.endedAt !== undefined));
    if (!gone && this.o.queue && state) {
      // A caller offered from the queue: back in line at the same place, or voicemail.
      let back: AfterQueue | undefined;
      try {
        back = await withTimeout(this.o.queue.ringEnded(sid, dialStatus !== 'failed'), this.budget);
      } catch (err) {
        this.o.log.warn({ err, callSid: sid }, 'queue unavailable after the ring; continuing without it');
      }
      if (back) {
        await this.recordForReply(sid, [ended]);
        return this.afterQueueDocument(sid, p, base, back);
      }
    }
    // `canceled`: the caller hung up while the agents rang (the caller's own completed callback
    // may not be here yet) — no further round for a caller who is gone.
    if (dialStatus === 'canceled' || (state && (state.phase === 'ended' || state.endedAt !== undefined))) {
      // The caller is gone (Telnyx still asks for the action URL): nothing more to play.
      await this.recordForReply(sid, [ended]);
      return this.o.flows.answered({ base });
    }
    const queueName = state?.queue ?? this.directory.defaultQueue();
    if (counted < this.o.dialAttempts) {
      const round = await this.nextRound(
        sid,
        state?.from ?? callerText(p.From),
        attempt + 1,
        state?.rung ?? [],
        queueName,
        false,
      );
      if (round.dial) {
        await this.recordForReply(sid, [
          ended,
          { kind: 'dial-started', attempt: attempt + 1, targets: round.agents.map(toRef), ...at },
        ]);
        return this.o.flows.nextRound({ base, round: round.dial });
      }
    }
    const reason = counted < this.o.dialAttempts ? 'no-agents' : 'no-answer';
    if (reason === 'no-agents' && state) {
      // Nobody free for the next round: wait in line rather than leave a voicemail.
      const joined = await this.joinQueue(sid, state.from, p.AccountSid, queueName);
      if (joined) {
        await this.recordForReply(sid, [ended]);
        return this.o.flows.enqueue({ base, queue: joined, welcome: this.welcome(base, joined) });
      }
    }
    await this.recordForReply(sid, [ended, { kind: 'voicemail-started', reason, ...at }]);
    return this.o.flows.voicemail({ base, reason });
  }

  /**
   * `POST /texml/voicemail`: the <Record> ended. Its parameters tell whether a message was left:
   * a `RecordingUrl` with a `RecordingDuration` above 0 is a voicemail; a duration of 0 means the
   * caller left none (documented <Record action> parameters,
   * https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/record). Which of
   * them Telnyx sends is UNCONFIRMED, so the recording callback, the caller's `completed` status
   * and, last, the grace timer decide too — whichever comes first.
   */
  async voicemailEnded(p: TexmlParams, base: string): Promise<string> {
    const event = this.recordActionEvent(p);
    if (event) {
      try {
        await withTimeout(this.apply(p.CallSid as string, event), this.budget);
      } catch (err) {
        this.o.log.warn({ err, callSid: p.CallSid }, 'could not store the voicemail from the record action');
      }
    }
    return this.o.flows.thanks({ base });
  }

  /** `POST /texml/status`: a call-progress event of the caller's call or one of its legs. */
  async status(p: TexmlParams): Promise<void> {
    const legSid = p.CallSid as string;
    const status = parseCallStatus(p.CallStatus);
    if (!status) return; // dtmf, amd, analyzed…: nothing for the call state
    const parent = p.ParentCallSid?.trim() || undefined;
    const callSid = parent && parent !== legSid ? parent : legSid;
    const agent = parent ? this.o.roster.bySip(p.To ?? '') : undefined;
    const event: CallEvent = {
      kind: 'status',
      legSid,
      parentSid: parent,
      status,
      seq: parseCount(p.SequenceNumber),
      from: callerText(p.From) || undefined,
      to: p.To?.trim() || undefined,
      ...this.when(p),
      answeredAt: parseTelnyxTime(p.AnsweredTime),
      initiatedAt: parent ? undefined : parseTelnyxTime(p.CallInitiatedAt),
      agent: agent && toRef(agent),
    };
    await this.applyOrFail(callSid, event);
  }

  /**
   * `POST /texml/recording`: the recording status callback (`in-progress` or `completed`, the
   * statuses Telnyx documents for TeXML recordings). A `completed` recording of 0 s or without
   * an http(s) URL is no message; `absent`/`failed` are accepted too in case Telnyx sends them (UNCONFIRMED).
   */
  async recording(p: TexmlParams): Promise<void> {
    const status = (p.RecordingStatus ?? '').trim().toLowerCase();
    let kind: 'completed' | 'absent' | null = null;
    // A completed recording of 0 s, or without a URL we could link, is no message.
    if (status === 'completed') kind = hasMessage(p) ? 'completed' : 'absent';
    else if (status === 'absent' || status === 'failed') kind = 'absent';
    if (!kind) return;
    await this.applyOrFail(p.CallSid as string, this.recordingEvent(p, kind));
  }

  /** Decides the calls whose callers hung up in the voicemail flow and never left a message. */
  async finalizeDue(): Promise<number> {
    const now = this.now();
    const due = await this.o.store.dueForFinalize(now);
    for (const sid of due) await this.apply(sid, { kind: 'finalize', at: now, local: true, receivedAt: now });
    return due.length;
  }

  /** Waits for effects still running in the background (shutdown). */
  async drain(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /** What a <Record> action request says about the message, or null when it says nothing. */
  private recordActionEvent(p: TexmlParams): CallEvent | null {
    if (hasMessage(p)) return this.recordingEvent(p, 'completed');
    // Only an explicit `RecordingDuration=0` is proof of no message: an action without recording
    // parameters says nothing (the recording callback may still bring the URL).
    return emptyRecording(p) ? this.recordingEvent(p, 'absent') : null;
  }

  private recordingEvent(p: TexmlParams, status: 'completed' | 'absent'): CallEvent {
    const url = p.RecordingUrl?.trim();
    return {
      kind: 'recording',
      status,
      url: url && /^https?:\/\//i.test(url) ? url.slice(0, 2048) : undefined,
      duration: parseCount(p.RecordingDuration),
      ...this.when(p),
    };
  }

  /**
   * When a request happened: Telnyx's `Timestamp` when it carries one; otherwise our receive time,
   * marked `local` so the state machine never subtracts it from a Telnyx time.
   */
  private when(p: TexmlParams): { at: number; local?: true; receivedAt: number } {
    const receivedAt = this.now();
    const telnyx = parseTelnyxTime(p.Timestamp);
    return telnyx === undefined ? { at: receivedAt, local: true, receivedAt } : { at: telnyx, receivedAt };
  }

  /**
   * The agents of the round that just ended: ring-outs counted, the others freed, before the next
   * round is chosen (the legs' own callbacks may come later; nothing is counted twice).
   */
  private async roundEnded(state: CallState | null, sid: string, dialStatus: string): Promise<void> {
    const center = this.o.center;
    if (!center || !state?.rung.length) return;
    const answeredBy = state.answeredLeg ? state.legs[state.answeredLeg]?.agentId : undefined;
    try {
      await withTimeout(center.roundEnded(sid, state.rung, dialStatus, answeredBy), this.budget);
    } catch (err) {
      this.o.log.warn({ err, callSid: sid }, 'agent states of the ended round not updated in time');
    }
  }

  /**
   * Chooses the agents of a ring round among `queue`'s; `dial` null when nobody can be rung (with
   * `preferred` when the caller should wait in the queue for their preferred agent,
   * docs/interface.md §5.1).
   */
  private async nextRound(
    callSid: string,
    caller: string,
    attempt: number,
    alreadyRung: readonly string[],
    queue: string,
    waitForPreferred: boolean,
    logWithOffers?: CallCenterEvent[],
  ): Promise<{ agents: Agent[]; dial: DialRound | null; sticky?: boolean; preferred?: string }> {
    let pick: RoundPick;
    try {
      pick = await withTimeout(
        this.o.picker.pick({
          callSid,
          caller,
          round: attempt,
          alreadyRung,
          queue,
          waitForPreferred,
          ...(logWithOffers?.length ? { logWithOffers } : {}),
        }),
        this.budget,
      );
    } catch (err) {
      // Last resort: everyone online of the queue in the last known roster.
      this.o.log.warn({ err, callSid, queue }, 'routing failed; ringing every online agent of the queue');
      pick = { agents: this.directory.agentsOf(queue).filter((a) => a.online && !a.unreachable) };
    }
    const { agents, sticky } = pick;
    if (!agents.length)
      return { agents, dial: null, ...(pick.preferred ? { preferred: pick.preferred } : {}) };
    return {
      agents,
      sticky: sticky === true,
      dial: {
        attempt,
        // The preferred agent rings alone for STICKY_RING_SECONDS, then the strategy takes over.
        timeoutSeconds: sticky ? this.stickyRingSeconds : this.o.dialTimeoutSeconds,
        targets: agents.map((a) => ({ name: a.name, sip: a.sip })),
      },
    };
  }

  private get stickyRingSeconds(): number {
    return this.o.stickyRingSeconds ?? 15;
  }

  /**
   * Stores what a TeXML reply is about to tell Telnyx, but never lets the caller wait on it for
   * longer than the budget; a failure is logged and the reply goes out regardless. The reply waits
   * for the commit only: the effects it owes (alerts, agent steps, records) stay pending in the
   * call's state until done, so they cannot be lost, and run here without the caller waiting on
   * their round trips (two of the inbound's, bench/RESULTS.md issue 18 wave 4).
   */
  private async recordForReply(sid: string, events: CallEvent[]): Promise<void> {
    const stored = this.o.store.update(sid, events);
    const effects = (r: UpdateResult) =>
      r.pending.length && r.state
        ? this.runEffects(r.state, r.pending).catch((err: unknown) =>
            this.o.log.warn({ err, callSid: sid }, 'call effects postponed'),
          )
        : undefined;
    // A failed commit is reported below.
    this.background(stored.then(effects, () => undefined));
    this.track(stored);
    try {
      await withTimeout(stored, this.budget);
    } catch (err) {
      this.o.log.error({ err, callSid: sid }, 'call state not stored in time; answering from the roster');
    }
  }

  private async applyOrFail(sid: string, event: CallEvent): Promise<void> {
    try {
      await this.apply(sid, event);
    } catch (err) {
      throw new CallbackNotStoredError(err);
    }
  }

  /** Applies one event, then runs the effects the call still owes (this update's and any left over). */
  private async apply(sid: string, event: CallEvent | readonly CallEvent[]): Promise<UpdateResult> {
    const result = await this.o.store.update(sid, event);
    if (result.pending.length && result.state) await this.runEffects(result.state, result.pending);
    return result;
  }

  /** Every effect is idempotent, so a replica re-running one another replica started is harmless. */
  private async runEffects(call: CallState, pending: Effect[]): Promise<void> {
    const done: string[] = [];
    // A failed bookkeeping effect (agent state, queue, history) stays pending for the next
    // re-drive but does not hold back the call's other effects; a failed alert stops the run, so
    // the call's Slack messages keep their order.
    let failure: unknown;
    try {
      for (const fx of pending) {
        try {
          await this.runEffect(call, fx);
          done.push(fx.id);
        } catch (err) {
          if (fx.kind === 'alert') throw err;
          failure ??= err;
          this.o.log.warn({ err, callSid: call.sid, effect: fx.id }, 'call effect postponed');
        }
      }
    } finally {
      if (done.length) await this.o.store.ack(call.sid, done);
    }
    if (failure) throw failure;
  }

  private async runEffect(call: CallState, fx: Effect): Promise<void> {
    switch (fx.kind) {
      case 'alert':
        await this.o.notifier.enqueue(`call:${call.sid}:${fx.alert.type}`, fx.alert);
        break;
      case 'answered-by':
        await this.o.picker.answered(call.sid, fx.caller, fx.agentId);
        await this.o.queue?.connected(call.sid, fx.agentId, waitSeconds(call), call.queue);
        break;
      case 'agent-busy':
        await this.o.picker.busy(fx.agentId, fx.leg, fx.at);
        await this.o.center?.answered(fx.agentId, call.sid);
        break;
      case 'agent-idle':
        await this.o.picker.idle(fx.agentId, fx.leg, fx.at);
        await this.o.center?.legEnded(fx.agentId, call.sid, {
          answered: fx.answered ?? false,
          status: fx.status,
          ...(call.queue !== undefined ? { queue: call.queue } : {}),
        });
        break;
      case 'caller-ended':
        await this.o.center?.callEnded(call.sid, call.rung, call.queue);
        await this.o.queue?.callerEnded(call.sid, call.from);
        break;
      case 'finished': {
        const agentId = call.answeredLeg ? call.legs[call.answeredLeg]?.agentId : undefined;
        if (agentId && call.direction === 'inbound' && call.answeredAt !== undefined) {
          const talk =
            call.dialDuration ??
            Math.max(0, Math.round(((call.endedAt ?? call.answeredAt) - call.answeredAt) / 1000));
          await this.o.queue?.completed(call.sid, agentId, talk, call.queue ?? this.directory.defaultQueue());
        }
        await this.o.onFinished?.(call);
        break;
      }
    }
  }

  /** Work the reply does not wait for (it logs its own failures). */
  private background(p: Promise<unknown>): void {
    this.track(p);
  }

  private track(p: Promise<unknown>): void {
    const t = p.catch(() => undefined);
    this.inflight.add(t);
    void t.finally(() => this.inflight.delete(t));
  }
}
