/**
 * Callers waiting for an agent (docs/interface.md §7), as the call flow drives it:
 * - `join`: nobody eligible is free → the caller is put in line (`enter-queue`), or sent to
 *   voicemail when the line is full or no agent of the queue is signed in;
 * - `wait`: the `<Enqueue waitUrl>` document — `<Leave/>` once the caller was offered to a free
 *   agent (or the wait is over), else the position and estimated wait, then hold music;
 * - `dispatch`: an agent became free → `offerNextCaller` claims the longest-waiting caller of the
 *   agent's queues and commits the offer; Telnyx's call-update API moves the caller to the
 *   `<Enqueue action>` URL (src/queues/offer-delivery.ts), or else the caller's next waitUrl fetch
 *   leaves the queue; either way that request gets the `<Dial>` to that agent (`afterQueue`);
 * - `ringEnded`: the agent let it ring out → back in line at the same place, or voicemail after
 *   `DIAL_ATTEMPTS` ring-outs (docs/interface.md §5);
 * - `connected` / `completed` / `callerEnded`: the `connect`, `complete` and `abandon` events;
 * - callbacks (docs/interface.md §7 "Callback instead of waiting"): the wait document offers
 *   "press 1" after `callbackAfterSeconds`; `requestCallback` turns the entry into a callback at
 *   the same place; `dispatch` hands a callback entry offered to a free agent to the
 *   `CallbackPlacer` (src/calls/callback-dialer.ts), which rings the agent, then the caller, and
 *   reports back through `callbackConnected` / `callbackAttemptFailed`.
 *
 * Nothing here waits on Slack: alerts go to the outbox. Store failures reach the call flow, which
 * answers without the queue (ring the roster, or voicemail).
 */

import type { Logger } from 'pino';
import type { Agent, Roster } from '../agents/agent.js';
import type { Alert, Notifier } from '../alerts/alert.js';
import type { CallCenterEvent } from '../events/call-center-event.js';
import { isWithheld } from '../routing/route-call.js';
import { offerNextCaller } from './agent-dispatch.js';
import type { CallCenter } from './call-center.js';
import type { OfferDelivery } from './offer-delivery.js';
import { QueueDirectory } from './queue-directory.js';
import { isStickyOffer, type QueueEntry, waitSeconds } from './queue-entry.js';
import type { QueueSettings, QueueSettingsSource } from './queue-settings.js';
import type { CallbackFailure, QueueStore, RemovedEntry } from './queue-store.js';

/** Length of audio/hold-music.mp3: the waitUrl document is requested again about this often. */
export const HOLD_MUSIC_SECONDS = 10;
/** Handle time assumed per call until the log has answers to go by (estimated wait). */
export const FALLBACK_HANDLE_SECONDS = 180;

/** Whether a queue is open now (docs/interface.md §9): `OpeningHoursService.check` fits. */
export interface HoursCheck {
  check(queue: string, at?: number): Promise<{ open: boolean; reason: string }>;
}

export interface QueueFlowOptions {
  center: CallCenter;
  queues: QueueStore;
  settings: QueueSettingsSource;
  /**
   * The queues of the call-center file, resolved against the roster (docs/interface.md §7, §9).
   * Default: one `support` queue of every agent.
   */
  directory?: QueueDirectory;
  /** Opening hours: a caller whose queue closes while waiting leaves for voicemail (`exit-closed`). */
  hours?: HoursCheck;
  notifier: Notifier;
  roster: Roster;
  log: Logger;
  /** DIAL_TIMEOUT_SECONDS: ring time of one offer. */
  dialTimeoutSeconds: number;
  /** DIAL_ATTEMPTS: ring-outs of one caller before voicemail (docs/interface.md §5). */
  dialAttempts: number;
  /** SERVICE_LEVEL_SECONDS: a caller waiting longer, with agents signed in, is reported once. */
  serviceLevelSeconds: number;
  /** STICKY_RING_SECONDS: how long a caller is held for their preferred agent (§5.1; default 15). */
  stickyRingSeconds?: number;
  /**
   * Offer "press 1 to be called back" in the wait document (default true). It is offered only
   * while a `CallbackPlacer` is attached (`callbacks`) and says it can call the number back.
   */
  offerCallbacks?: boolean;
  /** Redirects an offered caller through Telnyx's call-update API; without it, `<Leave/>` only. */
  delivery?: OfferDelivery;
  now?: () => number;
}

