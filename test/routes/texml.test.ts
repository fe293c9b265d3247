import { sign } from 'node:crypto';
import { XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKeys } from '../../src/simulator/telnyx-player.js';
import { postRaw, startServer, type TestServer } from '../helper.js';

const form = (p: Record<string, string>) => new URLSearchParams(p).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('/texml/* request checks', () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  describe('signatures (TELNYX_PUBLIC_KEY set)', () => {
    const keys = generateSigningKeys();
    const other = generateSigningKeys();
    const signed = (body: string, key = keys.privateKey, ts = Math.floor(Date.now() / 1000)) => ({
      ...FORM,
      'telnyx-timestamp': String(ts),
      'telnyx-signature-ed25519': sign(null, Buffer.from(`${ts}|${body}`), key).toString('base64'),
    });

    it('accepts a signed request and rejects unsigned, wrongly signed, stale and tampered ones with 403 and no state change', async () => {
      server = await startServer({ env: { TELNYX_PUBLIC_KEY: keys.publicKeyBase64 } });
      const body = form({ CallSid: 'v3:sig', From: '+13125550100', To: '+18005550199' });
      const calls = server.app.services.calls;

      for (const headers of [
        FORM,
        signed(body, other.privateKey),
        signed(body, keys.privateKey, Math.floor(Date.now() / 1000) - 301),
      ]) {
        const res = await postRaw(`${server.url}/texml/inbound`, body, headers);
        expect(res.status).toBe(403);
        expect(JSON.parse(res.body).code).toBe('SB_BAD_SIGNATURE');
      }
      const tampered = await postRaw(
        `${server.url}/texml/inbound`,
        body.replace('%2B1312', '%2B1999'),
        signed(body),
      );
      expect(tampered.status).toBe(403);
      expect(await calls.get('v3:sig')).toBeNull();

      const ok = await postRaw(`${server.url}/texml/inbound`, body, signed(body));
      expect(ok.status).toBe(200);
      expect(XMLValidator.validate(ok.body)).toBe(true);
      expect(await calls.get('v3:sig')).not.toBeNull();

      // status callbacks are checked the same way
      const cb = form({ CallSid: 'v3:sig', CallStatus: 'completed', SequenceNumber: '3' });
      expect((await postRaw(`${server.url}/texml/status`, cb, FORM)).status).toBe(403);
      expect((await calls.get('v3:sig'))?.status).not.toBe('completed');
      expect((await postRaw(`${server.url}/texml/status`, cb, signed(cb))).status).toBe(200);
      expect((await calls.get('v3:sig'))?.status).toBe('completed');
    });

    it('refuses GET while a public key is set: a query string is not covered by the signature', async () => {
      server = await startServer({ env: { TELNYX_PUBLIC_KEY: keys.publicKeyBase64 } });
      // One captured empty-body signature would otherwise pass with any parameters for 300 s.
      for (const path of ['/texml/inbound', '/texml/status', '/texml/dial-result']) {
        const query = form({ CallSid: 'v3:get', From: '+13125550100', CallStatus: 'completed' });
        const res = await fetch(`${server.url}${path}?${query}`, { headers: signed('') });
        expect(res.status, path).toBe(405);
        expect(res.headers.get('allow')).toBe('POST');
        expect(((await res.json()) as { message: string }).message).toMatch(
          /query string is not covered by the Telnyx signature/,
        );
      }
      expect(await server.app.services.calls.get('v3:get')).toBeNull();
    });

    it('TELNYX_UNSIGNED_INBOUND=allow accepts an unsigned /texml/inbound only, never a forged one, and counts it', async () => {
      server = await startServer({
        env: { TELNYX_PUBLIC_KEY: keys.publicKeyBase64, TELNYX_UNSIGNED_INBOUND: 'allow' },
      });
      const body = form({ CallSid: 'v3:uns', From: '+13125550100', To: '+18005550199' });
      const ok = await postRaw(`${server.url}/texml/inbound`, body, FORM);
      expect(ok.status).toBe(200);
      expect(XMLValidator.validate(ok.body)).toBe(true);
      // A present but invalid signature, or only one of the two headers, is still refused.
      for (const headers of [
        signed(body, other.privateKey),
        { ...FORM, 'telnyx-timestamp': String(Math.floor(Date.now() / 1000)) },
        { ...FORM, 'telnyx-signature-ed25519': 'AAAA' },
      ]) {
        const forged = await postRaw(`${server.url}/texml/inbound`, form({ CallSid: 'v3:forged' }), headers);
        expect(forged.status).toBe(403);
      }
      expect(await server.app.services.calls.get('v3:forged')).toBeNull();
      // Every other route still needs a signature.
      const cb = form({ CallSid: 'v3:uns', CallStatus: 'completed', SequenceNumber: '3' });
      expect((await postRaw(`${server.url}/texml/status`, cb, FORM)).status).toBe(403);
      const dial = form({ CallSid: 'v3:uns', DialCallStatus: 'no-answer' });
      expect((await postRaw(`${server.url}/texml/dial-result`, dial, FORM)).status).toBe(403);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^switchboard_texml_unsigned_inbound_total 1$/m);
    });

    it('without TELNYX_UNSIGNED_INBOUND an unsigned /texml/inbound is refused', async () => {
      server = await startServer({ env: { TELNYX_PUBLIC_KEY: keys.publicKeyBase64 } });
      const res = await postRaw(`${server.url}/texml/inbound`, form({ CallSid: 'v3:u2' }), FORM);
      expect(res.status).toBe(403);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^switchboard_texml_unsigned_inbound_total 0$/m);
    });

    it('the simulator signs with the matching private key', async () => {
      server = await startServer({
        env: { TELNYX_PUBLIC_KEY: keys.publicKeyBase64 },
        privateKey: keys.privateKey,
      });
      const res = await server.player.post(
        '/texml/inbound',
        server.player.base('v3:sim', '+13125550100', '+18005550199'),
      );
      expect(res.status).toBe(200);
    });
  });

  describe('bad input gets a clear 4xx and changes nothing', () => {
    it.each([
      ['wrong content type (JSON)', '{"CallSid":"v3:x"}', { 'content-type': 'application/json' }, 415],
      ['wrong content type (text)', 'CallSid=v3:x', { 'content-type': 'text/plain' }, 415],
      ['missing CallSid', form({ From: '+13125550100' }), FORM, 400],
      ['empty body', '', FORM, 400],
      ['CallSid with markup', form({ CallSid: '<x>' }), FORM, 400],
      ['CallSid far too long', form({ CallSid: 'v'.repeat(500) }), FORM, 400],
      ['malformed form body', '%%%&&&==', FORM, 400],
      ['oversized body', `CallSid=v3:big&Pad=${'x'.repeat(300_000)}`, FORM, 413],
    ])('%s → %i', async (_name, body, headers, status) => {
      server = await startServer();
      for (const path of [
        '/texml/inbound',
        '/texml/status',
        '/texml/dial-result',
        '/texml/recording',
        '/texml/voicemail',
      ]) {
        const res = await postRaw(`${server.url}${path}`, body, headers as Record<string, string>);
        expect(res.status, `${path}: ${res.body}`).toBe(status);
        expect(JSON.parse(res.body).message).toBeTruthy();
      }
      expect(await server.app.services.calls.get('v3:x')).toBeNull();
      expect(await server.app.services.calls.get('v3:big')).toBeNull();
      // the process is still up and serving calls
      const ok = await postRaw(
        `${server.url}/texml/inbound`,
        form({ CallSid: 'v3:after', From: '+1312' }),
        FORM,
      );
      expect(ok.status).toBe(200);
    });

    it('accepts GET with a query string (voice_method GET)', async () => {
      server = await startServer();
      const res = await fetch(
        `${server.url}/texml/inbound?${form({ CallSid: 'v3:get', From: '+13125550100' })}`,
      );
      expect(res.status).toBe(200);
      expect(XMLValidator.validate(await res.text())).toBe(true);
    });

    it('ignores callback statuses it does not track (dtmf) with 200', async () => {
      server = await startServer();
      const res = await postRaw(
        `${server.url}/texml/status`,
        form({ CallSid: 'v3:d', CallStatus: 'dtmf', Digit: '1' }),
      );
      // texml-calls.yml: "The server must return an HTTP 200, otherwise we will reattempt delivery".
      expect(res.status).toBe(200);
      expect(await server.app.services.calls.get('v3:d')).toBeNull();
    });
  });
});

