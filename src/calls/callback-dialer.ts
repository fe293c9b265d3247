/**
 * Queue callbacks (docs/interface.md §7 "Callback instead of waiting"): a caller who pressed 1
 * keeps their place in line as a callback entry; when it is their turn and an agent is free, the
 * queue offers the entry to that agent like any caller (`QueueFlow.dispatch`, one entry per free
 * agent, so never more callbacks ringing than free agents) and hands it here:
 *
 * 1. `place`: `callback-attempt`, then the click-to-call path (src/calls/click-to-call.ts) with
 *    its outbound policy and limits (docs/interface.md §10): Telnyx rings the agent first and,
 *    when the agent answers, `/texml/outbound` dials the caller. The call's state carries which
 *    callback it is (`CallState.callback`), so every replica can tell.
 * 2. `tick` (every replica, about once a second): for each attempt in progress, the call state
 *    says when the agent answered (agent `offered` → `on-call`) and when the caller answered
 *    (`callback-connected`, out of the line).
 * 3. `finished` (the call's `finished` effect, once per call, any replica): answered → `complete`
 *    and the agent's wrap-up; not answered → the agent's ring-out (or freed) and a failed attempt,
 *    retried `callbackRetrySeconds` later at the same place, or after `callbackAttempts` removed
 *    with `callback-failed` and the Slack alert.
 *
 * Every step is guarded by the store (the attempt named by number and call sid, removal answered
 * once), so replicas seeing the same call count nothing twice.
 */

import type { Logger } from 'pino';
import type { CallCenter } from '../queues/call-center.js';
import type { QueueEntry } from '../queues/queue-entry.js';
import type { CallbackPlacer, QueueFlow } from '../queues/queue-flow.js';
import { intervalService, type Service } from '../service.js';
import { talkSeconds } from './call-outcome.js';
import type { CallStore } from './call-store.js';
import type { CallState } from './call-types.js';
import type { ClickToCall } from './click-to-call.js';
import type { OutboundPolicy } from './outbound-policy.js';

export interface CallbackDialerOptions {
  queue: QueueFlow;
  center: CallCenter;
  clickToCall: Pick<ClickToCall, 'start' | 'missingSettings'>;
  policy: Pick<OutboundPolicy, 'checkNumber'>;
  /** The call states of the attempts (written by click-to-call and the status callbacks). */
  calls: Pick<CallStore, 'get'>;
  /** The queues whose callbacks this replica watches (read per tick: the file may change). */
  queueNames: () => readonly string[];
  log: Logger;
  /** PUBLIC_URL; else the base URL the caller's key press came to. */
  publicUrl?: string;
}

/** The agent picked up the attempt's first leg (the call Telnyx created rings the agent). */
export function agentAnswered(call: CallState): boolean {
  return (
    call.answeredAt !== undefined ||
    call.phase === 'dialing-customer' ||
    call.phase === 'connected' ||
    call.status === 'in-progress' ||
    // `completed` ends a leg that was answered; unanswered ones end `no-answer`, `busy`, `canceled`, `failed`.
    call.status === 'completed' ||
    Object.keys(call.legs).length > 0
  );
}

export class CallbackDialer implements CallbackPlacer {
  constructor(private readonly o: CallbackDialerOptions) {}

  canCallBack(number: string): boolean {
    if (this.o.clickToCall.missingSettings() !== null) return false;
    try {
      this.o.policy.checkNumber(number);
      return true;
    } catch {
      return false;
    }
  }