export type JoinResult =
  | { kind: 'queued'; queue: string; position: number }
  | { kind: 'voicemail'; reason: 'full' | 'no-agents' };

export interface WaitDocument {
  leave: boolean;
  announce?: { position: number; wait: string };
  callback: boolean;
  /** The queue's hold music (a prompt name or an https URL); default `hold-music`. */
  holdMusic?: string;
  /** The caller's queue (for its prompts), when the caller is still waiting. */
  queue?: string;
}

/**
 * Places queue callbacks (src/calls/callback-dialer.ts). Attached by app.ts once click-to-call
 * exists; without one, "press 1" is never offered.
 */
export interface CallbackPlacer {
  /** True when a callback to `number` could be placed (click-to-call set up, number allowed). */
  canCallBack(number: string): boolean;
  /**
   * Callback `entry` was offered to `agentId` (both committed): ring the agent, then the caller.
   * Reports the outcome through `QueueFlow.callbackConnected` / `callbackAttemptFailed`.
   */
  place(entry: QueueEntry, agentId: string): Promise<void>;
}

/** What pressing a key in the wait document leads to. */
export type CallbackAnswer =
  /** The entry is now a callback: confirm and hang up. */
  | { kind: 'requested' }
  /** Being offered to an agent right now, or no longer in line: leave the queue. */
  | { kind: 'leave' }
  /** Not 1, or a callback cannot be placed to this caller: back to the hold music. */
  | { kind: 'hold' };

/** What the `<Enqueue action>` request leads to. */
export type AfterQueue =
  /** `sticky`: the caller's preferred agent, within the hold: rings for STICKY_RING_SECONDS (§5.1). */
  | { kind: 'dial'; agent: Agent; sticky?: boolean }
  | { kind: 'enqueue'; queue: string }
  | { kind: 'voicemail'; reason: string }
  | { kind: 'hangup' };

/** "about two minutes" in words a text-to-speech voice reads well. */
export function spokenWait(seconds: number): string {
  const minutes = Math.max(1, Math.round(seconds / 60));
  return minutes === 1 ? 'one minute' : `${minutes} minutes`;
}

export class QueueFlow {
  readonly now: () => number;
  /** The queues, their agents and settings (the call-center file against the roster). */
  readonly directory: QueueDirectory;
  /** queue → [when computed, seconds one agent needs per call] (from the event log, cached). */
  private readonly handleCache = new Map<string, { at: number; seconds: number }>();

  /** Places callbacks; set by app.ts (it needs click-to-call, built after this flow). */
  callbacks?: CallbackPlacer;

  constructor(private readonly o: QueueFlowOptions) {
    this.now = o.now ?? Date.now;
    this.directory = o.directory ?? new QueueDirectory({ roster: o.roster });
  }

  /** The limits and timings of `queue` (docs/interface.md §7). */
  settingsOf(queue: string): QueueSettings {
    return this.o.settings(queue);
  }

  get store(): QueueStore {
    return this.o.queues;
  }

  /** The agents of `queue` (docs/interface.md §7); without a call-center file, every agent is in `support`. */
  agentsOf(queue: string): Agent[] {
    return [...this.directory.agentsOf(queue)];
  }

  /** The queues agent `agentId` serves (one agent, one state across them: docs/interface.md §5). */
  queuesOf(agentId: string): string[] {
    return this.directory.queuesOf(agentId);
  }

