import type { Logger } from 'pino';
import type { Notifier } from '../alerts/alert.js';
import type { TelnyxClient } from '../telnyx/client.js';
import { compareDecimal, isDecimal } from './decimal.js';
import type { BalanceState, JobStore, PendingAlert } from './job-store.js';

export const DAY_MS = 86_400_000;

export interface BalanceReading {
  /** `available_credit` (balance + credit limit), decimal string as Telnyx sent it. */
  amount: string;
  currency: string;
}

export interface BalanceDecision {
  next: BalanceState;
  alert?: PendingAlert;
}

/**
 * The balance alert rules, as a pure function of the last state and a new reading:
 * - dropping below the threshold starts a crossing: one `low-balance` alert, keyed by the
 *   crossing (`balance:low:<crossingStartedAt>`);
 * - still below: one reminder each full `reminderAfterMs` (24 h) since the crossing started
 *   (`…:reminder:<n>`), numbered by elapsed periods so a pause in checks never floods Slack;
 * - back at or above the threshold: one `balance-recovered` (`balance:recovered:<crossingStartedAt>`).
 * Alert keys come from the stored crossing, so whichever replica acts, the outbox sees one key.
 */
export function decideBalance(
  prev: BalanceState | undefined,
  reading: BalanceReading,
  threshold: string,
  nowMs: number,
  reminderAfterMs = DAY_MS,
): BalanceDecision {
  const at = new Date(nowMs).toISOString();
  const below = compareDecimal(reading.amount, threshold) < 0;
  const base = {
    amount: reading.amount,
    currency: reading.currency,
    checkedAt: at,
    pending: prev?.pending ?? [],
  };
  const { amount, currency } = reading;

  if (below && (!prev?.low || !prev.crossingStartedAt)) {
    return {
      next: { ...base, low: true, crossingStartedAt: at, reminders: 0 },
      alert: {
        key: `balance:low:${at}`,
        alert: { type: 'low-balance', amount, currency, threshold, reminder: false, at },
      },
    };
  }
  if (below && prev?.crossingStartedAt) {
    const crossing = prev.crossingStartedAt;
    const periods = Math.floor((nowMs - Date.parse(crossing)) / reminderAfterMs);
    const next: BalanceState = { ...base, low: true, crossingStartedAt: crossing, reminders: prev.reminders };
    if (periods > prev.reminders) {
      next.reminders = periods;
      return {
        next,
        alert: {
          key: `balance:low:${crossing}:reminder:${periods}`,
          alert: { type: 'low-balance', amount, currency, threshold, reminder: true, at },
        },
      };
    }
    return { next };
  }
  if (prev?.low) {
    return {
      next: { ...base, low: false, reminders: 0 },
      alert: {
        key: `balance:recovered:${prev.crossingStartedAt ?? at}`,
        alert: { type: 'balance-recovered', amount, currency, threshold, at },
      },
    };
  }
  return { next: { ...base, low: false, reminders: 0 } };
}

export interface BalanceCheckOptions {
  client: TelnyxClient;
  /** Where the balance alert state lives (`getBalance`, `compareAndSetBalance`). */
  store: Pick<JobStore, 'getBalance' | 'compareAndSetBalance'>;
  notifier: Notifier;
  logger: Logger;
  /** `BALANCE_ALERT_THRESHOLD`, a decimal string. */
  threshold: string;
  now?: () => number;
  /** Time between reminders while the balance stays low (default 24 h). */
  reminderAfterMs?: number;
}

export interface BalanceCheckResult extends BalanceReading {
  threshold: string;
  low: boolean;
  /** Alert types queued by this check. */
  alerts: string[];
}

const MAX_ATTEMPTS = 5;

/**
 * Reads the account balance (`GET /balance`, docs/telnyx.md §4.3), applies `decideBalance`
 * with an atomic compare-and-set on the shared state (so two replicas checking at once decide
 * once), then hands the decided alert to the outbox. An alert is kept in the state as pending
 * until the outbox took it, so an outbox failure retries it on the next check under the same key.
 */
export async function checkBalance(options: BalanceCheckOptions): Promise<BalanceCheckResult> {
  const { store, logger, threshold } = options;
  const now = options.now ?? Date.now;
  const reply = await options.client.balance.retrieve();
  const amount = reply.data?.available_credit;
  const currency = reply.data?.currency ?? '';
  if (typeof amount !== 'string' || !isDecimal(amount)) {
    throw new Error('balance: Telnyx returned no decimal available_credit');
  }
  const reading = { amount, currency };

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const { revision, state } = await store.getBalance();
    const { next, alert } = decideBalance(state, reading, threshold, now(), options.reminderAfterMs);
    if (alert) next.pending = [...next.pending, alert];
    if (!(await store.compareAndSetBalance(revision, next))) continue;
    if (alert) logger.info({ alert: alert.alert.type, currency }, 'balance alert decided');
    await flushPending(options, next.pending);
    return { ...reading, threshold, low: next.low, alerts: alert ? [alert.alert.type] : [] };
  }
  throw new Error(`balance check: state kept changing underneath (${MAX_ATTEMPTS} attempts)`);
}

async function flushPending(options: BalanceCheckOptions, pending: PendingAlert[]): Promise<void> {
  if (pending.length === 0) return;
  const queued = new Set<string>();
  let failure: unknown;
  for (const p of pending) {
    try {
      await options.notifier.enqueue(p.key, p.alert);
      queued.add(p.key);
    } catch (err) {
      failure ??= err;
    }
  }
  if (queued.size > 0) {
    // Best effort: if this loses a race the entries stay pending and are re-queued (same keys,
    // so the outbox drops the repeats) on the next check.
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const { revision, state } = await options.store.getBalance();
      if (!state) break;
      const left = state.pending.filter((p) => !queued.has(p.key));
      if (left.length === state.pending.length) break;
      if (await options.store.compareAndSetBalance(revision, { ...state, pending: left })) break;
    }
  }
  if (failure) {
    options.logger.error({ err: failure }, 'balance alert could not be queued; will retry on the next check');
    throw failure;
  }
}
