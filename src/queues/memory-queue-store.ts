import { plainCopy } from '../plain-copy.js';
import {
  compareEntries,
  heldFor,
  isClaimable,
  preference,
  type QueuedCaller,
  type QueueEntry,
  summarize,
  waitSeconds,
  withoutOffer,
} from './queue-entry.js';
import {
  afterFailedAttempt,
  type CallbackFailure,
  DEFAULT_CLAIM_GUARD_SECONDS,
  DEFAULT_OFFER_TIMEOUT_SECONDS,
  DEFAULT_QUEUE_MAX_AGE_SECONDS,
  type EnqueueOptions,
  type EnqueueRequest,
  type EnqueueResult,
  isCurrentAttempt,
  type QueueStore,
  type QueueStoreOptions,
  type QueueSummary,
  type RemovedEntry,
  type RemoveReason,
  withCallbackRequest,
} from './queue-store.js';

/**
 * Queues in process memory: the embedded default (one replica), lost on restart. Single-threaded
 * JavaScript makes every method atomic as long as it does not await in the middle, and none does.
 */
export class MemoryQueueStore implements QueueStore {
  readonly #entries = new Map<string, QueueEntry>();
  readonly #maxAgeMs: number;
  readonly #offerTimeoutMs: number;
  readonly #claimGuardMs: number;
  /** agentId → the claim not yet settled (see `QueueStore.claimNext`). */
  readonly #claiming = new Map<string, { callSid: string; until: number }>();
  #seq = 0;

  constructor(options: QueueStoreOptions = {}) {
    this.#maxAgeMs = Math.max(1, options.maxAgeSeconds ?? DEFAULT_QUEUE_MAX_AGE_SECONDS) * 1000;
    this.#offerTimeoutMs = Math.max(1, options.offerTimeoutSeconds ?? DEFAULT_OFFER_TIMEOUT_SECONDS) * 1000;
    this.#claimGuardMs = Math.max(0, options.claimGuardSeconds ?? DEFAULT_CLAIM_GUARD_SECONDS) * 1000;
  }

  #line(queue: string): QueueEntry[] {
    return [...this.#entries.values()].filter((e) => e.queue === queue).sort(compareEntries);
  }

  #position(entry: QueueEntry): number {
    let ahead = 0;
    for (const e of this.#entries.values())
      if (e.queue === entry.queue && compareEntries(e, entry) < 0) ahead++;
    return ahead + 1;
  }

