import type { Logger } from 'pino';
import Telnyx, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'telnyx';

/** The Telnyx REST v2 client (the official SDK), as the jobs and click-to-call use it. */
export type TelnyxClient = Telnyx;
export type CredentialConnection = Telnyx.CredentialConnection;

export interface TelnyxClientOptions {
  apiKey: string;
  /** `TELNYX_API_BASE_URL`, including `/v2` (the SDK appends paths such as `/balance` to it). */
  baseUrl: string;
  /** Per attempt; the SDK default of 60 s would hold a job (and its lease) far too long. */
  timeoutMs?: number;
  /** Retries on connection errors, 408, 409, 429 and 5xx, honouring `retry-after`/`retry-after-ms`. */
  maxRetries?: number;
  logger?: Logger;
}

/**
 * Builds the Telnyx SDK client (telnyx 7.24). Every option the SDK would otherwise read from the
 * environment (`TELNYX_PUBLIC_KEY`, OAuth client id/secret, `TELNYX_LOG`) is passed explicitly, so
 * only `src/server.ts` decides what comes from `process.env`.
 * SDK retry rules: https://github.com/team-telnyx/telnyx-node#retries
 */
export function createTelnyxClient(options: TelnyxClientOptions): TelnyxClient {
  const log = options.logger?.child({ component: 'telnyx-sdk' });
  return new Telnyx({
    apiKey: options.apiKey,
    baseURL: options.baseUrl,
    publicKey: null,
    clientID: null,
    clientSecret: null,
    timeout: options.timeoutMs ?? 10_000,
    maxRetries: options.maxRetries ?? 2,
    // 'warn' keeps the SDK's request dumps (debug level) out of our logs; only the message is
    // forwarded, never the SDK's detail objects.
    logLevel: 'warn',
    ...(log && {
      logger: {
        error: (message: string) => log.error(message),
        warn: (message: string) => log.warn(message),
        info: (message: string) => log.info(message),
        debug: (message: string) => log.debug(message),
      },
    }),
  });
}

/**
 * A short, secret-free description of a failed Telnyx call for logs and the `job-failing` alert,
 * e.g. `401 Authentication failed: Could not understand the provided credentials.` Telnyx errors are
 * `{ errors: [{ code, title, detail }] }` (https://developers.telnyx.com/development/api-fundamentals/api-errors).
 */
export function describeTelnyxError(err: unknown): string {
  if (err instanceof APIConnectionTimeoutError) return 'Telnyx API timed out';
  if (err instanceof APIConnectionError) return 'Telnyx API unreachable';
  if (err instanceof APIError) {
    const first = firstError(err.error);
    const text = first
      ? [first.title, first.detail].filter((s) => typeof s === 'string' && s).join(': ')
      : 'request failed';
    return truncate(`Telnyx API ${err.status ?? ''} ${text}`.replace(/\s+/g, ' ').trim());
  }
  if (err instanceof Error) return truncate(err.message);
  return truncate(String(err));
}

function firstError(body: unknown): { title?: unknown; detail?: unknown } | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || !errors[0] || typeof errors[0] !== 'object') return undefined;
  return errors[0] as { title?: unknown; detail?: unknown };
}

const truncate = (s: string, max = 300): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
