import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { LiveCalls } from '../../src/simulator/live-calls.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';

/** Pins the fake to docs/telnyx.md, so tests built on it test against Telnyx's rules. */
describe('FakeTelnyxApi follows the documented Telnyx API', () => {
  let api: FakeTelnyxApi;
  const get = (path: string, key = api.apiKey) =>
    fetch(`${api.baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const post = (path: string, body?: unknown) =>
    fetch(`${api.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  beforeEach(async () => {
    api = await FakeTelnyxApi.start();
  });
  afterEach(async () => {
    await api.close();
  });

  it('answers 401 with a Telnyx error document without a valid key', async () => {
    const res = await fetch(`${api.baseUrl}/balance`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { errors: Array<{ code: string; title: string }> };
    expect(body.errors[0]).toMatchObject({ code: '10009', title: 'Authentication failed' });
    expect((await get('/balance', 'nope')).status).toBe(401);
  });

  it('pages credential connections with consistent meta and rejects page sizes over 250', async () => {
    api.setConnections(
      Array.from({ length: 7 }, (_, i) => ({ connection_name: `agent ${i}`, user_name: `agent${i}x` })),
    );
    const res = await get('/credential_connections?page[number]=3&page[size]=3');
    const body = (await res.json()) as { data: unknown[]; meta: Record<string, number> };
    expect(body.data).toHaveLength(1);
    expect(body.meta).toEqual({ page_number: 3, page_size: 3, total_pages: 3, total_results: 7 });
    expect((await get('/credential_connections?page[size]=251')).status).toBe(400);
    expect((await get('/credential_connections?page[size]=0')).status).toBe(400);
  });

  it('filters by name case-insensitively and needs at least three characters', async () => {
    api.setConnections([
      { connection_name: 'Support AGENT Ann', user_name: 'ann1234' },
      { connection_name: 'trunk', user_name: 'trunk1234' },
    ]);
    const res = await get('/credential_connections?filter[connection_name][contains]=agent');
    const body = (await res.json()) as { data: Array<{ connection_name: string }> };
    expect(body.data.map((c) => c.connection_name)).toEqual(['Support AGENT Ann']);
    const short = await get('/credential_connections?filter[connection_name][contains]=ag');
    expect(short.status).toBe(400);
  });

  it('answers 404 for the registration status of an unknown connection', async () => {
    const res = await post('/credential_connections/404404/actions/check_registration_status');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: unknown[] }).errors).toHaveLength(1);
  });

  it('creates TeXML calls through the SDK (params wrapped in body) and lists missing fields with 422', async () => {
    const missing = await post('/texml/Accounts/AC1/Calls', {});
    expect(missing.status).toBe(422);
    const errors = ((await missing.json()) as { errors: Array<{ detail: string }> }).errors.map(
      (e) => e.detail,
    );
    expect(errors).toEqual(['To is required', 'From is required', 'ApplicationSid is required']);

    const client = createTelnyxClient({ apiKey: api.apiKey, baseUrl: api.baseUrl, maxRetries: 0 });
    const call = await client.texml.accounts.calls.calls('AC1', {
      body: {
        To: 'sip:ann1234@sip.telnyx.com',
        From: '+13125550100',
        ApplicationSid: 'app1',
        Url: 'https://x/y',
      },
    });
    expect(call).toMatchObject({ status: 'queued', to: 'sip:ann1234@sip.telnyx.com' });
    expect(api.texmlCalls[0]).toMatchObject({ kind: 'account', accountSid: 'AC1' });
    expect(api.texmlCalls[0]?.body.ApplicationSid).toBe('app1');

    const flat = await client.texml.calls.create('conn1', { From: '+13125550100', To: '+13125550111' });
    expect(flat).toMatchObject({ status: 'queued', from: '+13125550100', to: '+13125550111' });
    expect(api.texmlCalls[1]).toMatchObject({ kind: 'connection', connectionId: 'conn1' });
  });

  it('updates a call in progress as UpdateTexmlCall specifies: SDK form body, 401, 404, 422', async () => {
    const calls = new LiveCalls();
    api.liveCalls = calls;
    calls.register({
      accountSid: 'AC1',
      callSid: 'v3:live',
      from: '+13125550100',
      to: '+18005550199',
      direction: 'inbound',
      startedAt: Date.now(),
    });
    const client = createTelnyxClient({ apiKey: api.apiKey, baseUrl: api.baseUrl, maxRetries: 0 });
    const call = await client.texml.accounts.calls.update('v3:live', {
      account_sid: 'AC1',
      Url: 'https://sb.example.com/texml/queue/result',
      Method: 'POST',
    });
    expect(call).toMatchObject({ sid: 'v3:live', account_sid: 'AC1', status: 'in-progress' });
    expect(calls.updates).toHaveLength(1);

    const form = (path: string, body: Record<string, string>, key = api.apiKey) =>
      fetch(`${api.baseUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
    const url = { Url: 'https://sb.example.com/x' };
    expect((await form('/texml/Accounts/AC1/Calls/v3:live', url, 'nope')).status).toBe(401);
    expect((await form('/texml/Accounts/AC1/Calls/v3:unknown', url)).status).toBe(404);
    expect((await form('/texml/Accounts/AC2/Calls/v3:live', url)).status).toBe(404); // another account's
    const bad = await form('/texml/Accounts/AC1/Calls/v3:live', { Status: 'paused', url: 'x' });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { errors: unknown[] }).errors).toEqual([
      expect.objectContaining({ code: '10015', source: { pointer: '/url' } }), // keys are CamelCase
      expect.objectContaining({ code: '10032', detail: 'Status must be one of completed' }),
    ]);
    expect((await post('/texml/Accounts/AC1/Calls/v3:live', url)).status).toBe(422); // JSON: not the spec's
    calls.end('v3:live', Date.now());
    expect((await form('/texml/Accounts/AC1/Calls/v3:live', url)).status).toBe(422); // over
    expect(calls.updates).toHaveLength(1);
  });
});
