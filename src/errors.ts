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
};
