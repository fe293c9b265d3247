/**
 * The limits and timings of one queue (docs/interface.md §7). Without a call-center file every
 * queue has these defaults; the call-center file (§9) may set its own per queue, and
 * `QueueSettingsSource` is the one place the flow asks.
 */
export interface QueueSettings {
  /** Position and estimated wait are announced this often while waiting. */
  announceSeconds: number;
  /**
   * Whether callers of this queue may ask to be called back (the call-center file's `callbacks`,
   * docs/call-center-file.md); absent = yes.
   */
  callbacks?: boolean;
  /** After this long the caller may press 1 to be called back. */
  callbackAfterSeconds: number;
  /** Callback attempts before `callback-failed`. */
  callbackAttempts: number;
  /** Between two callback attempts. */
  callbackRetrySeconds: number;
  /** After this long in line the caller leaves for voicemail (`exit-timeout`). */
  maxWaitSeconds: number;
  /** Most callers in line; the next one goes straight to voicemail. */
  maxWaiting: number;
  /** Hold music: a prompt name in AUDIO_DIR or an https URL (default `hold-music`). */
  holdMusic?: string;
}

export const DEFAULT_QUEUE_SETTINGS: Readonly<QueueSettings> = Object.freeze({
  announceSeconds: 30,
  callbackAfterSeconds: 60,
  callbackAttempts: 3,
  callbackRetrySeconds: 300,
  maxWaitSeconds: 600,
  maxWaiting: 50,
});

/** Settings of `queue`; the defaults for a queue the source does not know. */
export type QueueSettingsSource = (queue: string) => QueueSettings;

export const defaultQueueSettings =
  (overrides: Partial<QueueSettings> = {}): QueueSettingsSource =>
  () => ({ ...DEFAULT_QUEUE_SETTINGS, ...overrides });
