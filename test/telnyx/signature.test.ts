import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TelnyxWebhook } from 'telnyx/lib/webhooks';
import { describe, expect, it } from 'vitest';
import { loadSodium } from '../../src/telnyx/ed25519.js';
import { SignatureVerifier } from '../../src/telnyx/signature.js';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const PUBLIC_KEY = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
const other = generateKeyPairSync('ed25519');

const now = Math.floor(Date.now() / 1000);
const body = 'CallSid=v3%3Aabc&CallStatus=ringing&From=%2B13125550100';
const signed = (ts: string, payload: string, key = privateKey) =>
  sign(null, Buffer.from(`${ts}|${payload}`), key).toString('base64');

function flipBit(base64: string, bit: number): string {
  const b = Buffer.from(base64, 'base64');
  b[bit >> 3] = (b[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return b.toString('base64');
}

/** Adds the group order L to the little-endian S half of a signature (RFC 8032 §5.1). */
function addOrderToS(base64: string): string {
  const b = Buffer.from(base64, 'base64');
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(b[i] ?? 0);
  s += L;
  for (let i = 32; i < 64; i++) {
    b[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return b.toString('base64');
}

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
  {
    name: 'signature of 65 bytes',
    payload: body,
    timestamp: String(now),
    signature: Buffer.concat([Buffer.from(signed(String(now), body), 'base64'), Buffer.alloc(1)]).toString(
      'base64',
    ),
    accept: false,
  },
  {
    name: 'signature one bit flipped',
    payload: body,
    timestamp: String(now),
    signature: flipBit(signed(String(now), body), 100),
    accept: false,
  },
  {
    name: 'signature all zeros',
    payload: body,
    timestamp: String(now),
    signature: Buffer.alloc(64).toString('base64'),
    accept: false,
  },
  {
    // Ed25519 malleability: S + L verifies in a lax implementation (RFC 8032 §5.1.7 requires S < L).
    name: 'non-canonical S (S + L)',
    payload: body,
    timestamp: String(now),
    signature: addOrderToS(signed(String(now), body)),
    accept: false,
  },
  {
    name: 'empty signature header',
    payload: body,
    timestamp: String(now),
    signature: '',
    accept: false,
  },
  {
    name: 'valid, non-ASCII body',
    payload: 'CallerName=Zo%C3%AB&From=%2B13125550100&note=é→✓',
    timestamp: String(now),
    signature: signed(String(now), 'CallerName=Zo%C3%AB&From=%2B13125550100&note=é→✓'),
    accept: true,
  },
];

const backends = ['libsodium', 'node:crypto'] as const;

describe('SignatureVerifier', () => {
  const sdk = new TelnyxWebhook(PUBLIC_KEY);
  const verifiers = backends.map((b) => new SignatureVerifier(PUBLIC_KEY, 300, Date.now, b));

  it.each(cases)('$name → accept=$accept, same as the SDK, in libsodium and node:crypto', async (c) => {
    const headers: Record<string, string> = {};
    if (c.signature !== undefined) headers['Telnyx-Signature-Ed25519'] = c.signature;
    if (c.timestamp !== undefined) headers['telnyx-timestamp'] = c.timestamp;
    const theirs = await sdk.verify(c.payload, headers).then(
      () => true,
      () => false,
    );
    expect(theirs).toBe(c.accept);
    for (const verifier of verifiers) {
      expect({ [verifier.backend]: verifier.check(c.payload, c.signature, c.timestamp) === null }).toEqual({
        [verifier.backend]: c.accept,
      });
    }
  });

  it('libsodium and node:crypto agree on 400 random tamperings of body, timestamp and signature', () => {
    const [sodium, openssl] = verifiers as [SignatureVerifier, SignatureVerifier];
    let accepted = 0;
    for (let i = 0; i < 400; i++) {
      const ts = String(now - (i % 7));
      const payload = `CallSid=v3%3A${randomBytes(6).toString('hex')}&SequenceNumber=${i}`;
      let sig = signed(ts, payload, i % 5 === 4 ? other.privateKey : privateKey);
      let p = payload;
      let t = ts;
      switch (i % 4) {
        case 0:
          break; // untouched (wrong key every 5th)
        case 1:
          sig = flipBit(sig, i % 512);
          break;
        case 2:
          p = `${payload.slice(0, i % payload.length)}X${payload.slice((i % payload.length) + 1)}`;
          break;
        case 3:
          t = String(Number(ts) - 1 - (i % 3));
          break;
      }
      const a = sodium.check(p, sig, t) === null;
      expect(openssl.check(p, sig, t) === null, `case ${i}`).toBe(a);
      if (a) accepted++;
    }
    // Untouched and signed by the right key, minus payloads the 'X' did not change: at least 80.
    expect(accepted).toBeGreaterThanOrEqual(80);
    expect(accepted).toBeLessThan(120);
  });

  it('uses libsodium by default where sodium-native loads (it ships prebuilt for this platform)', () => {
    expect(loadSodium()).not.toBeNull();
    expect(new SignatureVerifier(PUBLIC_KEY).backend).toBe('libsodium');
  });

  it('falls back to node:crypto, and still checks, when sodium-native cannot load', async () => {
    // A real process in which resolving 'sodium-native' fails, as on a platform without a prebuild.
    const script = [
      "const Module = require('node:module');",
      'const resolve = Module._resolveFilename;',
      "Module._resolveFilename = function (request, ...rest) { if (request === 'sodium-native') throw new Error('no prebuild here'); return resolve.call(this, request, ...rest); };",
    ].join('\n');
    const child = [
      "import { sign, generateKeyPairSync } from 'node:crypto';",
      "import { SignatureVerifier } from './src/telnyx/signature.ts';",
      "import { sodiumLoadError } from './src/telnyx/ed25519.ts';",
      "const { publicKey, privateKey } = generateKeyPairSync('ed25519');",
      "const key = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');",
      'const ts = String(Math.floor(Date.now() / 1000));',
      "const sig = sign(null, Buffer.from(`${ts}|a=1`), privateKey).toString('base64');",
      'const v = new SignatureVerifier(key);',
      "console.log(JSON.stringify({ backend: v.backend, good: v.check('a=1', sig, ts), bad: v.check('a=2', sig, ts), err: String(sodiumLoadError()) }));",
    ].join('\n');
    const dir = await mkdtemp(join(tmpdir(), 'sb-no-sodium-'));
    const preload = join(dir, 'no-sodium.cjs');
    await writeFile(preload, script);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--require', preload, '--import', 'tsx', '--input-type=module', '-e', child],
      { cwd: new URL('../..', import.meta.url).pathname },
    ).finally(() => rm(dir, { recursive: true, force: true }));
    expect(JSON.parse(stdout)).toEqual({
      backend: 'node:crypto',
      good: null,
      bad: 'signature does not match',
      err: expect.stringContaining('no prebuild here'),
    });
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new SignatureVerifier(Buffer.alloc(31).toString('base64'))).toThrow(/32-byte/);
  });
});
