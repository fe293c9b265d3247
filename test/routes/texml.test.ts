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
      expect((await postRaw(`${server.url}/texml/status`, cb, signed(cb))).status).toBe(204);
      expect((await calls.get('v3:sig'))?.status).toBe('completed');
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

    it('ignores callback statuses it does not track (dtmf) with 204', async () => {
      server = await startServer();
      const res = await postRaw(
        `${server.url}/texml/status`,
        form({ CallSid: 'v3:d', CallStatus: 'dtmf', Digit: '1' }),
      );
      expect(res.status).toBe(204);
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
      `${server.url}/texml/dial-result?attempt=1`,
      form({ CallSid: 'v3:boom', DialCallStatus: 'no-answer' }),
    );
    expect(res.status).toBe(200);
    expect(XMLValidator.validate(res.body)).toBe(true);
    expect(res.body).toContain('<Record');
  });
});
