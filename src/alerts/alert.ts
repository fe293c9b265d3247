/**
 * Everything Switchboard tells the team, as plain data. `src/slack/messages.ts` turns each alert
 * into Block Kit JSON (this folder knows nothing about Slack); the outbox delivers it. Caller-controlled strings stay raw here and are
 * escaped by the message builders.
 */
export type Alert =
  | {
      type: 'incoming';
      callSid: string;
      from: string;
      callerName?: string;
      agents: string[];
      /** The call's queue (docs/interface.md §7, §9), when it has one. */
      queue?: string;
      at: string;
    }
  | {
      type: 'answered';
      callSid: string;
      from: string;
      agent: string;
      waitSeconds: number;
      queue?: string;
      at: string;
    }
  | {
      type: 'missed';
      callSid: string;
      from: string;
      waitSeconds: number;
      /**
       * caller-hung-up: while agents rang; no-answer: every round unanswered and no voicemail
       * left; no-agents: nobody online and no voicemail left; closed: the queue was closed and no
       * voicemail was left
       */
      reason: 'caller-hung-up' | 'no-answer' | 'no-agents' | 'closed';
      queue?: string;
      /** With reason `closed`: why the queue was closed. */
      closed?: ClosedAlertInfo;
      at: string;
    }
  | {
      type: 'voicemail';
      callSid: string;
      from: string;
      durationSeconds: number;
      recordingUrl: string;
      queue?: string;
      /** The message came in while the queue was closed: why (docs/interface.md §9). */
      closed?: ClosedAlertInfo;
      at: string;
    }
  | {
      type: 'completed';
      callSid: string;
      from: string;
      agent: string;
      talkSeconds: number;
      waitSeconds: number;
      queue?: string;
      at: string;
    }
  /** `callback`: the call is a queue callback's attempt, told in call-center words (docs/interface.md §4). */
  | {
      type: 'outbound-ringing';
      callSid: string;
      agent: string;
      to: string;
      callback?: CallbackAlertInfo;
      at: string;
    }
  | {
      type: 'outbound-answered';
      callSid: string;
      agent: string;
      to: string;
      callback?: CallbackAlertInfo;
      at: string;
    }
  | {
      type: 'outbound-completed';
      callSid: string;
      agent: string;
      to: string;
      /** The customer (for a callback: the caller) answered. */
      answered: boolean;
      talkSeconds: number;
      callback?: CallbackAlertInfo;
      at: string;
    }
  | { type: 'roster-changed'; added: string[]; removed: string[]; at: string }
  | {
      type: 'roster-unreachable';
      /** Agents Telnyx will not connect calls to (SIP URI calling disabled on their connection). */
      agents: string[];
      /** Agents whose connection Switchboard set to `internal` (AGENT_SIP_URI_CALLING=enable). */
      enabled: string[];
      at: string;
    }
  | {
      type: 'low-balance';
      /** decimal strings exactly as Telnyx sent them */
      amount: string;
      currency: string;
      threshold: string;
      reminder: boolean;
      at: string;
    }
  | { type: 'balance-recovered'; amount: string; currency: string; threshold: string; at: string }
  | { type: 'job-failing'; job: string; error: string; at: string }
  /** An agent let `noAnswers` offers in a row ring out and was put on break (docs/interface.md §5). */
  | { type: 'agent-auto-paused'; agent: string; noAnswers: number; at: string }
  /** A caller hung up while waiting in a queue (docs/interface.md §7). */
  | {
      type: 'queue-abandoned';
      callSid: string;
      from: string;
      queue: string;
      waitSeconds: number;
      position: number;
      at: string;
    }
  /** A caller has waited longer than SERVICE_LEVEL_SECONDS with agents signed in (once per call). */
  | { type: 'service-level-breached'; callSid: string; queue: string; waitSeconds: number; at: string }
  /** Callers arrive at a queue while none of its agents is signed in (once per streak). */
  | { type: 'no-agent-signed-in'; queue: string; at: string }
  /** A callback gave up after its attempts. */
  | {
      type: 'callback-failed';
      callSid: string;
      from: string;
      queue: string;
      attempts: number;
      at: string;
    }
  | { type: 'job-recovered'; job: string; failures: number; at: string }
  | {
      /**
       * Written by the outbox, not by producers: routine call alerts that were not posted one by
       * one because Slack was too far behind (src/alerts/outbox.ts), counted by alert type.
       */
      type: 'backlog';
      counts: Record<string, number>;
      /** ISO times of the first and last event summarized. */
      since: string;
      until: string;
      at: string;
    }
  | DailySummaryAlert;

export type AlertType = Alert['type'];

/**
 * The queue callback an outbound call places (docs/interface.md §7): the caller's original call,
 * their queue, and which attempt of how many this is.
 */
export interface CallbackAlertInfo {
  /** The caller's original inbound CallSid (the `callback-failed` alert carries the same). */
  callSid: string;
  queue: string;
  /** 1-based. */
  attempt: number;
  /** The queue's `callbackAttempts`; absent when unknown. */
  attempts?: number;
}

/**
 * Why a queue was closed when the caller reached it: `after-hours`, `holiday`, `closure` or
 * `manual` (closed by hand), and the holiday's, closure's or override's own reason when given.
 */
export interface ClosedAlertInfo {
  reason: 'after-hours' | 'holiday' | 'closure' | 'manual';
  detail?: string;
}

/**
 * Hands alerts to the durable outbox. `enqueue` resolves once the message is stored (never waits
 * on Slack) and is idempotent by `key`: the same key enqueued twice, by any replica, is one message.
 */
export interface Notifier {
  enqueue(key: string, alert: Alert): Promise<boolean>;
}

/** The alert (an `Alert` variant): plain data; agent names stay raw here and are escaped when rendered. */
export interface DailySummaryAlert {
  type: 'daily-summary';
  /** The local day summarized, `YYYY-MM-DD`, and its zone. */
  date: string;
  timeZone: string;
  offered: number;
  answered: number;
  missed: number;
  abandoned: number;
  shortAbandoned: number;
  voicemails: number;
  /** 0..1, null when nothing was answered or abandoned. */
  serviceLevel: number | null;
  serviceLevelSeconds: number;
  averageSpeedOfAnswer: number | null;
  averageHandleTime: number | null;
  longestWait: number;
  busiestHour: { hour: number; offered: number } | null;
  outboundPlaced: number;
  /** Agents who answered or placed calls, most answered first (at most `MAX_SUMMARY_AGENTS`,
   * src/stats/daily-summary.ts). */
  agents: Array<{ agent: string; answered: number; talkSeconds: number; outbound: number }>;
  /** When the summary was made, ISO. */
  at: string;
}