  /**
   * Puts the caller in line of `queue`, or says why not (voicemail). Logs `enter-queue` /
   * `voicemail`. With `preferred` (an agent id), the caller is held for that agent for
   * STICKY_RING_SECONDS from now: nobody else is offered them meanwhile (docs/interface.md §5.1).
   */
  async join(
    callSid: string,
    caller: string,
    accountSid: string | undefined,
    queue: string,
    options: { preferred?: string } = {},
  ): Promise<JoinResult> {
    const now = this.now();
    const agents = this.agentsOf(queue);
    const signedIn = await this.o.center.signedIn(agents);
    if (!signedIn.length) {
      await this.log({ type: 'voicemail', at: now, queue, callSid, reason: 'no-agent-signed-in' });
      // An empty roster is not a staffing gap but a setup one (the roster alerts cover it).
      if (agents.length) await this.alertNoAgent(queue, agents, now);
      return { kind: 'voicemail', reason: 'no-agents' };
    }
    const s = this.o.settings(queue);
    const hold = options.preferred
      ? { preferredAgent: options.preferred, preferredUntil: now + (this.o.stickyRingSeconds ?? 15) * 1000 }
      : {};
    const r = await this.o.queues.enqueue(
      { callSid, queue, caller, ...(accountSid ? { accountSid } : {}), ...hold },
      { now, maxWaiting: s.maxWaiting },
    );
    if (!r.ok) {
      await this.log({ type: 'voicemail', at: now, queue, callSid, reason: 'full' });
      return { kind: 'voicemail', reason: 'full' };
    }
    if (!r.rejoined) await this.log({ type: 'enter-queue', at: now, queue, callSid, position: r.position });
    return { kind: 'queued', queue, position: r.position };
  }

  /** The waitUrl document of a waiting caller (docs/interface.md §7 "While waiting"). */
  async wait(callSid: string): Promise<WaitDocument> {
    const entry = await this.o.queues.get(callSid);
    const now = this.now();
    // Offered, and the call-update API is moving the caller right now: hold music, which the
    // redirect interrupts (a <Leave/> as well would dial the agent twice; src/queues/offer-delivery.ts).
    if (entry && this.o.delivery?.redirecting(entry, now)) return { leave: false, callback: false };
    // No longer in line: leave; the Enqueue action says what next.
    if (!entry) return { leave: true, callback: false };
    if (entry.offeredTo !== undefined) {
      // Offered to a free agent: leave, once the agent's side of the offer is committed too.
      if (await this.offerCommitted(entry)) return { leave: true, callback: false };
      // Claimed but not (yet) committed: `offerNextCaller` claims the caller first, then the agent,
      // whose commit can still fail (a break set, a direct offer from an inbound call a moment
      // earlier) and release this caller. Leaving now could ring an agent offered another call;
      // hold music, and a claim left behind for longer than a hold-music loop is given back.
      if ((entry.offeredAt ?? now) > now - HOLD_MUSIC_SECONDS * 1000)
        return { leave: false, callback: false };
      await this.o.queues.release(callSid, entry.offeredTo);
      return { leave: false, callback: false };
    }
    const s = this.o.settings(entry.queue);
    const waited = waitSeconds(entry, now);
    if (waited >= s.maxWaitSeconds) {
      const removed = await this.o.queues.remove(callSid, 'timeout', now);
      if (removed) await this.logRemoved(removed, now);
      return { leave: true, callback: false };
    }
    // The queue closed while the caller waited (docs/interface.md §9): voicemail.
    const hours = await this.o.hours?.check(entry.queue, now);
    if (hours && !hours.open) {
      const removed = await this.o.queues.remove(callSid, 'closed', now);
      if (removed) await this.logRemoved(removed, now, hours.reason);
      return { leave: true, callback: false };
    }
    const signedIn = await this.o.center.signedIn(this.agentsOf(entry.queue));
    if (!signedIn.length) {
      const removed = await this.o.queues.remove(callSid, 'closed', now);
      if (removed) await this.logRemoved(removed, now, 'no-agent-signed-in');
      return { leave: true, callback: false };
    }
    if (waited > this.o.serviceLevelSeconds) {
      await this.alert(`call:${callSid}:service-level-breached`, {
        type: 'service-level-breached',
        callSid,
        queue: entry.queue,
        waitSeconds: waited,
        at: new Date(now).toISOString(),
      });
    }
    // Announce on the first fetch and then once per announceSeconds: the document is fetched
    // again every HOLD_MUSIC_SECONDS, so a window that long catches each multiple once.
    const due = waited < HOLD_MUSIC_SECONDS || waited % Math.max(1, s.announceSeconds) < HOLD_MUSIC_SECONDS;
    let announce: WaitDocument['announce'];
    if (due) {
      const position = (await this.o.queues.position(callSid)) ?? 1;
      const estimate = await this.estimateSeconds(entry.queue, position, signedIn.length);
      announce = { position, wait: spokenWait(estimate) };
    }
    const callback = waited >= s.callbackAfterSeconds && this.mayCallBack(entry);
    return {
      leave: false,
      ...(announce ? { announce } : {}),
      callback,
      ...(s.holdMusic ? { holdMusic: s.holdMusic } : {}),
      queue: entry.queue,
    };
  }

