import type { Logger } from 'pino';
import type { AlertSink } from '../alerts/sink.js';
import { type PostOptions, postToSlack } from './delivery.js';
import { alertLogLine, buildSlackMessage } from './messages.js';

export interface SlackWebhookSinkOptions extends PostOptions {
  /** Default 1000: Slack allows about one message per second per webhook (api.slack.com/docs/rate-limits). */
  minIntervalMs?: number;
  /** RECORDING_URL_PREFIXES: recording links trusted besides Telnyx's own hosts. */
  recordingUrlPrefixes?: readonly string[];
}

/**
 * Posts each alert as Block Kit JSON to an incoming webhook. Link unfurling is off: the only link
 * is a voicemail recording, and a preview of it is useless. A message that cannot be built (an
 * alert type this version does not know) is `rejected`, so it is dead-lettered instead of
 * blocking the queue.
 */
export function createSlackWebhookSink(webhookUrl: string, options: SlackWebhookSinkOptions = {}): AlertSink {
  const { minIntervalMs = 1000, recordingUrlPrefixes, ...postOptions } = options;
  return {
    kind: 'slack-webhook',
    minIntervalMs,
    async deliver(alert, folded = []) {
      let payload: object;
      try {
        payload = {
          ...buildSlackMessage(alert, { recordingUrlPrefixes, folded }),
          unfurl_links: false,
          unfurl_media: false,
        };
      } catch (err) {
        return {
          outcome: 'rejected',
          status: 0,
          reason: `build_failed: ${(err as Error).message}`.slice(0, 200),
        };
      }
      return postToSlack(webhookUrl, payload, postOptions);
    },
  };
}

/**
 * The embedded default without `SLACK_WEBHOOK_URL`: each alert becomes one readable info line
 * (phone numbers masked), so a newcomer sees in the console what Slack would receive.
 */
export function createLogSink(logger: Logger): AlertSink {
  return {
    kind: 'log',
    minIntervalMs: 0,
    async deliver(alert, folded = []) {
      let line: string;
      try {
        line = alertLogLine(alert, folded);
      } catch (err) {
        return {
          outcome: 'rejected',
          status: 0,
          reason: `build_failed: ${(err as Error).message}`.slice(0, 200),
        };
      }
      logger.info({ alert: alert.type }, line);
      return { outcome: 'delivered' };
    },
  };
}

/**
 * The sink the configuration asks for: the webhook when `SLACK_WEBHOOK_URL` is set, else the log
 * (docs/interface.md §1 embedded defaults).
 */
export function createAlertSink(
  webhookUrl: string | undefined,
  logger: Logger,
  options: SlackWebhookSinkOptions = {},
): AlertSink {
  return webhookUrl ? createSlackWebhookSink(webhookUrl, options) : createLogSink(logger);
}
