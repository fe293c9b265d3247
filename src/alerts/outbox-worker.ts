import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { eventsOf, type Outbox, type OutboxHead, type OutboxMessage } from './outbox.js';
import {
  type AlertSink,
  type BackoffOptions,
  backoffDelayMs,
  DEFAULT_BACKOFF,
  type DeliveryResult,
} from './sink.js';

export interface OutboxWorkerOptions {
  outbox: Outbox;
  /** `createSlackWebhookSink(url)` or, without a webhook, `createLogSink(logger)`. */
  sink: AlertSink;
  logger: Logger;
  /** Least time between the end of one post and the start of the next, ms. Default: `sink.minIntervalMs`. */
  minIntervalMs?: number;
  /** How often an idle worker looks for messages enqueued by other replicas, ms. Default 250. */
  idlePollMs?: number;
  /**
   * Lease duration, ms (default 30 s; renewed every third of it). Must exceed the longest post
   * (the webhook timeout, 10 s): a post outliving the lease could overlap another replica's.
   */
  leaseMs?: number;
  /** Backoff for 5xx, network errors and Redis errors. Default 1 s doubling to 60 s. */
  backoff?: BackoffOptions;
  random?: () => number;
  now?: () => number;
  /** Lease owner id; default a random UUID per worker. */
  owner?: string;
}

const DEFAULT_IDLE_POLL_MS = 250;
const DEFAULT_LEASE_MS = 30_000;

/**
 * Delivers the outbox in order, one message at a time, to its sink.
 *
 * Only the holder of the outbox lease posts, so across all replicas there is one deliverer per
 * webhook: delivery is globally ordered and spaced by `minIntervalMs` (Slack: about 1 message/s
 * per webhook). The pause before the next post (spacing, `Retry-After`, backoff) lives in the outbox,
 * so a worker taking over keeps honouring it. A message leaves the queue only when Slack accepted
 * it (200 `ok`) or refused it for good (dead letter + error log); a failing head blocks those
 * behind it, which keeps order.
 *
 * Delivery is at-least-once at the HTTP level: if a worker dies (or loses Redis) after Slack
 * accepted a post but before removing it, the lease expires and the next holder posts it again.
 * Within a running fleet each message is posted once.
 */
export class OutboxWorker {
  readonly #outbox: Outbox;
  readonly #sink: AlertSink;
  readonly #log: Logger;
  readonly #minIntervalMs: number;
  readonly #idlePollMs: number;
  readonly #leaseMs: number;
  readonly #backoff: BackoffOptions;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #owner: string;

  #loop: Promise<void> | undefined;
  #stopping = false;
  #holding = false;
  #renewTimer: NodeJS.Timeout | undefined;
  #renewal: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #woken = false;
  #sleeper: { wakeable: boolean; done: () => void } | undefined;
  /** Earliest next post known locally (in case the shared value could not be written). */
  #localNotBefore = 0;
  /** Retries of the current head, for backoff. */
  #attempts = { id: '', count: 0 };
  #storeErrors = 0;

  constructor(options: OutboxWorkerOptions) {
    this.#outbox = options.outbox;
    this.#sink = options.sink;
    this.#log = options.logger;
    this.#minIntervalMs = options.minIntervalMs ?? options.sink.minIntervalMs;
    this.#idlePollMs = options.idlePollMs ?? DEFAULT_IDLE_POLL_MS;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#owner = options.owner ?? randomUUID();
  }

  /** True while this worker holds the lease (it is the one delivering). */
  get delivering(): boolean {
    return this.#holding;
  }

  get running(): boolean {
    return this.#loop !== undefined;
  }