  /**
   * "Press 1 to be called back" only when a callback can really be placed: a placer is attached,
   * the number is not withheld and the outbound policy would dial it. A caller who hung up for a
   * callback that is never placed would lose their call.
   */
  private mayCallBack(entry: QueueEntry): boolean {
    return (
      this.o.offerCallbacks !== false &&
      this.o.settings(entry.queue).callbacks !== false &&
      entry.callback === undefined &&
      !isWithheld(entry.caller) &&
      this.callbacks?.canCallBack(entry.caller) === true
    );
  }

  /**
   * `POST /texml/queue/callback`: the caller pressed `digits` in the wait document. 1 turns the
   * entry into a callback at the same place in line (`callback-requested`); the caller then hears
   * a confirmation and is hung up. `base` is kept for the callback's TeXML URLs (PUBLIC_URL wins).
   */
  async requestCallback(callSid: string, digits: string | undefined, base?: string): Promise<CallbackAnswer> {
    const entry = await this.o.queues.get(callSid);
    if (!entry || entry.offeredTo !== undefined) return { kind: 'leave' };
    if ((digits ?? '').trim() !== '1') return { kind: 'hold' };
    if (entry.callback) return { kind: 'requested' }; // a repeated request
    if (!this.mayCallBack(entry)) return { kind: 'hold' };
    const now = this.now();
    const updated = await this.o.queues.requestCallback(callSid, entry.caller, now, base ? { base } : {});
    if (!updated) return { kind: 'leave' };
    // Offered to an agent between the read and the write: the caller is about to be connected.
    if (!updated.callback) return { kind: 'leave' };
    if (updated.callback.requestedAt === now) {
      await this.log({
        type: 'callback-requested',
        at: now,
        queue: updated.queue,
        callSid,
        wait: waitSeconds(updated, now),
        position: (await this.o.queues.position(callSid)) ?? 1,
      });
    }
    return { kind: 'requested' };
  }

  /**
   * The callback reached the caller (the customer leg answered): out of the line, with
   * `callback-connected`. Only the first report (of any replica) logs it; false for the others.
   */
  async callbackConnected(callSid: string, agentId: string, attempt: number): Promise<boolean> {
    const now = this.now();
    const removed = await this.o.queues.remove(callSid, 'callback-connected', now);
    if (!removed) return false;
    await this.log({
      type: 'callback-connected',
      at: now,
      queue: removed.entry.queue,
      callSid,
      agent: agentId,
      attempt,
      wait: removed.waitSeconds,
    });
    return true;
  }

