import { generateKeyPairSync, sign } from 'node:crypto';
import { TelnyxWebhook } from 'telnyx/lib/webhooks';
import { describe, expect, it } from 'vitest';
import { SignatureVerifier } from '../../src/telnyx/signature.js';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const PUBLIC_KEY = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
const other = generateKeyPairSync('ed25519');

const now = Math.floor(Date.now() / 1000);
const body = 'CallSid=v3%3Aabc&CallStatus=ringing&From=%2B13125550100';
const signed = (ts: string, payload: string, key = privateKey) =>
  sign(null, Buffer.from(`${ts}|${payload}`), key).toString('base64');

interface Case {
  name: string;
  payload: string;
  signature?: string;
  timestamp?: string;
  accept: boolean;
}

const cases: Case[] = [
  {
    name: 'valid',
    payload: body,
    timestamp: String(now),
    signature: signed(String(now), body),
    accept: true,
  },
  {
    name: 'valid, empty body (GET)',
    payload: '',
    timestamp: String(now),
    signature: signed(String(now), ''),
    accept: true,
  },
  {
    name: 'valid at 299 s old',
    payload: body,
    timestamp: String(now - 299),
    signature: signed(String(now - 299), body),
    accept: true,
  },
  {
    name: 'tampered body',
    payload: `${body}&x=1`,
    timestamp: String(now),
    signature: signed(String(now), body),
    accept: false,
  },
  {
    name: 'other key',
    payload: body,
    timestamp: String(now),
    signature: signed(String(now), body, other.privateKey),
    accept: false,
  },
  {
    name: 'stale (400 s)',
    payload: body,
    timestamp: String(now - 400),
    signature: signed(String(now - 400), body),
    accept: false,
  },
  {
    name: 'future (400 s)',
    payload: body,
    timestamp: String(now + 400),
    signature: signed(String(now + 400), body),
    accept: false,
  },
  {
    name: 'timestamp swapped',
    payload: body,
    timestamp: String(now - 1),
    signature: signed(String(now), body),
    accept: false,
  },
  { name: 'missing signature', payload: body, timestamp: String(now), accept: false },
  { name: 'missing timestamp', payload: body, signature: signed(String(now), body), accept: false },
  {
    name: 'non-numeric timestamp',
    payload: body,
    timestamp: '12a',
    signature: signed('12a', body),
    accept: false,
  },
  {
    name: 'garbage signature',
    payload: body,
    timestamp: String(now),
    signature: 'not base64!',
    accept: false,
  },
  {
    name: 'short signature',
    payload: body,
    timestamp: String(now),
    signature: Buffer.alloc(32).toString('base64'),
    accept: false,
  },
  {
    name: 'unpadded base64 signature',
    payload: body,
    timestamp: String(now),
    signature: signed(String(now), body).replace(/=+$/, ''),
    accept: false,
  },
];

describe('SignatureVerifier', () => {
  const verifier = new SignatureVerifier(PUBLIC_KEY);
  const sdk = new TelnyxWebhook(PUBLIC_KEY);

  it.each(cases)('$name → accept=$accept, same as the SDK', async (c) => {
    const ours = verifier.check(c.payload, c.signature, c.timestamp) === null;
    const headers: Record<string, string> = {};
    if (c.signature !== undefined) headers['Telnyx-Signature-Ed25519'] = c.signature;
    if (c.timestamp !== undefined) headers['telnyx-timestamp'] = c.timestamp;
    const theirs = await sdk.verify(c.payload, headers).then(
      () => true,
      () => false,
    );
    expect(ours).toBe(c.accept);
    expect(theirs).toBe(c.accept);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new SignatureVerifier(Buffer.alloc(31).toString('base64'))).toThrow(/32-byte/);
  });
});