  /** Starts delivering in the background; a second call is a no-op. */
  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#unsubscribe = this.#outbox.onEnqueue(() => this.#wake());
    this.#renewTimer = setInterval(() => this.#renew(), Math.max(10, Math.floor(this.#leaseMs / 3)));
    this.#renewTimer.unref();
    this.#loop = this.#run();
    this.#log.debug({ sink: this.#sink.kind }, 'outbox worker started');
  }

  /**
   * Stops: lets an in-flight post finish (and be removed from the outbox), then releases the lease
   * so another replica can take over at once. Pending messages stay in the outbox.
   */
  async stop(): Promise<void> {
    const loop = this.#loop;
    if (!loop) return;
    this.#stopping = true;
    this.#sleeper?.done();
    await loop;
    clearInterval(this.#renewTimer);
    // A renewal still in flight would re-take the lease right after we release it.
    await this.#renewal;
    this.#unsubscribe?.();
    this.#loop = undefined;
    this.#holding = false;
    try {
      await this.#outbox.releaseLease(this.#owner);
    } catch (err) {
      this.#log.warn({ err }, 'could not release the outbox lease; it expires on its own');
    }
    this.#log.debug({ sink: this.#sink.kind }, 'outbox worker stopped');
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      let wait: { ms: number; wakeable: boolean };
      try {
        wait = await this.#step();
        if (this.#storeErrors > 0) this.#log.info('outbox store reachable again');
        this.#storeErrors = 0;
      } catch (err) {
        this.#storeErrors += 1;
        if (this.#storeErrors === 1) this.#log.warn({ err }, 'outbox store failed; retrying with backoff');
        wait = { ms: backoffDelayMs(this.#storeErrors, this.#backoff, this.#random), wakeable: false };
      }
      if (wait.ms > 0) await this.#sleep(wait.ms, wait.wakeable);
    }
  }

  /** One round: hold the lease, deliver the head if it is time. Returns how long to wait next. */
  async #step(): Promise<{ ms: number; wakeable: boolean }> {
    this.#holding = await this.#outbox.acquireLease(this.#owner, this.#leaseMs);
    if (!this.#holding) return { ms: this.#idlePollMs, wakeable: true };

    this.#woken = false;
    const head = await this.#outbox.peek();
    if (!head) return { ms: this.#idlePollMs, wakeable: true };

    const wait = Math.max(this.#localNotBefore - this.#now(), await this.#outbox.pauseRemainingMs());
    // Sleep in slices shorter than the lease so it is re-checked while waiting out a long Retry-After.
    if (wait > 0) return { ms: Math.min(wait, Math.max(10, Math.floor(this.#leaseMs / 3))), wakeable: false };

    if (!head.message) {
      await this.#outbox.deadLetter(head, { reason: 'unreadable' });
      this.#log.error('outbox message unreadable (written by another version?); moved to the dead letters');
      return { ms: 0, wakeable: false };
    }
    await this.#deliver(head, head.message);
    return { ms: 0, wakeable: false };
  }

  async #deliver(head: OutboxHead, message: OutboxMessage): Promise<void> {
    let result: DeliveryResult;
    try {
      result = await this.#sink.deliver(message.alert, eventsOf(message).slice(0, -1));
    } catch (err) {
      result = { outcome: 'retry', reason: (err as Error)?.name ?? 'sink_error' };
    }
    const doneAt = this.#now();
    const context = { alert: message.alert.type, key: message.key, sink: this.#sink.kind };
    let delay = this.#minIntervalMs;

    if (result.outcome === 'retry') {
      if (this.#attempts.id !== message.id) this.#attempts = { id: message.id, count: 0 };
      this.#attempts.count += 1;
      this.#outbox.recordRetry();
      const retryIn =
        result.retryAfterMs ?? backoffDelayMs(this.#attempts.count, this.#backoff, this.#random);
      delay = Math.max(delay, retryIn);
      this.#log.warn(
        {
          ...context,
          reason: result.reason,
          status: result.status,
          attempt: this.#attempts.count,
          retryInMs: retryIn,
        },
        'Slack delivery failed; will retry',
      );
    } else {
      this.#attempts = { id: '', count: 0 };
    }
    // Recorded locally before any store call, so even if the store fails now the spacing holds.
    const next = doneAt + delay;
    this.#localNotBefore = next;

    if (result.outcome === 'delivered') {
      const removed = await this.#outbox.ack(head);
      this.#log.debug({ ...context, removed }, 'outbox message delivered');
    } else if (result.outcome === 'rejected') {
      await this.#outbox.deadLetter(head, { reason: result.reason, status: result.status });
      this.#log.error(
        { ...context, reason: result.reason, status: result.status },
        'Slack refused a message for good; moved it to the dead letters',
      );
    }
    if (delay > 0) await this.#outbox.pauseFor(delay);
  }

  #renew(): void {
    if (!this.#holding || this.#renewal || this.#stopping) return;
    this.#renewal = this.#outbox
      .acquireLease(this.#owner, this.#leaseMs)
      .then((held) => {
        if (!held && this.#holding) this.#log.warn('outbox lease lost to another replica');
        this.#holding = held;
      })
      .catch((err: unknown) => this.#log.debug({ err }, 'outbox lease renewal failed'))
      .finally(() => {
        this.#renewal = undefined;
      });
  }

  #wake(): void {
    this.#woken = true;
    if (this.#sleeper?.wakeable) this.#sleeper.done();
  }

  #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    if (wakeable && this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleeper = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleeper = { wakeable, done };
    });
  }
}