  /**
   * A callback attempt failed (the agent or the caller did not answer, the outbound policy
   * refused, Telnyx failed): the entry keeps its place and is due again `callbackRetrySeconds`
   * later, or, after `callbackAttempts`, leaves the line with `callback-failed` and the Slack
   * alert. `guard` names the attempt, so a late or repeated report counts nothing.
   */
  async callbackAttemptFailed(
    callSid: string,
    queue: string,
    guard: Pick<CallbackFailure, 'agentId' | 'attempt' | 'attemptSid'>,
  ): Promise<'retry' | 'failed' | undefined> {
    const now = this.now();
    const s = this.o.settings(queue);
    const r = await this.o.queues.callbackAttemptFailed(callSid, {
      now,
      retrySeconds: s.callbackRetrySeconds,
      maxAttempts: s.callbackAttempts,
      ...guard,
    });
    if (!r) return undefined;
    if (!r.exhausted) return 'retry';
    if (!r.removed) return 'failed'; // counted here, but the entry had already left the line
    const attempts = r.entry.callback?.attempts ?? s.callbackAttempts;
    await this.log({
      type: 'callback-failed',
      at: now,
      queue: r.removed.entry.queue,
      callSid,
      attempts,
      wait: r.removed.waitSeconds,
    });
    await this.alert(`call:${callSid}:callback-failed`, {
      type: 'callback-failed',
      callSid,
      from: r.removed.entry.callback?.number ?? r.removed.entry.caller,
      queue: r.removed.entry.queue,
      attempts,
      at: new Date(now).toISOString(),
    });
    return 'failed';
  }

  /** The `<Enqueue action>` request: the caller left the queue; dial the agent, re-queue, or voicemail. */
  /** The agent's record shows this caller's offer (or the call it became): the offer is real. */
  private async offerCommitted(entry: QueueEntry): Promise<boolean> {
    if (entry.offeredTo === undefined) return false;
    const r = await this.o.center.agentStates.get(entry.offeredTo);
    return r?.callSid === entry.callSid && (r.state === 'offered' || r.state === 'on-call');
  }

  async afterQueue(callSid: string, queueResult: string | undefined): Promise<AfterQueue> {
    const entry = await this.o.queues.get(callSid);
    const result = (queueResult ?? '').trim().toLowerCase();
    // The caller asked for a callback and was hung up: nothing more to play.
    if (entry?.callback) return { kind: 'hangup' };
    // The caller hung up while waiting (also just as an agent was offered): nothing to dial; the
    // abandon is logged, and the offered agent freed, from the caller's `completed`.
    if (result === 'hangup') return { kind: 'hangup' };
    if (entry?.offeredTo !== undefined) {
      // A claim whose agent side lost to another offer: back in line, never a ring of a busy agent.
      if (!(await this.offerCommitted(entry))) return { kind: 'enqueue', queue: entry.queue };
      const agent = this.o.roster.current().agents.find((a) => a.id === entry.offeredTo);
      if (agent) return { kind: 'dial', agent, ...(isStickyOffer(entry) ? { sticky: true } : {}) };
      await this.o.queues.release(callSid, entry.offeredTo);
      return { kind: 'enqueue', queue: entry.queue };
    }
    if (entry) return { kind: 'enqueue', queue: entry.queue };
    return { kind: 'voicemail', reason: 'queue-exit' };
  }

  /**
   * The offered agent's ring ended unanswered: back in line at the same place, or voicemail once
   * this caller's offers rang out DIAL_ATTEMPTS times. Undefined when the call was not offered
   * from the queue (a direct ring round).
   */
  async ringEnded(callSid: string, rangOut: boolean): Promise<AfterQueue | undefined> {
    const offered = await this.o.queues.get(callSid);
    // A callback's offers ring through its own calls (src/calls/callback-dialer.ts), never this one.
    if (offered?.offeredTo === undefined || offered.callback) return undefined;
    // The preferred agent's short sticky ring is not one of the caller's DIAL_ATTEMPTS (§5.1);
    // releasing it ends the hold, so anyone may be offered the caller next.
    const entry = await this.o.queues.release(callSid, offered.offeredTo, {
      rangOut: rangOut && !isStickyOffer(offered),
    });
    if (!entry) return undefined;
    if ((entry.ringOuts ?? 0) >= this.o.dialAttempts) {
      const now = this.now();
      const removed = await this.o.queues.remove(callSid, 'voicemail', now);
      if (removed)
        await this.log({ type: 'voicemail', at: now, queue: entry.queue, callSid, reason: 'no-answer' });
      return { kind: 'voicemail', reason: 'no-answer' };
    }
    return { kind: 'enqueue', queue: entry.queue };
  }

