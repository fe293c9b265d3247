import { APIConnectionTimeoutError, AuthenticationError, InternalServerError } from 'telnyx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient, describeTelnyxError } from '../../src/telnyx/client.js';

describe('createTelnyxClient against the fake Telnyx API', () => {
  let api: FakeTelnyxApi;
  beforeEach(async () => {
    api = await FakeTelnyxApi.start();
  });
  afterEach(async () => {
    await api.close();
  });

  it('sends the API key as a bearer token to TELNYX_API_BASE_URL (which includes /v2)', async () => {
    const client = createTelnyxClient({ apiKey: api.apiKey, baseUrl: api.baseUrl });
    const reply = await client.balance.retrieve();
    expect(reply.data?.available_credit).toBe('400.00');
    const [req] = api.requestsTo('/v2/balance');
    expect(req?.headers.authorization).toBe(`Bearer ${api.apiKey}`);
  });

  it('turns a rejected key into AuthenticationError with a short description', async () => {
    const client = createTelnyxClient({ apiKey: 'wrong', baseUrl: api.baseUrl });
    const err = await client.balance.retrieve().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(describeTelnyxError(err)).toBe(
      'Telnyx API 401 Authentication failed: Could not understand the provided credentials.',
    );
    expect(describeTelnyxError(err)).not.toContain('wrong');
  });

  it('retries a 429 after the retry-after the API asked for', async () => {
    api.failNext({ path: '/v2/balance' }, 1, { kind: 'rate-limit', retryAfterSeconds: 1 });
    const client = createTelnyxClient({ apiKey: api.apiKey, baseUrl: api.baseUrl, maxRetries: 2 });
    const started = Date.now();
    const reply = await client.balance.retrieve();
    expect(reply.data?.currency).toBe('USD');
    const reqs = api.requestsTo('/v2/balance');
    expect(reqs.map((r) => r.status)).toEqual([429, 200]);
    expect(reqs[1]?.headers['x-stainless-retry-count']).toBe('1');
    // Waited for retry-after (1 s), not the SDK's 0.5 s default backoff.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('gives up after maxRetries on 5xx', async () => {
    api.failNext({ path: '/v2/balance' }, 5, { kind: 'server-error' });
    const client = createTelnyxClient({ apiKey: api.apiKey, baseUrl: api.baseUrl, maxRetries: 1 });
    const err = await client.balance.retrieve().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect(api.requestsTo('/v2/balance')).toHaveLength(2);
    expect(describeTelnyxError(err)).toBe('Telnyx API 500 Unexpected error: An unexpected error occured.');
  });

  it('times out a request the API never answers', async () => {
    api.failNext({ path: '/v2/balance' }, 1, { kind: 'hang' });
    const client = createTelnyxClient({
      apiKey: api.apiKey,
      baseUrl: api.baseUrl,
      timeoutMs: 200,
      maxRetries: 0,
    });
    const err = await client.balance.retrieve().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    expect(describeTelnyxError(err)).toBe('Telnyx API timed out');
  });
});