  async enqueue(request: EnqueueRequest, options: EnqueueOptions): Promise<EnqueueResult> {
    const existing = this.#entries.get(request.callSid);
    if (existing) {
      return {
        ok: true,
        entry: plainCopy(existing),
        position: this.#position(existing),
        rejoined: true,
      };
    }
    for (const e of this.#line(request.queue)) {
      if (e.firstJoinedAt <= options.now - this.#maxAgeMs) this.#entries.delete(e.callSid);
    }
    const waiting = this.#line(request.queue).length;
    if (waiting >= options.maxWaiting) {
      return { ok: false, reason: 'full', waiting, maxWaiting: options.maxWaiting };
    }
    const entry: QueueEntry = {
      callSid: request.callSid,
      queue: request.queue,
      firstJoinedAt: request.firstJoinedAt ?? options.now,
      seq: ++this.#seq,
      caller: request.caller,
      ...(request.accountSid ? { accountSid: request.accountSid } : {}),
      ...preference(request),
    };
    this.#entries.set(entry.callSid, entry);
    return { ok: true, entry: plainCopy(entry), position: this.#position(entry), rejoined: false };
  }

  async get(callSid: string): Promise<QueueEntry | undefined> {
    const e = this.#entries.get(callSid);
    return e ? plainCopy(e) : undefined;
  }

  async position(callSid: string): Promise<number | undefined> {
    const e = this.#entries.get(callSid);
    return e ? this.#position(e) : undefined;
  }

  async claimNext(queues: readonly string[], agentId: string, now: number): Promise<QueueEntry | undefined> {
    const pending = this.#claiming.get(agentId);
    if (pending && pending.until > now) return undefined;
    const wanted = new Set(queues);
    let best: QueueEntry | undefined;
    // A caller held for this agent (sticky routing) comes before any other.
    let mine: QueueEntry | undefined;
    for (const e of this.#entries.values()) {
      if (!wanted.has(e.queue) || e.firstJoinedAt <= now - this.#maxAgeMs) continue;
      if (!isClaimable(e, now, this.#offerTimeoutMs, agentId)) continue;
      if (heldFor(e, now) === agentId) {
        if (!mine || compareEntries(e, mine) < 0) mine = e;
      } else if (!best || compareEntries(e, best) < 0) best = e;
    }
    best = mine ?? best;
    if (!best) return undefined;
    const offered: QueueEntry = { ...best, offeredTo: agentId, offeredAt: now };
    this.#entries.set(offered.callSid, offered);
    this.#claiming.set(agentId, { callSid: offered.callSid, until: now + this.#claimGuardMs });
    return plainCopy(offered);
  }

  async settleClaim(agentId: string, callSid: string): Promise<void> {
    if (this.#claiming.get(agentId)?.callSid === callSid) this.#claiming.delete(agentId);
  }

  async release(
    callSid: string,
    agentId?: string,
    options: { rangOut?: boolean } = {},
  ): Promise<QueueEntry | undefined> {
    const e = this.#entries.get(callSid);
    if (!e || e.offeredTo === undefined) return undefined;
    if (agentId !== undefined && e.offeredTo !== agentId) return undefined;
    const released = options.rangOut
      ? { ...withoutOffer(e), ringOuts: (e.ringOuts ?? 0) + 1 }
      : withoutOffer(e);
    this.#entries.set(callSid, released);
    return plainCopy(released);
  }

  async requestCallback(
    callSid: string,
    number: string,
    now: number,
    options: { base?: string } = {},
  ): Promise<QueueEntry | undefined> {
    const e = this.#entries.get(callSid);
    if (!e) return undefined;
    const asked = withCallbackRequest(e, number, now, options.base);
    if (asked) this.#entries.set(callSid, asked);
    return plainCopy(asked ?? e);
  }

  async callbackAttemptStarted(
    callSid: string,
    agentId: string,
    attemptSid: string,
  ): Promise<QueueEntry | undefined> {
    const e = this.#entries.get(callSid);
    if (!e?.callback || e.offeredTo !== agentId) return undefined;
    const entry: QueueEntry = { ...e, callback: { ...e.callback, attemptSid } };
    this.#entries.set(callSid, entry);
    return plainCopy(entry);
  }

  async callbackAttemptFailed(
    callSid: string,
    options: CallbackFailure,
  ): Promise<{ entry: QueueEntry; exhausted: boolean; removed?: RemovedEntry } | undefined> {
    const e = this.#entries.get(callSid);
    if (!e || !isCurrentAttempt(e, options)) return undefined;
    const entry = afterFailedAttempt(e, options);
    this.#entries.set(callSid, entry);
    if ((entry.callback?.attempts ?? 0) < options.maxAttempts)
      return { entry: plainCopy(entry), exhausted: false };
    const removed = await this.remove(callSid, 'callback-failed', options.now);
    return { entry: plainCopy(entry), exhausted: true, ...(removed ? { removed } : {}) };
  }

  async remove(callSid: string, reason: RemoveReason, now: number): Promise<RemovedEntry | undefined> {
    const e = this.#entries.get(callSid);
    if (!e) return undefined;
    const position = this.#position(e);
    this.#entries.delete(callSid);
    return { entry: plainCopy(e), reason, waitSeconds: waitSeconds(e, now), position };
  }

  async list(queue: string, now: number): Promise<QueuedCaller[]> {
    return this.#line(queue).map((e, i) => ({
      ...plainCopy(e),
      position: i + 1,
      waitSeconds: waitSeconds(e, now),
    }));
  }

  async summaries(queues: readonly string[], now: number): Promise<QueueSummary[]> {
    return queues.map((queue) => summarize(queue, this.#line(queue), now, this.#offerTimeoutMs));
  }

  async prune(now: number): Promise<QueueEntry[]> {
    const out: QueueEntry[] = [];
    for (const e of [...this.#entries.values()]) {
      if (e.firstJoinedAt <= now - this.#maxAgeMs) {
        this.#entries.delete(e.callSid);
        out.push(e);
      }
    }
    return out;
  }
}