  /**
   * An agent answered: `connect` with the wait since the caller first joined (or since the call
   * began). `queue`: the call's queue, for a call answered without waiting in line.
   */
  async connected(callSid: string, agentId: string, callWaitSeconds: number, queue?: string): Promise<void> {
    const now = this.now();
    const removed = await this.o.queues.remove(callSid, 'connect', now);
    await this.log({
      type: 'connect',
      at: now,
      queue: removed?.entry.queue ?? queue ?? this.directory.defaultQueue(),
      callSid,
      agent: agentId,
      wait: removed ? Math.max(removed.waitSeconds, callWaitSeconds) : callWaitSeconds,
    });
  }

  /** The answered call ended: `complete` with the talk time, in the call's queue. */
  async completed(
    callSid: string,
    agentId: string,
    talkSeconds: number,
    queue = this.directory.defaultQueue(),
  ): Promise<void> {
    await this.log({ type: 'complete', at: this.now(), queue, callSid, agent: agentId, talk: talkSeconds });
  }

  /**
   * The caller hung up: if still in line, `abandon` with wait and position, and Slack. An agent
   * the caller was being offered to (not rung yet) is freed at once.
   *
   * Slack gets one message per abandoned call: this alert goes under the outbox key of the call's
   * closing `missed` alert (`call:<sid>:missed`, src/calls/call-flow.ts `runEffect`), which the
   * outbox accepts once. The call state owes `caller-ended` before its closing alert
   * (src/calls/call-state.ts: the status event, then `settleOutcome`), so the queue's message,
   * with the queue, wait and position, takes the key and the generic "Abandoned call" is dropped
   * as a duplicate; should this step fail and run later, the generic one was sent instead.
   */
  async callerEnded(callSid: string, from: string): Promise<void> {
    const entry = await this.o.queues.get(callSid);
    // A callback entry stays in line after its caller hung up: that was the point of it.
    if (!entry || entry.callback) return;
    const now = this.now();
    const removed = await this.o.queues.remove(callSid, 'abandon', now);
    if (!removed) return;
    if (removed.entry.offeredTo !== undefined) {
      await this.o.center.callEnded(callSid, [removed.entry.offeredTo]);
    }
    await this.logRemoved(removed, now);
    await this.alert(`call:${callSid}:missed`, {
      type: 'queue-abandoned',
      callSid,
      from,
      queue: removed.entry.queue,
      waitSeconds: removed.waitSeconds,
      position: removed.position,
      at: new Date(now).toISOString(),
    });
  }

  /**
   * An agent became free: offer them the longest-waiting caller of their queues (both sides
   * committed, or neither). The caller is then redirected through the call-update API (`delivery`,
   * not awaited: it never throws, and a tick must not wait on Telnyx), else leaves the queue on its
   * next waitUrl fetch.
   */
  async dispatch(agentId: string): Promise<QueueEntry | undefined> {
    const now = this.now();
    const offered = await offerNextCaller(this.o.center.agentStates, this.o.queues, {
      agentId,
      queues: this.queuesOf(agentId),
      registered: this.o.center.registered(agentId),
      now,
      rules: this.o.center.rulesFor(agentId),
    });
    if (!offered) return undefined;
    if (offered.entry.callback) {
      // Nobody is on the line: the agent is rung first, then the caller (docs/interface.md §7).
      await this.placeCallback(offered.entry, agentId);
      return offered.entry;
    }
    await this.log({
      type: 'offer',
      at: now,
      queue: offered.entry.queue,
      callSid: offered.entry.callSid,
      agent: agentId,
    });
    void this.o.delivery?.deliver(offered.entry);
    return offered.entry;
  }

