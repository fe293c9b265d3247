import createError from '@fastify/error';

/**
 * Stable error codes for everything the HTTP edge can answer with. The error handler in app.ts
 * turns them into `{ statusCode, code, error, message }` and hides the details of 5xx.
 */
export const Errors = {
  MissingCallSid: createError('SB_MISSING_CALL_SID', 'CallSid is required', 400),
  BadParameter: createError<[string]>('SB_BAD_PARAMETER', '%s', 400),
  UnsupportedMediaType: createError<[string]>(
    'SB_UNSUPPORTED_MEDIA_TYPE',
    'expected application/x-www-form-urlencoded, got %s',
    415,
  ),
  BadSignature: createError<[string]>('SB_BAD_SIGNATURE', 'invalid Telnyx signature: %s', 403),
  SignedPostOnly: createError(
    'SB_SIGNED_POST_ONLY',
    'GET is refused while TELNYX_PUBLIC_KEY is set: its query string is not covered by the Telnyx signature; configure the TeXML application with POST',
    405,
  ),
  NotStored: createError('SB_NOT_STORED', 'the callback could not be stored; retry later', 503),
  Unauthorized: createError('SB_UNAUTHORIZED', 'missing or invalid bearer token', 401),
  NotFound: createError<[string]>('SB_NOT_FOUND', '%s', 404),
  Upstream: createError<[string]>('SB_UPSTREAM', 'Telnyx API error: %s', 502),
  NotConfigured: createError<[string]>('SB_NOT_CONFIGURED', '%s', 503),
  Busy: createError<[string]>('SB_BUSY', '%s', 409),
  /** The agent's state does not allow this now (e.g. ending a wrap-up that is not running). */
  AgentRefused: createError<[string]>('SB_AGENT_REFUSED', '%s', 409),
  /** The store is unreachable: nothing was done, retry later. */
  StoreUnavailable: createError<[string]>('SB_STORE_UNAVAILABLE', '%s', 503),
  /** Telnyx placed the call but it could not be stored: retrying would ring the agent again. */
  CallNotRecorded: createError<[string]>('SB_CALL_NOT_RECORDED', '%s', 500),
  // Outbound calls (docs/interface.md §10): 422 for a number that is never dialled…
  OutboundDestination: createError<[string]>('SB_OUTBOUND_DESTINATION', '%s', 422),
  OutboundSpecialRate: createError<[string]>('SB_OUTBOUND_SPECIAL_RATE', '%s', 422),
  OutboundHotline: createError<[string]>('SB_OUTBOUND_HOTLINE', '%s', 422),
  OutboundInvalidNumber: createError<[string]>('SB_OUTBOUND_INVALID_NUMBER', '%s', 422),
  // …429 (with Retry-After) for one that may be dialled later.
  OutboundRateLimited: createError<[string]>('SB_OUTBOUND_RATE_LIMITED', '%s', 429),
  OutboundConcurrency: createError<[string]>('SB_OUTBOUND_CONCURRENCY', '%s', 429),
  // Opening hours (docs/interface.md §6, §9).
  UnknownQueue: createError<[string]>('SB_UNKNOWN_QUEUE', '%s', 404),
  OverrideUntil: createError<[string]>('SB_OVERRIDE_UNTIL', '%s', 422),
  /** GET /api/stats: the call records could not be read. */
  StatsUnavailable: createError('SB_STATS_UNAVAILABLE', 'call records are unreachable; try again', 503),
  /** Too many bad bearer tokens from one client address (with Retry-After). */
  AuthThrottled: createError(
    'SB_AUTH_THROTTLED',
    'too many failed logins from this address; retry later',
    429,
  ),
};