  async place(entry: QueueEntry, agentId: string): Promise<void> {
    const cb = entry.callback;
    if (!cb) return;
    const attempt = cb.attempts + 1;
    const { callSid, queue } = entry;
    await this.o.center.log([
      { type: 'callback-attempt', at: this.o.queue.now(), queue, callSid, agent: agentId, attempt },
    ]);
    let placed: string;
    try {
      const base = this.o.publicUrl ?? cb.base;
      if (!base) throw new Error('no URL for the callback TeXML: set PUBLIC_URL');
      placed = (
        await this.o.clickToCall.start({
          agent: agentId,
          to: cb.number,
          base,
          // The queue's attempts now, so Slack can say "attempt 2 of 3" (docs/interface.md §4).
          callback: { callSid, queue, attempt, attempts: this.o.queue.settingsOf(queue).callbackAttempts },
        })
      ).callSid;
    } catch (err) {
      // Refused by the outbound policy or its limits, or Telnyx failed: the agent's phone did not
      // ring (or rings a call we could not record); the attempt counts, and the agent is free.
      this.o.log.warn({ err, callSid, agent: agentId, attempt }, 'callback attempt not placed');
      await this.o.queue.callbackAttemptFailed(callSid, queue, { agentId, attempt });
      await this.o.center.legEnded(agentId, callSid, { answered: false });
      return;
    }
    try {
      // Undefined: the attempt already ended (its `finished` came first) — nothing to watch.
      await this.o.queue.store.callbackAttemptStarted(callSid, agentId, placed);
    } catch (err) {
      this.o.log.warn({ err, callSid, attempt }, 'callback attempt placed but not recorded on the entry');
    }
  }

  /** The attempts in progress: the agent answered → on a call; the caller answered → connected. */
  async tick(): Promise<void> {
    const now = this.o.queue.now();
    for (const queue of this.o.queueNames()) {
      for (const entry of await this.o.queue.store.list(queue, now)) {
        const sid = entry.callback?.attemptSid;
        if (!sid || entry.offeredTo === undefined) continue;
        const call = await this.o.calls.get(sid);
        if (call?.direction !== 'outbound' || call.callback?.callSid !== entry.callSid) continue;
        // Ended unanswered: its `finished` effect reports it; doing it here too covers an effect
        // run that failed (the store counts the attempt once). Answered: `finished` completes it.
        if (call.outcome && call.answeredAt === undefined) await this.finished(call);
        else await this.progress(call);
      }
    }
  }

  /** A callback's call ended: the attempt is answered (`complete`, wrap-up) or failed (retry). */
  async finished(call: CallState): Promise<void> {
    const ref = call.callback;
    const agentId = call.agent?.id;
    if (call.direction !== 'outbound' || !ref || !agentId) return;
    if (call.answeredAt !== undefined) {
      await this.progress(call);
      await this.o.queue.completed(ref.callSid, agentId, talkSeconds(call), ref.queue);
      await this.o.center.legEnded(agentId, ref.callSid, { answered: true });
      return;
    }
    const counted = await this.o.queue.callbackAttemptFailed(ref.callSid, ref.queue, {
      agentId,
      attempt: ref.attempt,
      attemptSid: call.sid,
    });
    // Only the report that counted the failure moves the agent: a late one must not touch the
    // agent's next offer of the same caller (a retry has the same entry).
    if (!counted) return;
    const answered = agentAnswered(call);
    if (answered) await this.o.center.answered(agentId, ref.callSid);
    await this.o.center.legEnded(agentId, ref.callSid, { answered, status: call.status });
  }

  private async progress(call: CallState): Promise<void> {
    const ref = call.callback;
    const agentId = call.agent?.id;
    if (!ref || !agentId) return;
    if (agentAnswered(call)) await this.o.center.answered(agentId, ref.callSid);
    if (call.answeredAt !== undefined)
      await this.o.queue.callbackConnected(ref.callSid, agentId, ref.attempt);
  }
}

/**
 * Runs `dialer.tick()` every `everyMs` on this replica while the store is connected (every
 * replica runs it; the store's guards make each step happen once); stopping waits for a tick.
 */
export function callbackDialerTick(
  dialer: CallbackDialer,
  isReady: () => boolean,
  log: Logger,
  everyMs: number,
): Service {
  return intervalService({
    name: 'queue callbacks',
    work: () => dialer.tick(),
    isReady,
    onError: (err) => log.warn({ err }, 'callback check failed; retrying'),
    everyMs,
  });
}