  /**
   * A callback entry offered to `agentId`: the placer dials it; its failures are its own to
   * report. Without a placer (none attached on this replica) the attempt fails at once, so the
   * entry waits its retry time rather than being claimed again and again.
   */
  private async placeCallback(entry: QueueEntry, agentId: string): Promise<void> {
    if (this.callbacks) {
      await this.callbacks.place(entry, agentId);
      return;
    }
    this.o.log.warn(
      { callSid: entry.callSid },
      'no callback placer on this replica; attempt counted as failed',
    );
    const attempt = (entry.callback?.attempts ?? 0) + 1;
    await this.callbackAttemptFailed(entry.callSid, entry.queue, { agentId, attempt });
    await this.o.center.legEnded(agentId, entry.callSid, { answered: false });
  }

  /** The periodic tick: every free agent is offered a waiting caller (one claim per free agent). */
  async tick(): Promise<number> {
    const agents = this.o.roster.current().agents;
    if (!agents.length) return 0;
    const waiting = await this.o.queues.summaries(this.directory.names(), this.now());
    if (!waiting.some((q) => q.waiting > q.offered)) return 0;
    let offered = 0;
    for (const agentId of await this.o.center.offerable(agents)) {
      if (await this.dispatch(agentId)) offered++;
    }
    return offered;
  }

  /**
   * Estimated wait of the caller at `position`: one agent's recent time per call (talk plus
   * wrap-up, the mean of the last hour's `complete` events, else FALLBACK_HANDLE_SECONDS) times the
   * callers up to this one, shared by the agents signed in.
   */
  async estimateSeconds(queue: string, position: number, agentsSignedIn: number): Promise<number> {
    const now = this.now();
    let cached = this.handleCache.get(queue);
    if (!cached || cached.at < now - 30_000) {
      let seconds = FALLBACK_HANDLE_SECONDS;
      try {
        const events = await this.o.center.events.read({ since: now - 3_600_000, limit: 5_000 });
        const talks = events
          .filter((e) => e.type === 'complete' && e.queue === queue)
          .map((e) => (e as { talk: number }).talk);
        if (talks.length) seconds = talks.reduce((a, b) => a + b, 0) / talks.length;
      } catch (err) {
        this.o.log.warn({ err, queue }, 'event log unavailable for the wait estimate; using the fallback');
      }
      cached = { at: now, seconds };
      this.handleCache.set(queue, cached);
    }
    return (position * cached.seconds) / Math.max(1, agentsSignedIn);
  }

  private async logRemoved(removed: RemovedEntry, now: number, reason?: string): Promise<void> {
    const { entry, waitSeconds: wait, position } = removed;
    const base = { at: now, queue: entry.queue, callSid: entry.callSid, wait, position };
    switch (removed.reason) {
      case 'abandon':
        return this.log({ type: 'abandon', ...base });
      case 'timeout':
        return this.log({ type: 'exit-timeout', ...base });
      case 'closed':
        return this.log({ type: 'exit-closed', ...base, ...(reason ? { reason } : {}) });
      default:
        return undefined;
    }
  }

  /** No agent of `queue` is signed in while callers arrive: one alert per streak (every replica agrees on its key). */
  private async alertNoAgent(queue: string, agents: readonly Agent[], now: number): Promise<void> {
    let streak = 0;
    try {
      const records = await this.o.center.records(agents.map((a) => a.id));
      for (const r of records.values()) streak = Math.max(streak, r.statusAt);
    } catch {}
    await this.alert(`queue:${queue}:no-agent:${streak}`, {
      type: 'no-agent-signed-in',
      queue,
      at: new Date(now).toISOString(),
    });
  }

  private log(event: CallCenterEvent): Promise<void> {
    return this.o.center.log([event]);
  }

  private async alert(key: string, alert: Alert): Promise<void> {
    await this.o.notifier
      .enqueue(key, alert)
      .catch((err) => this.o.log.warn({ err, type: alert.type }, 'queue alert not queued'));
  }
}
