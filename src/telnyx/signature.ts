import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/**
 * Checks Telnyx's Ed25519 webhook signature: `telnyx-signature-ed25519` over
 * `"<telnyx-timestamp>|<raw body>"`, timestamp within 300 s either way.
 * https://developers.telnyx.com/docs/development/api-fundamentals/webhooks
 *
 * Same rules as the SDK's `TelnyxWebhook.verify` (telnyx/lib/webhooks, 7.24), which imports the
 * key through WebCrypto on every call; here the key is parsed once into a KeyObject, the largest
 * per-request saving on the callback path (test/telnyx/signature.test.ts proves both accept and
 * reject the same requests).
 */
export class SignatureVerifier {
  private readonly key: KeyObject;

  /** @param publicKeyBase64 base64 of the raw 32-byte key (Mission Control → Keys & Credentials). */
  constructor(
    publicKeyBase64: string,
    private readonly toleranceSeconds = 300,
    private readonly now: () => number = Date.now,
  ) {
    const raw = decodeStrictBase64(publicKeyBase64);
    if (!raw || raw.length !== 32)
      throw new Error('TELNYX_PUBLIC_KEY must be the base64 of a 32-byte Ed25519 key');
    // A raw Ed25519 key becomes SPKI DER by prefixing the fixed 12-byte algorithm header.
    const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
    this.key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  }

  /** Returns null when the request is authentic, else the reason it is not. */
  check(rawBody: string, signature: string | undefined, timestamp: string | undefined): string | null {
    if (!signature) return 'missing telnyx-signature-ed25519 header';
    if (!timestamp) return 'missing telnyx-timestamp header';
    if (!/^\d+$/.test(timestamp) || !Number.isSafeInteger(Number(timestamp)))
      return 'invalid telnyx-timestamp';
    const skew = Math.abs(Math.floor(this.now() / 1000) - Number(timestamp));
    if (skew > this.toleranceSeconds) return 'telnyx-timestamp outside the 300 s window';
    const sig = decodeStrictBase64(signature);
    if (!sig || sig.length !== 64) return 'invalid signature encoding';
    const ok = verify(null, Buffer.from(`${timestamp}|${rawBody}`, 'utf8'), this.key, sig);
    return ok ? null : 'signature does not match';
  }
}

/** Padded base64 only, as the SDK accepts; null otherwise. */
function decodeStrictBase64(value: string): Buffer | null {
  if (value.length === 0 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return null;
  return Buffer.from(value, 'base64');
}
