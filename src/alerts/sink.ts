/**
 * Where alerts go once the outbox releases them, and how a failed delivery is retried. The Slack
 * webhook and the log are the two sinks (src/slack/sinks.ts); the outbox worker only sees this
 * interface, so it knows nothing about Slack.
 */
import type { Alert } from './alert.js';

/** The outcome of one post, as the outbox worker needs it (Slack webhook or log). */
export type DeliveryResult =
  /** Slack answered 200 `ok`: the message is in the channel. */
  | { outcome: 'delivered' }
  /** Try again later: 429 (after `retryAfterMs`), 5xx, or a network error/timeout (with backoff). */
  | { outcome: 'retry'; reason: string; status?: number; retryAfterMs?: number }
  /** Slack refused it for good (4xx such as `invalid_blocks`, `no_service`): do not post it again. */
  | { outcome: 'rejected'; reason: string; status: number };

/** Where the outbox worker delivers alerts: the Slack webhook, or the log when none is configured. */
export interface AlertSink {
  /** For logs and metrics labels: `slack-webhook` or `log`. */
  readonly kind: string;
  /** Least time between two deliveries, ms; the worker's default spacing. */
  readonly minIntervalMs: number;
  /** `folded`: earlier alerts of the same call this one replaced (shown with it). */
  deliver(alert: Alert, folded?: readonly Alert[]): Promise<DeliveryResult>;
}

/** Capped exponential backoff settings for 5xx and network errors. */
export interface BackoffOptions {
  /** Delay before the first retry, ms (default 1000). */
  baseMs: number;
  /** Longest delay, ms (default 60000). */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, capMs: 60_000 };

/**
 * Delay before retry number `attempt` (1-based): base·2^(attempt−1), capped, with "equal jitter"
 * (half fixed, half random) so replicas recovering together do not retry in lockstep.
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
