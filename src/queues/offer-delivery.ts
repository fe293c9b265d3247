import type { Logger } from 'pino';
import { describeTelnyxError, type TelnyxClient } from '../telnyx/client.js';
import { TimeoutError, withTimeout } from '../with-timeout.js';
import type { QueueEntry } from './queue-entry.js';

/**
 * Delivers a committed queue offer to the waiting caller at once (docs/interface.md §7 "An agent
 * becomes free"): Telnyx's call-update API, `POST /texml/Accounts/{AccountSid}/Calls/{CallSid}`
 * with a new `Url` (docs/telnyx.md §4.8), interrupts the hold music and makes Telnyx request that
 * URL, which answers the `<Dial>` to the offered agent.
 *
 * The URL is `/texml/queue/result`, the `<Enqueue action>` that the `<Leave/>` fallback leads to as
 * well, so both ways end in one document: the offered caller is dialled to the offered agent
 * whichever request comes first. Only one of the two is ever started for an offer:
 * - while an offer is young (`redirecting`, {@link OFFER_REDIRECT_GRACE_MS}) and this module can
 *   redirect it, the waitUrl answers hold music, not `<Leave/>` — the redirect is on its way;
 * - the update is given up after {@link OFFER_UPDATE_TIMEOUT_MS} (the request aborted, never
 *   retried: a second update could interrupt the `<Dial>` the first one started), well before the
 *   grace ends; a caller whose redirect failed leaves on the next waitUrl fetch (≤ 10 s later).
 * Nothing here throws: a refused, slow or impossible update only means the `<Leave/>` fallback.
 * Replicas compare the offer time (one replica's clock) with their own: their clocks must agree
 * to well under a second (NTP does) for the grace to mean the same everywhere.
 *
 * Disabled (every offer by `<Leave/>`) without a Telnyx API key or without PUBLIC_URL: the URL sent
 * to Telnyx's REST API is never built from a request's Host header. An entry without an
 * AccountSid (not in the request that enqueued it) or a callback entry (its caller hung up; the
 * callback is placed as a new call) is never redirected either.
 */

/** How long the update request may take before it is aborted and the `<Leave/>` fallback stands. */
export const OFFER_UPDATE_TIMEOUT_MS = 1_500;
/** How long after an offer the waitUrl holds `<Leave/>` back for the redirect (timeout + margin). */
export const OFFER_REDIRECT_GRACE_MS = OFFER_UPDATE_TIMEOUT_MS + 1_500;

export type DeliveryResult =
  | { via: 'update' }
  | {
      via: 'leave';
      /** Why not (or not yet) by the API: the caller leaves on the next waitUrl fetch. */
      reason: 'disabled' | 'no-account-sid' | 'callback' | 'refused' | 'timeout' | 'unreachable';
      detail?: string;
    };

export interface OfferDeliveryOptions {
  /** The Telnyx SDK client (TELNYX_API_KEY); without it every offer goes by `<Leave/>`. */
  telnyx?: TelnyxClient;
  /** PUBLIC_URL, without a trailing slash; without it every offer goes by `<Leave/>`. */
  publicUrl?: string;
  log: Logger;
  /** Default {@link OFFER_UPDATE_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Default `timeoutMs` + 1.5 s; keep it above `timeoutMs`. */
  graceMs?: number;
  /** Each result, once known (metrics, tests). */
  onResult?: (entry: QueueEntry, result: DeliveryResult, ms: number) => void;
}

export class OfferDelivery {
  readonly timeoutMs: number;
  readonly graceMs: number;
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(private readonly o: OfferDeliveryOptions) {
    this.timeoutMs = o.timeoutMs ?? OFFER_UPDATE_TIMEOUT_MS;
    this.graceMs = Math.max(o.graceMs ?? this.timeoutMs + 1_500, this.timeoutMs + 100);
  }

  /** Offers can be redirected at all (API key and PUBLIC_URL configured). */
  get enabled(): boolean {
    return this.o.telnyx !== undefined && this.o.publicUrl !== undefined;
  }

  /** The URL Telnyx is asked to fetch: the Enqueue action, which dials the offered agent. */
  get url(): string | undefined {
    return this.o.publicUrl === undefined ? undefined : `${this.o.publicUrl}/texml/queue/result`;
  }

  /**
   * True while the offer of `entry` is being redirected (or was, moments ago): the waitUrl then
   * answers hold music rather than `<Leave/>`, which the redirect interrupts.
   */
  redirecting(entry: QueueEntry, now: number): boolean {
    if (entry.offeredTo === undefined || entry.offeredAt === undefined) return false;
    return this.whyNot(entry) === undefined && now - entry.offeredAt < this.graceMs;
  }

  /**
   * Redirects the offered caller of `entry` (just committed by `offerNextCaller`). Resolves with
   * how the offer reaches the caller; never rejects. Tracked for `drain`.
   */
  deliver(entry: QueueEntry): Promise<DeliveryResult> {
    const started = performance.now();
    const work = this.#deliver(entry).then((result) => {
      this.o.onResult?.(entry, result, performance.now() - started);
      return result;
    });
    this.#inflight.add(work);
    void work.finally(() => this.#inflight.delete(work));
    return work;
  }

  /** Waits for the updates still in flight (shutdown); each is bounded by `timeoutMs`. */
  async drain(): Promise<void> {
    while (this.#inflight.size) await Promise.allSettled([...this.#inflight]);
  }

  private whyNot(entry: QueueEntry): Extract<DeliveryResult, { via: 'leave' }>['reason'] | undefined {
    if (!this.enabled) return 'disabled';
    if (entry.callback) return 'callback';
    if (!entry.accountSid) return 'no-account-sid';
    return undefined;
  }

  async #deliver(entry: QueueEntry): Promise<DeliveryResult> {
    const reason = this.whyNot(entry);
    if (reason) return { via: 'leave', reason };
    const { callSid, accountSid, offeredTo } = entry;
    const abort = new AbortController();
    try {
      // Form-encoded by the SDK, as texml-calls.yml `UpdateTexmlCall` specifies; CamelCase keys.
      await withTimeout(
        this.o.telnyx!.texml.accounts.calls.update(
          callSid,
          { account_sid: accountSid!, Url: this.url!, Method: 'POST' },
          // Never retried: a repeated update that lands after the first one's <Dial> started
          // would interrupt it (the agent's phone would stop ringing and start again).
          { maxRetries: 0, timeout: this.timeoutMs, signal: abort.signal },
        ),
        this.timeoutMs,
      );
      this.o.log.debug({ callSid, agent: offeredTo }, 'queue offer delivered through the call-update API');
      return { via: 'update' };
    } catch (err) {
      abort.abort();
      const timedOut = err instanceof TimeoutError;
      const detail = timedOut ? `no answer within ${this.timeoutMs} ms` : describeTelnyxError(err);
      const status = (err as { status?: unknown }).status;
      // 404 (call unknown) and 422 (call over, or a body Telnyx refused) are Telnyx's answer;
      // anything else means Telnyx could not be asked. Either way the caller leaves by <Leave/>.
      const result: DeliveryResult = {
        via: 'leave',
        reason: timedOut ? 'timeout' : typeof status === 'number' ? 'refused' : 'unreachable',
        detail,
      };
      this.o.log.warn(
        { callSid, agent: offeredTo, reason: result.reason, detail },
        'queue offer not redirected; the caller leaves the queue on the next waitUrl fetch',
      );
      return result;
    }
  }
}