describe('never drop a caller', () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  it('answers the fallback voicemail when the call flow itself fails', async () => {
    server = await startServer({ store: 'memory' });
    // Whatever the bug: the flow throws.
    server.app.services.flow.dialResult = async () => {
      throw new Error('boom');
    };
    const res = await postRaw(
      `${server.url}/texml/dial-result`,
      form({ CallSid: 'v3:boom', DialCallStatus: 'no-answer' }),
    );
    expect(res.status).toBe(200);
    expect(XMLValidator.validate(res.body)).toBe(true);
    expect(res.body).toContain('<Record');
  });
});

describe('state comes from the store under the CallSid, not from our URLs', () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  it('?outbound=true on /texml/dial-result does not hang up an inbound caller', async () => {
    server = await startServer({ env: { DIAL_ATTEMPTS: '3' } });
    const body = form({ CallSid: 'v3:q1', From: '+13125550100', To: '+18005550199' });
    expect((await postRaw(`${server.url}/texml/inbound`, body)).status).toBe(200);
    const res = await postRaw(
      `${server.url}/texml/dial-result?outbound=true`,
      form({ CallSid: 'v3:q1', DialCallStatus: 'no-answer' }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toContain('<Dial'); // round 2, not <Hangup/>
    expect((await server.app.services.calls.get('v3:q1'))?.attempts).toBe(2);
  });

  it('?attempt= cannot skip the rounds left or restart them', async () => {
    server = await startServer({ env: { DIAL_ATTEMPTS: '3' } });
    const body = form({ CallSid: 'v3:q2', From: '+13125550100', To: '+18005550199' });
    await postRaw(`${server.url}/texml/inbound`, body);
    const skip = await postRaw(
      `${server.url}/texml/dial-result?attempt=3`,
      form({ CallSid: 'v3:q2', DialCallStatus: 'no-answer' }),
    );
    expect(skip.body).toContain('<Dial'); // round 2 of 3, not voicemail
    await postRaw(`${server.url}/texml/dial-result`, form({ CallSid: 'v3:q2', DialCallStatus: 'no-answer' }));
    const restart = await postRaw(
      `${server.url}/texml/dial-result?attempt=1`,
      form({ CallSid: 'v3:q2', DialCallStatus: 'no-answer' }),
    );
    expect(restart.body).toContain('<Record'); // the last round ended: voicemail, not round 2 again
    expect((await server.app.services.calls.get('v3:q2'))?.attempts).toBe(3);
  });

  it('a click-to-call dial result ends the call without any query parameter', async () => {
    server = await startServer();
    const flow = server.app.services.flow;
    await flow.outboundCreated({
      kind: 'outbound-created',
      sid: 'v3:q3',
      from: '+18005550199',
      agent: { id: 'a', name: 'Alice', sip: 'sip:alice@sip.telnyx.com' },
      customer: '+13125550123',
      at: Date.now(),
    });
    const res = await postRaw(
      `${server.url}/texml/dial-result`,
      form({ CallSid: 'v3:q3', DialCallStatus: 'no-answer' }),
    );
    expect(res.body).toContain('<Hangup');
    expect(res.body).not.toContain('<Dial');
  });
});
