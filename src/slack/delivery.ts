import { type Dispatcher, request } from 'undici';
import type { DeliveryResult } from '../alerts/sink.js';

/**
 * Posting one message to a Slack incoming webhook and classifying the answer. We use raw undici
 * rather than `@slack/webhook` because the latter drops the `Retry-After` header of a 429
 * (its `IncomingWebhookHTTPError` carries no headers:
 * https://github.com/slackapi/node-slack-sdk/blob/main/packages/webhook/src/errors.ts).
 */

export interface PostOptions {
  /** undici dispatcher (tests inject an `Agent` they can close). Default: the global dispatcher. */
  dispatcher?: Dispatcher;
  /** Whole-request timeout in ms, connect to last body byte. Default 10 s. */
  timeoutMs?: number;
}

/** Slack answers with a short plain string; anything longer is not worth reading. */
const MAX_RESPONSE_BYTES = 4096;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * POSTs `payload` as JSON to the webhook and classifies the response. Never throws for HTTP or
 * network trouble (that is a `retry`), and never puts the URL into a result: it is a secret.
 * Only 200 with body `ok` counts as delivered (Slack changelog 2016-05-17).
 */
export async function postToSlack(
  url: string,
  payload: unknown,
  options: PostOptions = {},
): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  let status: number;
  let headers: Record<string, string | string[] | undefined>;
  let body: string;
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(payload),
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    status = response.statusCode;
    headers = response.headers;
    body = await readCapped(response.body);
  } catch (err) {
    return { outcome: 'retry', reason: signal.aborted ? 'timeout' : networkReason(err) };
  }
  return classifyResponse(status, body, headers['retry-after']);
}

/**
 * Maps a webhook response to a {@link DeliveryResult}. Pure, so the rules are unit-testable:
 * 200 `ok` → delivered; 429 → retry after `Retry-After` (1 s when missing or garbled); 408/5xx →
 * retry; any other status → rejected, keeping Slack's error string (`invalid_blocks`, `no_service`).
 * A 2xx with a body other than `ok` is also rejected: Slack (or whatever answered) processed the
 * request and did not accept it, and posting it again would risk a duplicate.
 */
export function classifyResponse(
  status: number,
  body: string,
  retryAfter?: string | string[] | undefined,
  now: () => number = Date.now,
): DeliveryResult {
  const reason = errorString(body) || `http_${status}`;
  if (status === 200 && body.trim() === 'ok') return { outcome: 'delivered' };
  if (status === 429)
    return { outcome: 'retry', status, reason, retryAfterMs: parseRetryAfter(retryAfter, now) };
  if (status >= 500 || status === 408) return { outcome: 'retry', status, reason };
  if (status >= 200 && status < 300)
    return { outcome: 'rejected', status, reason: `unexpected_response: ${reason}` };
  return { outcome: 'rejected', status, reason };
}

const MAX_RETRY_AFTER_MS = 3_600_000;
const DEFAULT_RETRY_AFTER_MS = 1_000;

/**
 * `Retry-After` in ms: delta-seconds (what Slack sends) or an HTTP-date, else 1 s. Capped at an
 * hour so a garbled header cannot stall the queue for days.
 * https://docs.slack.dev/apis/web-api/rate-limits
 */
export function parseRetryAfter(value: string | string[] | undefined, now: () => number = Date.now): number {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return DEFAULT_RETRY_AFTER_MS;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.min(MAX_RETRY_AFTER_MS, Math.ceil(Number(raw) * 1000));
  const date = Date.parse(raw);
  if (Number.isFinite(date) && /[a-z]/i.test(raw)) {
    return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - now()));
  }
  return DEFAULT_RETRY_AFTER_MS;
}

/** Slack's error string from a response body: first line, printable, at most 100 characters. */
function errorString(body: string): string {
  const line = body.trim().split(/\r?\n/, 1)[0] ?? '';
  return line.replace(/[^\x20-\x7e]/g, '').slice(0, 100);
}

/** A short, URL-free reason for a network failure (undici codes such as `UND_ERR_SOCKET`, `ECONNREFUSED`). */
function networkReason(err: unknown): string {
  if (err && typeof err === 'object') {
    const { code, name } = err as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code) return code;
    if (typeof name === 'string' && name) return name;
  }
  return 'network_error';
}

async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    size += buf.length;
    if (size >= MAX_RESPONSE_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_RESPONSE_BYTES);
}
