import { randomUUID } from 'node:crypto';

/**
 * The calls the simulator is playing right now, as Telnyx's call-control side sees them: what
 * connects the fake REST API (`POST /v2/texml/Accounts/{AccountSid}/Calls/{CallSid}`, "Update
 * call", texml-calls.yml `UpdateTexmlCall`) to the player that is playing that call. The player
 * registers each call it plays; the fake API hands each accepted update here; the player takes
 * it at its next step (between two verbs of a wait document, before its next request), the way
 * Telnyx interrupts the current document.
 */

/** A change asked through the update API (texml-calls.yml `UpdateCallRequest`), validated. */
export type CallUpdate =
  | { kind: 'url'; url: string; method: 'GET' | 'POST' }
  | { kind: 'texml'; texml: string }
  | { kind: 'hangup' };

export interface LiveCallInfo {
  accountSid: string;
  callSid: string;
  from: string;
  to: string;
  direction: 'inbound' | 'outbound';
  /** Epoch ms, on the player's clock. */
  startedAt: number;
  endedAt?: number;
}

export type UpdateOutcome =
  | { ok: true; call: LiveCallInfo }
  | { ok: false; reason: 'unknown' }
  /** The call has ended: nothing left to update. */
  | { ok: false; reason: 'ended'; call: LiveCallInfo };

/** What the fake API needs from the player. */
export interface CallUpdateTarget {
  update(accountSid: string, callSid: string, change: CallUpdate): UpdateOutcome;
}

interface Live {
  info: LiveCallInfo;
  pending: CallUpdate[];
  wake?: () => void;
}

export class LiveCalls implements CallUpdateTarget {
  readonly #calls = new Map<string, Live>();
  /** Every update accepted, in order (for assertions). */
  readonly updates: Array<{ callSid: string; change: CallUpdate }> = [];

  register(info: LiveCallInfo): void {
    if (!this.#calls.has(info.callSid)) this.#calls.set(info.callSid, { info, pending: [] });
  }

  /** The call hung up: later updates are refused. */
  end(callSid: string, at: number): void {
    const live = this.#calls.get(callSid);
    if (live && live.info.endedAt === undefined) live.info.endedAt = at;
  }

  get(callSid: string): LiveCallInfo | undefined {
    return this.#calls.get(callSid)?.info;
  }

  update(accountSid: string, callSid: string, change: CallUpdate): UpdateOutcome {
    const live = this.#calls.get(callSid);
    // A call of another account is not found, as Telnyx scopes calls by account.
    if (!live || live.info.accountSid !== accountSid) return { ok: false, reason: 'unknown' };
    if (live.info.endedAt !== undefined) return { ok: false, reason: 'ended', call: live.info };
    live.pending.push(change);
    this.updates.push({ callSid, change });
    live.wake?.();
    return { ok: true, call: live.info };
  }

  /** The oldest update not yet acted on (a later Url wins over nothing; they apply in order). */
  take(callSid: string): CallUpdate | undefined {
    return this.#calls.get(callSid)?.pending.shift();
  }

  /** Sleeps up to `ms` real milliseconds; an update for the call wakes it at once. */
  async pause(callSid: string, ms: number): Promise<void> {
    const live = this.#calls.get(callSid);
    if (ms <= 0 || !live || live.pending.length > 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        if (live) live.wake = undefined;
        resolve();
      }
      live.wake = done;
    });
  }
}

/**
 * Telnyx's own queues as the player models them: who waits in which named queue, in the order
 * they joined, for the queue parameters of each `waitUrl` request (docs/telnyx.md §1.7,
 * https://developers.telnyx.com/api-reference/callbacks/texml-queue).
 */
export class SimQueues {
  readonly #queues = new Map<string, { sid: string; members: Map<string, number> }>();

  join(queue: string, callSid: string, at: number): void {
    let q = this.#queues.get(queue);
    if (!q) {
      // QueueSid: a UUID in the Enqueue docs' example, the queue's name in the callback
      // reference's; UNCONFIRMED which Telnyx sends: the simulator sends a UUID.
      q = { sid: randomUUID(), members: new Map() };
      this.#queues.set(queue, q);
    }
    if (!q.members.has(callSid)) q.members.set(callSid, at);
  }

  leave(queue: string, callSid: string): void {
    this.#queues.get(queue)?.members.delete(callSid);
  }

  /** Seconds `callSid` has waited in `queue` at `now`. */
  waited(queue: string, callSid: string, now: number): number {
    const at = this.#queues.get(queue)?.members.get(callSid);
    return at === undefined ? 0 : Math.max(0, Math.floor((now - at) / 1000));
  }

  /**
   * `QueueSid`, `QueuePosition` (1-based), `CurrentQueueSize`, `QueueTime` (seconds this caller
   * has waited) and `AvgQueueTime` (mean wait of the callers in the queue now, whole seconds:
   * Telnyx does not define it further; UNCONFIRMED).
   */
  params(queue: string, callSid: string, now: number): Record<string, string> {
    const q = this.#queues.get(queue);
    if (!q) return {};
    const joined = [...q.members.entries()];
    const position = joined.findIndex(([sid]) => sid === callSid) + 1;
    const waits = joined.map(([, at]) => Math.max(0, Math.floor((now - at) / 1000)));
    const avg = waits.length ? Math.round(waits.reduce((a, b) => a + b, 0) / waits.length) : 0;
    return {
      QueueSid: q.sid,
      QueuePosition: String(position),
      CurrentQueueSize: String(joined.length),
      QueueTime: String(this.waited(queue, callSid, now)),
      AvgQueueTime: String(avg),
    };
  }
}
