import type { Alert, Notifier } from '../../src/alerts/alert.js';

/**
 * A Notifier that keeps the outbox promise of `src/alerts/alert.ts`: idempotent by key, across
 * every component (replica) that shares this instance. `calls` keeps every enqueue, `alerts` the
 * messages that would be delivered (one per key).
 */
export class RecordingNotifier implements Notifier {
  readonly calls: Array<{ key: string; alert: Alert }> = [];
  readonly delivered = new Map<string, Alert>();
  /** Make the next `n` enqueues throw, as an unreachable outbox would. */
  failNext = 0;

  async enqueue(key: string, alert: Alert): Promise<boolean> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('outbox unavailable');
    }
    this.calls.push({ key, alert });
    if (this.delivered.has(key)) return false;
    this.delivered.set(key, alert);
    return true;
  }

  /** Delivered alerts of one type, in enqueue order. */
  of<T extends Alert['type']>(type: T): Array<Extract<Alert, { type: T }> & { key: string }> {
    return [...this.delivered.entries()]
      .filter(([, a]) => a.type === type)
      .map(([key, a]) => ({ ...(a as Extract<Alert, { type: T }>), key }));
  }
}
