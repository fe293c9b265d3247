import {
  type Ed25519Backend,
  type Ed25519Verify,
  libsodiumVerify,
  loadSodium,
  nodeCryptoVerify,
} from './ed25519.js';

/**
 * Checks Telnyx's Ed25519 webhook signature: `telnyx-signature-ed25519` over
 * `"<telnyx-timestamp>|<raw body>"`, timestamp within 300 s either way.
 * https://developers.telnyx.com/docs/development/api-fundamentals/webhooks
 *
 * Same rules as the SDK's `TelnyxWebhook.verify` (telnyx/lib/webhooks, 7.24), which imports the
 * key through WebCrypto on every call; here the key is bound once, and the check itself runs in
 * libsodium when the `sodium-native` addon loads (about half node:crypto's CPU per verify), else in
 * node:crypto (src/telnyx/ed25519.ts). test/telnyx/signature.test.ts proves that the SDK and both
 * backends accept and reject the same requests.
 */
export class SignatureVerifier {
  private readonly verify: Ed25519Verify;
  /** Which implementation checks signatures: `libsodium` unless the addon could not load. */
  readonly backend: Ed25519Backend;

  /**
   * @param publicKeyBase64 base64 of the raw 32-byte key (Mission Control → Keys & Credentials).
   * @param backend `auto` (default): libsodium when `sodium-native` loads, else node:crypto.
   */
  constructor(
    publicKeyBase64: string,
    private readonly toleranceSeconds = 300,
    private readonly now: () => number = Date.now,
    backend: Ed25519Backend | 'auto' = 'auto',
  ) {
    const raw = decodeStrictBase64(publicKeyBase64);
    if (!raw || raw.length !== 32)
      throw new Error('TELNYX_PUBLIC_KEY must be the base64 of a 32-byte Ed25519 key');
    this.backend = backend === 'auto' ? (loadSodium() ? 'libsodium' : 'node:crypto') : backend;
    this.verify = this.backend === 'libsodium' ? libsodiumVerify(raw) : nodeCryptoVerify(raw);
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
    return this.verify(Buffer.from(`${timestamp}|${rawBody}`, 'utf8'), sig)
      ? null
      : 'signature does not match';
  }
}

/** Padded base64 only, as the SDK accepts; null otherwise. */
function decodeStrictBase64(value: string): Buffer | null {
  if (value.length === 0 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return null;
  return Buffer.from(value, 'base64');
}
